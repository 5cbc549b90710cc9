"""Turn-taking policy: has the caller's turn ended, and is their speech over the agent's an interruption?

Two small strategy families, chosen per agent by name (`AgentSettings.end_of_turn`, `AgentSettings.interruption`)
from the registries below. A new strategy is a new class and a `register_*` call; the session needs no edit.

- `EndOfTurnStrategy` hears every 20 ms caller frame (`feed`, on the hot path), the STT's hints (`on_hint`) and its
  interim transcripts (`on_partial`), and says where the caller is, as the outcomes of `calls.pipeline.turns`:
  QUIET, SPEECH_START, SPEAKING, PAUSE, END_OF_TURN. A verdict reached off the frame path (a model that answers a
  few ms later) goes through the `end_turn` callback the session binds.
- `InterruptionStrategy` is asked, on each frame of caller speech while the agent is talking, whether to cut the
  agent off: INTERRUPT, NOT_AN_INTERRUPTION, KEEP_LISTENING (undecided yet), or HOLD (undecided, so pause the agent
  now and decide on the words: the session resumes the agent on NOT_AN_INTERRUPTION). A verdict reached elsewhere
  goes through the bound `interrupt` callback. `WordsInterruption` decides on what the STT hears.

The mechanism (the VAD, the speech tracker and its pre-roll) is `calls.pipeline.turns.TurnDetector`; what is here
is policy on top of it.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable

from ..pipeline.turns import FRAME_MS, TurnDetector
from ..pipeline.vad import SileroSpeech, preload_silero
from ..pipeline.voice_gate import GATE_DB
from ..providers.base import SpeechHint
from .lexicon import Heard, Lexicon
from .settings import AgentSettings

log = logging.getLogger("calls.session")

# Interruption verdicts (ints, like the frame outcomes: compared on the hot path, never allocated).
KEEP_LISTENING = 0  # undecided: ask again on the next frame
INTERRUPT = 1  # stop the agent now
NOT_AN_INTERRUPTION = 2  # the agent keeps talking (a cough, a backchannel, barge-in switched off); resumes if held
HOLD = 3  # undecided, but pause the agent now (it goes quiet within the barge-in budget) while the words come


def _unbound() -> None:
    """Stands in for a session callback until `bind` is called (a strategy used on its own, in a test)."""


def _unknown_confidence(text: str) -> float | None:
    return None


# ---------------------------------------------------------------------------------------------- end of turn


class EndOfTurnStrategy(ABC):
    """Says when the caller's turn has ended.

    Besides `feed`, the session reads these about the caller's utterance (a `TurnDetector` provides them all):
    `frame_bytes` (the frame size `feed` takes), `speaking`, `voiced_ms` (voiced ms of the utterance under way,
    0 between utterances), `utterance_voiced_ms` (of the utterance that just ended: the session drops shorter
    than `min_speech_ms` as noise), `silence_ms` (since the last voiced frame), `last_voiced_at` (monotonic time
    of it: turn latency is measured from there), `room_talks` (the room behind the caller sounds like talk),
    `line_quiet` (the line's noise is far below the caller's voice: the words of a pause can be trusted),
    `pop_preroll()` (the frames just before SPEECH_START) and `learn_line_from(other)` (a strategy built mid-call
    takes over what the one it replaces knows of the line's noise).
    """

    _end_turn: Callable[[], None] = staticmethod(_unbound)
    #: A strategy that ends turns sooner than a comma's pause lasts (smart-turn) holds the answer to a short
    #: transcript ("Yes.", `completeness.short_answer`) until the caller has been silent this long: a caller who
    #: goes on ("Yes, that's right") is one turn. 0: answered at once.
    short_answer_settle_ms: int = 0

    def bind(self, end_turn: Callable[[], None]) -> None:
        """How to end the turn from outside `feed`/`on_hint`/`on_partial`, e.g. once a model's verdict arrives.
        Close the utterance first (as `TurnDetector.end_utterance`), then call it."""
        self._end_turn = end_turn

    def words_read_finished(self) -> None:
        """The transcript of the caller's pause so far reads as a finished sentence (`completeness`): a strategy
        that waits longer on the sound of the voice alone may stop waiting. Default: nothing changes."""

    @abstractmethod
    def feed(self, frame: bytes) -> int:
        """One frame of caller audio (hot path: synchronous, allocation-free); returns a `turns` outcome."""

    def on_hint(self, hint: SpeechHint) -> bool:
        """The STT provider's signal about the speech. True: the turn ended now (the utterance is closed)."""
        return False

    def caller_over_agent(self, overlapped: bool) -> None:
        """The utterance that just began is said over the agent's speech (True) or not. There the interruption
        strategy decides, on the words heard at the caller's pauses: a strategy may end such a turn differently."""

    def on_partial(self, text: str) -> bool:
        """An interim transcript. True: the turn ended now (the utterance is closed)."""
        return False


class SilenceEndOfTurn(TurnDetector, EndOfTurnStrategy):
    """The turn ends after `end_silence_ms` of silence by our own VAD; the STT's hints are ignored.

    A `TurnDetector` itself, so `feed` on the hot path is the detector's own method: no call in between."""

    #: A comma's pause after "Yes," is about as long as the default 300 ms of silence (Piper's voice: ~300 ms):
    #: a short answer waits until 500 ms after the caller's last voiced frame, so "Yes, that's right" stays one
    #: turn. With Whisper the transcript itself takes most of that wait.
    short_answer_settle_ms = 500


class SilenceOrProviderEndOfTurn(SilenceEndOfTurn):
    """The default: our VAD's silence, or sooner when the STT provider's endpointing says the turn is over (e.g.
    Deepgram's speech_final)."""

    def on_hint(self, hint: SpeechHint) -> bool:
        if hint.kind == "end_of_turn" and self.tracker.speaking:
            self.end_utterance()
            return True
        return False


class ProviderEndOfTurn(SilenceOrProviderEndOfTurn):
    """The STT provider's endpointing decides (Deepgram's speech_final / UtteranceEnd, tuned in its options); our
    VAD's silence only as a backstop, after the agent's maximum silence (`end_of_turn_max_silence_ms`): a
    provider that sends no hints (local Whisper) then ends turns on that long silence alone."""


def noise_gate_db(settings: AgentSettings, strategy: str) -> float:
    """The agent's noise gate for end-of-turn `strategy` (its `noise_gate_db` option, `voice_gate`): 14 dB by
    default, 0 turns it off; a value that is not a number is ignored (a call must not fail on it)."""
    return _number(settings.turn_taking_options.get(strategy) or {}, "noise_gate_db", GATE_DB, 0.0, 60.0)


def _silence(cls: type[SilenceEndOfTurn], name: str,
             backstop: bool = False) -> Callable[[AgentSettings, int], EndOfTurnStrategy]:
    def build(settings: AgentSettings, sample_rate: int) -> EndOfTurnStrategy:
        silence = settings.end_of_turn_max_silence_ms if backstop else settings.end_of_turn_silence_ms
        return cls(sample_rate, end_silence_ms=silence, speculate_ms=settings.speculate_ms,
                   noise_gate_db=noise_gate_db(settings, name))

    return build


#: name -> build(settings, sample_rate). "smart-turn" registers itself from `calls.session.smart_turn`.
END_OF_TURN_STRATEGIES: dict[str, Callable[[AgentSettings, int], EndOfTurnStrategy]] = {
    "silence": _silence(SilenceEndOfTurn, "silence"),
    "silence+provider": _silence(SilenceOrProviderEndOfTurn, "silence+provider"),
    "provider": _silence(ProviderEndOfTurn, "provider", backstop=True),
}
DEFAULT_END_OF_TURN = "silence+provider"
#: What a new agent gets (the Agent model's default, and `factory.agent_settings` for an agent that names none): the
#: silence rule with the provider's endpointing. Smart-turn (`calls.session.smart_turn`) is chosen per agent: with
#: neural callers it waited longer on the accented voice (docs/benchmarks.md, "Turn-taking with human-like callers").
AGENT_DEFAULT_END_OF_TURN = "silence+provider"


def register_end_of_turn(name: str, build: Callable[[AgentSettings, int], EndOfTurnStrategy]) -> None:
    END_OF_TURN_STRATEGIES[name] = build


def end_of_turn_for(settings: AgentSettings, sample_rate: int) -> EndOfTurnStrategy:
    """The agent's end-of-turn strategy; an unknown name falls back to the default (a call must not fail on it)."""
    build = END_OF_TURN_STRATEGIES.get(settings.end_of_turn)
    if build is None:
        log.warning("unknown end-of-turn strategy %r: using %r", settings.end_of_turn, DEFAULT_END_OF_TURN)
        build = END_OF_TURN_STRATEGIES[DEFAULT_END_OF_TURN]
    return build(settings, sample_rate)


# ---------------------------------------------------------------------------------------------- interruption


class InterruptionStrategy(ABC):
    """Says whether the caller's speech while the agent talks is a real interruption.

    The session acts on INTERRUPT, HOLD and NOT_AN_INTERRUPTION only while the agent's speech may be interrupted
    (an uninterruptible sentence plays on whatever the strategy says; what the caller said then is still judged
    by `on_transcript` at the end of their utterance: a turn, answered right after, or a backchannel).

    HOLD is for strategies that decide on words: the session pauses the agent at once (it goes quiet as a
    barge-in would) and resumes it, from where the caller stopped hearing it, on NOT_AN_INTERRUPTION. A held
    agent is never left waiting: `decide_ms` after the caller went quiet (`voiced_at`) without a verdict the
    session asks `on_timeout`, and after `max_hold_ms` in all `on_hold_limit`."""

    _interrupt: Callable[[], None] = staticmethod(_unbound)
    _confidence: Callable[[str], float | None] = staticmethod(_unknown_confidence)
    decide_ms: int = 700
    max_hold_ms: int = 4000
    #: Why the last NOT_AN_INTERRUPTION from `on_transcript`/`on_timeout` was reached ("backchannel",
    #: "too_few_words", "no_words", "no_words_in_time"): it goes into the session's `backchannel` CallEvent.
    reason: str = ""
    #: What caller speech over the agent likely is, for the STT (`STTStream.expect`): None, no expectation.
    expected: str | None = None
    #: It needs the words of the caller's speech over the agent (`on_transcript`) to decide: a session whose words
    #: come only after the caller's turn (a speech-to-speech model's transcription) holds the agent until then.
    decides_on_words: bool = False

    def bind(self, interrupt: Callable[[], None],
             confidence: Callable[[str], float | None] | None = None) -> None:
        """How to interrupt from outside `on_speech`/`on_partial` (a verdict that arrives later), and how sure the
        STT was of a text it just gave (`STTStream.confidence`)."""
        self._interrupt = interrupt
        if confidence is not None:
            self._confidence = confidence

    def caller_started(self) -> None:
        """The caller began an utterance (the agent may or may not be talking): start deciding afresh."""

    def hear(self, frame: bytes) -> None:
        """A 20 ms frame of the caller's audio over the agent (before `on_speech`), for a strategy that listens
        to the sound itself (hot path while the caller talks over the agent)."""

    def voiced_at(self, vad_voiced_at: float) -> float:
        """When (monotonic) the caller last spoke as this strategy hears it; by default as the VAD does."""
        return vad_voiced_at

    @abstractmethod
    def on_speech(self, voiced_ms: int) -> int:
        """A frame of the caller's utterance, `voiced_ms` into it, while the agent talks (hot path: no allocation).
        Returns INTERRUPT, NOT_AN_INTERRUPTION, KEEP_LISTENING or HOLD."""

    def on_partial(self, text: str) -> int:
        """An interim transcript of the caller's speech (they may still be talking): INTERRUPT or KEEP_LISTENING."""
        return KEEP_LISTENING

    def on_transcript(self, text: str, final: bool = False) -> int:
        """A transcript of the caller's utterance over the agent, taken once they paused ("" = no words). Only
        here may a strategy say, from the words, that it was NOT_AN_INTERRUPTION (with `reason`): the session
        resumes a held agent and, for the `final` transcript (the utterance has ended; the strategy may already
        be hearing the next one, so keep no state), records a `backchannel` event instead of a turn.
        KEEP_LISTENING, the default: no opinion, the utterance is a turn like any other."""
        return KEEP_LISTENING

    def on_timeout(self) -> int:
        """The agent is held and no verdict came `decide_ms` after the caller went quiet: NOT_AN_INTERRUPTION (the
        default: resume it), INTERRUPT, or HOLD (keep it held for the words, up to `max_hold_ms`; asked once; a
        speech-to-speech session, whose words only come after the turn, resumes on HOLD too)."""
        self.reason = "no_words_in_time"
        return NOT_AN_INTERRUPTION

    def on_hold_limit(self) -> int:
        """The agent has been held `max_hold_ms` and the caller still sounds as if talking: INTERRUPT (the
        default: they keep talking over it) or NOT_AN_INTERRUPTION (resume it)."""
        return INTERRUPT


class VoicedTimeInterruption(InterruptionStrategy):
    """`min_ms` of voiced caller audio over the agent's speech interrupts it (a backchannel or a cough too)."""

    def __init__(self, min_ms: int) -> None:
        self.min_ms = min_ms

    def on_speech(self, voiced_ms: int) -> int:
        return INTERRUPT if voiced_ms >= self.min_ms else KEEP_LISTENING


class NoInterruption(InterruptionStrategy):
    """Barge-in switched off: the agent always finishes what it says."""

    def on_speech(self, voiced_ms: int) -> int:
        return NOT_AN_INTERRUPTION


class WordsInterruption(InterruptionStrategy):
    """Interrupts on what the caller says, not on voice alone (backchannels and coughs do not cut the agent off).

    - `hold_ms` of voiced caller audio over the agent: HOLD. The agent goes quiet at once (sooner than the
      voiced-time rule would cut it) and the words decide;
    - a stop phrase ("wait", "no", "hold on", "sorry"...) or `min_words` content words (words that are neither
      backchannel nor hesitation) in a partial or a transcript: INTERRUPT;
    - once the caller paused, a transcript of backchannels only ("uh-huh", "okay", "I see"), of fewer than
      `min_words` content words, or of no words at all (a cough): NOT_AN_INTERRUPTION — the agent resumes and
      the utterance is a `backchannel` event, not a turn;
    - `fallback_ms` of voiced speech with no words from the STT since the hold (an STT that gives none in
      time): INTERRUPT, as the voiced-time rule would;
    - held, the caller quiet and no transcript within `decide_ms`: NOT_AN_INTERRUPTION (`on_timeout`); the final
      transcript at the end of the utterance may still interrupt. Unless the caller spoke `fallback_ms` or more
      (backchannels measure 0.1-1.0 s of Silero speech, "I would like to book an appointment" 1.6 s): then the
      words are late, not absent (Whisper busy with other calls), and resuming would talk over a real
      interruption; the agent stays held until they come, and at the hold limit is cut (INTERRUPT);
    - words that read as a backchannel after `max_backchannel_ms` of voiced speech: INTERRUPT. Backchannels are
      short; the STT is primed with them over the agent, and that prompt can make tiny.en write a long real
      interruption ("Sorry, actually I meant Tuesday.") as "All right.": the duration outvotes it;
    - with `min_logprob` (-0.4 by default; None: off), content words the STT was unsure of (`STTStream.confidence` below
      it) and no stop phrase count as none. tiny.en makes words up from a hum ("And then make it", "I made it") at a
      mean log-probability of -0.3 to -1.3, but it writes a robot voice's real interruption ("Welcome out Sunday"
      for "What about Sunday?") at -0.36 to -1.7 too: on the turn-taking set, -0.4 kept 2 backchannels from
      cutting the agent off and missed 3 real interruptions (their words then no turn), while off, 12 of 81
      backchannels cut the agent off (hums heard as words in the peeks) and none was missed: on by default;
    - held `max_hold_ms` with no words that count: NOT_AN_INTERRUPTION (`on_hold_limit`, "no_words_at_hold_limit"):
      a real interruption has words, and the VAD that keeps "hearing" the caller is hearing the room;
    - with `silero` (the default), a Silero VAD listens to the caller's audio over the agent: the caller is quiet
      (`voiced_at`) when Silero hears no speech, even while webrtcvad takes the babble behind them for their voice
      (the hold then times out within `decide_ms`, not the 4 s limit), and once released the agent is held again
      only when Silero hears speech (the room's babble does not pause it over and over).

    The words come from the STT: Deepgram's interim results (`on_partial`), and the transcript the session takes
    at the caller's first pause (`on_transcript`; for Whisper a quick transcription of just the overlap, which the
    end-of-turn transcript then reuses) or peeks at while they talk.
    """

    decides_on_words = True

    def __init__(self, lexicon: Lexicon | None = None, *, min_words: int = 2, hold_ms: int = 100,
                 fallback_ms: int = 1200, decide_ms: int = 700, max_hold_ms: int = 4000,
                 max_backchannel_ms: int = 1500, silero: bool = True, speech_threshold: float = 0.5,
                 min_logprob: float | None = -0.4) -> None:
        self.lexicon = lexicon or Lexicon.for_language("en")
        self.min_words = min_words
        self.hold_ms = hold_ms
        self.fallback_ms = fallback_ms
        self.decide_ms = decide_ms
        self.max_hold_ms = max_hold_ms
        self.max_backchannel_ms = max_backchannel_ms
        self.expected = self.lexicon.prompt or None
        self.heard: Heard | None = None  # the latest words of the utterance under way
        self.speech_threshold = speech_threshold
        self.min_logprob = min_logprob
        # Loaded once per process, at the call's start: never on the first frame of a barge-in.
        self.silero = silero and preload_silero()
        if silero and not self.silero:
            log.warning("Silero VAD cannot be loaded: the VAD alone says when the caller talks over the agent")
        self._speech: SileroSpeech | None = None  # made on the first frame heard (its size gives the rate)
        self._speech_at = 0.0  # monotonic time Silero last heard speech (0: not in this utterance)
        self._released_at = 0.0  # monotonic time of the last release in this utterance (0: none)
        self.caller_started()

    def caller_started(self) -> None:
        self._voiced = 0
        self._from = 0  # voiced ms at the last release: holding again takes `hold_ms` more
        self._words_at = 0  # `_talked` ms when the STT last said something (words or none)
        self._talk_from = 0  # `_talked` ms at the last release
        self._interrupted = False
        self._speech_at = 0.0
        self._speech_ms = 0  # ms of caller audio Silero called speech since the last release
        self._speech_total = 0  # ... in the whole utterance
        self._released_at = 0.0
        self._at_limit = False  # released at the hold limit in this utterance
        self._late_words = False  # `on_timeout` kept the agent held for a sentence's late words
        self.heard = None
        if self._speech is not None:
            self._speech.reset()

    def hear(self, frame: bytes) -> None:
        if not self.silero:
            return
        if self._speech is None:
            rate = len(frame) * 1000 // (2 * FRAME_MS)
            try:
                self._speech = SileroSpeech(rate)
            except ValueError as exc:  # a rate Silero cannot take
                log.warning("Silero VAD unavailable (%s): the VAD alone says when the caller talks", exc)
                self.silero = False
                return
        if self._speech.feed(frame) >= self.speech_threshold:
            self._speech_at = time.monotonic()
            self._speech_ms += FRAME_MS
            self._speech_total += FRAME_MS

    def voiced_at(self, vad_voiced_at: float) -> float:
        if self._speech is None or not self.silero:
            return vad_voiced_at
        # Silero heard the caller last then (the start of the utterance if never): webrtcvad's later "voice"
        # without Silero's is the room.
        return min(vad_voiced_at, self._speech_at or vad_voiced_at - self._voiced / 1000)

    def on_speech(self, voiced_ms: int) -> int:
        self._voiced = voiced_ms
        if self._interrupted:
            return INTERRUPT
        if voiced_ms - self._from < self.hold_ms:
            return KEEP_LISTENING
        if self._released_at and (self._speech_ms < self.hold_ms if self._speech is not None else self._at_limit):
            # Released, and Silero has not heard `hold_ms` of speech since (the tail of the word it was released
            # for may still come out of its resampler): the room, not the caller. Without Silero, after the hold
            # limit, the words alone may still interrupt (partials, the final transcript): no new pause.
            return KEEP_LISTENING
        if self._talked() - max(self._talk_from, self._words_at) >= self.fallback_ms:
            self._interrupted = True
            return INTERRUPT
        return HOLD

    def on_partial(self, text: str) -> int:
        verdict = self._judge(text)
        return verdict if verdict == INTERRUPT else KEEP_LISTENING

    def on_transcript(self, text: str, final: bool = False) -> int:
        verdict = self._judge(text, keep=not final)
        if verdict == NOT_AN_INTERRUPTION and not final:
            self._released()
        return verdict

    def on_timeout(self) -> int:
        if self._talked() - self._talk_from >= self.fallback_ms:
            self._late_words = True
            return HOLD  # too long for a backchannel or a cough: wait for the words (`on_hold_limit` at the latest)
        self._released()
        return super().on_timeout()

    def on_hold_limit(self) -> int:
        heard = self.heard
        if heard is not None and (heard.stops or heard.content):  # words that count, if fewer than `min_words`
            return INTERRUPT
        if self._late_words:
            # A sentence, then quiet, and its words still not in: going back to the old answer now would talk over
            # the reply to come (the words are late, not absent). The transcript makes it a turn.
            return INTERRUPT
        self._released()
        self._at_limit = True
        self.reason = "no_words_at_hold_limit"
        return NOT_AN_INTERRUPTION

    def _talked(self) -> int:
        """How long the caller has spoken in this utterance: Silero's speech ms when it listens (webrtcvad's voiced
        ms count the room's babble too, and would make a backchannel in babble "too long" or fall back to voiced
        time while the caller is silent), else the VAD's voiced ms."""
        return self._speech_total if self._speech is not None else self._voiced

    def _released(self) -> None:
        self._from = self._voiced
        self._talk_from = self._talked()
        self._released_at = time.monotonic()
        self._speech_ms = 0

    def _judge(self, text: str, keep: bool = True) -> int:
        heard = self.lexicon.hear(text)
        if heard.content and not heard.stops:
            confidence = self._confidence(text)
            if confidence is not None and self.min_logprob is not None and confidence < self.min_logprob:
                heard = Heard(text=text, words=heard.words, content=(), stops=(), unsure=heard.content)
        if keep:
            self.heard = heard
            self._words_at = self._talked()
        too_long = heard.words > 0 and self._talked() >= self.max_backchannel_ms
        if heard.stops or len(heard.content) >= self.min_words or too_long:
            if keep:
                self._interrupted = True
            return INTERRUPT
        self.reason = ("backchannel" if heard.backchannel else "unsure_words" if heard.unsure
                       else "too_few_words" if heard.content else "no_words")
        return NOT_AN_INTERRUPTION


def _option(options: dict, key: str, default: int, low: int, high: int) -> int:
    """An agent's numeric option, clamped; a value that is not a number is ignored (a call must not fail on it)."""
    try:
        return min(high, max(low, int(options.get(key, default))))
    except (TypeError, ValueError):
        log.warning("turn_taking option %s=%r is not a number: using %s", key, options.get(key), default)
        return default


def _number(options: dict, key: str, default: float | None, low: float, high: float) -> float | None:
    """Like `_option`, for a float."""
    try:
        return min(high, max(low, float(options.get(key, default))))
    except (TypeError, ValueError):
        log.warning("turn_taking option %s=%r is not a number: using %s", key, options.get(key), default)
        return default


def _words(settings: AgentSettings) -> WordsInterruption:
    """Options (`provider_options["turn_taking"]["words"]`): min_words, hold_ms, fallback_ms, decide_ms,
    max_hold_ms, max_backchannel_ms, min_logprob (-0.4; null: every word counts), silero (false: webrtcvad alone says when the caller talks), language (default: the agent's), backchannels and stop_words (lists replacing the language's),
    prompt (what the STT is primed with over the agent; "" for nothing)."""
    o = settings.turn_taking_options.get("words") or {}
    if not isinstance(o, dict):
        o = {}
    lists = {key: [str(w) for w in o[key]] if isinstance(o.get(key), list) else None
             for key in ("backchannels", "stop_words")}
    prompt = str(o["prompt"]) if isinstance(o.get("prompt"), str) else None
    lexicon = Lexicon.for_language(str(o.get("language") or settings.language), **lists, prompt=prompt)
    hold = _option(o, "hold_ms", 100, 20, 1000)
    return WordsInterruption(
        lexicon,
        min_words=_option(o, "min_words", 2, 1, 20),
        hold_ms=hold,
        fallback_ms=_option(o, "fallback_ms", 1200, hold, 10000),
        decide_ms=_option(o, "decide_ms", 700, 100, 5000),
        max_hold_ms=_option(o, "max_hold_ms", 4000, 500, 20000),
        max_backchannel_ms=_option(o, "max_backchannel_ms", 1500, 300, 20000),
        silero=o.get("silero", True) is not False,
        min_logprob=None if o.get("min_logprob", -0.4) is None else _number(o, "min_logprob", -0.4, -10.0, 0.0),
    )


#: name -> build(settings)
INTERRUPTION_STRATEGIES: dict[str, Callable[[AgentSettings], InterruptionStrategy]] = {
    "voiced-time": lambda settings: VoicedTimeInterruption(settings.barge_in_min_ms),
    "words": _words,
    "never": lambda settings: NoInterruption(),
}
#: The fallback for a name nobody registered, and what bare `AgentSettings` name: the voiced-time rule, which needs
#: nothing from the STT.
DEFAULT_INTERRUPTION = "voiced-time"
#: What an agent that names no strategy gets (`factory.agent_settings`): interruptions decided on words. It holds
#: the barge-in budget (the agent goes quiet `hold_ms` = 100 voiced ms into the caller's speech, sooner than the
#: voiced-time rule's 200) and backchannels and coughs no longer cut the answer.
AGENT_DEFAULT_INTERRUPTION = "words"


def register_interruption(name: str, build: Callable[[AgentSettings], InterruptionStrategy]) -> None:
    INTERRUPTION_STRATEGIES[name] = build


def interruption_for(settings: AgentSettings) -> InterruptionStrategy:
    """The agent's interruption strategy. `barge_in_enabled=False` wins over any strategy; an unknown name falls
    back to the default."""
    if not settings.barge_in_enabled:
        return NoInterruption()
    build = INTERRUPTION_STRATEGIES.get(settings.interruption)
    if build is None:
        log.warning("unknown interruption strategy %r: using %r", settings.interruption, DEFAULT_INTERRUPTION)
        build = INTERRUPTION_STRATEGIES[DEFAULT_INTERRUPTION]
    return build(settings)

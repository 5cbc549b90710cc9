"""CallSession: one call's conversation — listening, deciding, speaking, being interrupted — coordinated.

The session knows nothing of carriers: it receives decoded PCM, digits and played-marks, and sends through a
serializer it is handed. It wires together the parts that do the work, each testable alone:

- turn-taking strategies (`turn_taking`): has the caller's turn ended; is their speech over the agent's an
  interruption;
- the speaker (`speaker.Speaker`): brain outputs -> sentences -> TTS -> playout, then the reply's actions;
- the turn log (`turn_log.TurnLog`): turn records, what was heard, recording offsets, latency metrics;
- the watchdog (`watchdog.Watchdog`): silence re-prompts and the maximum call duration.

What stays here: the per-frame path, the caller's turn (transcript -> brain), barge-in, DTMF, ending the call and
transfers, and the lifetime of every task. Everything on the per-frame path (`on_audio`) is synchronous and
allocation-light; the slow work (transcription, the brain, synthesis, database writes) runs in tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from django.utils import timezone

from ..pipeline import recording
from ..pipeline.denoise import Denoiser, DenoiserError, denoiser_for
from ..pipeline.observers import TurnTimer
from ..pipeline.playout import Playout
from ..pipeline.ports import CallControl, MediaEncoder
from ..pipeline.turns import END_OF_TURN, PAUSE, QUIET, SPEAKING, SPEECH_START
from ..providers.base import (
    ActionFailed,
    Brain,
    BrainInput,
    BrainOutput,
    Dtmf,
    EndCall,
    ProviderError,
    Silence,
    SpeechHint,
    STTStream,
    TextDelta,
    Transfer,
    TTSProvider,
    UserTurn,
)
from ..recorder import CallRecorder
from . import smart_turn  # noqa: F401  (registers the "smart-turn" end-of-turn strategy)
from .lines import FALLBACK_LINE, RESUME_LINE, TIME_LIMIT_LINE, TRANSFER_FAILED_LINE
from .completeness import short_answer, unfinished, words_decide
from .settings import AgentSettings
from .speaker import Speaker
from .tasks import CallTasks
from .turn_log import CallerSpeech, TurnLog, brain_state
from .turn_taking import (
    HOLD,
    INTERRUPT,
    KEEP_LISTENING,
    NOT_AN_INTERRUPTION,
    EndOfTurnStrategy,
    InterruptionStrategy,
    end_of_turn_for,
    interruption_for,
)
from .watchdog import Watchdog

__all__ = ["CallSession", "AgentSettings", "State", "Stats", "FALLBACK_LINE", "TIME_LIMIT_LINE", "RESUME_LINE"]

log = logging.getLogger("calls.session")

#: While the agent is held, peek at what the caller has said every this many voiced ms (an STT without interim
#: results, e.g. Whisper, answers a peek only when its model is free: it never delays anybody's final transcript).
PEEK_EVERY_MS = 300
#: Caller speech that begins at most this much into the reply to their turn (and within the agent's maximum end-of-turn
#: silence after it) is the rest of their sentence, never a backchannel: nobody backchannels an answer unheard.
WENT_ON_HEARD_MS = 300


#: A deferred turn whose transcript did not grow ("My number is 5" -> "My number is 5."; tiny.en's "My number is
#: 5, 5, 5, 5, 5" -> "My number is 555.") is deferred again until it was deferred this often; then it is answered.
MAX_DEFERRALS_WITHOUT_MORE_WORDS = 2


def _new_words(text: str, before: str | None, deferrals: int = 0) -> bool:
    """Whether the transcript of a turn may defer it again: it was never deferred (`before` None), it has more
    words than `before` (the same turn's words when it was last deferred, `deferrals` times so far), or it was
    deferred less than `MAX_DEFERRALS_WITHOUT_MORE_WORDS` times. Whisper re-reads a growing sentence differently
    (repeating a digit it heard half of, or not yet hearing the next one), while babble behind a caller who is done
    brings no word at all: such a turn is answered after a deferral or two, not after the room falls quiet."""
    if before is None or deferrals < MAX_DEFERRALS_WITHOUT_MORE_WORDS:
        return True
    return _words_said(text) > _words_said(before)


def _words_said(text: str) -> int:
    """How many words `text` says, a figure one word per digit: Whisper writes "five" as "5" and "five five five"
    as "555" (or "555-2134"), so "My number is 555." says two words more than "My number is 5."."""
    count = 0
    for word in text.split():
        digits = sum(c.isdigit() for c in word)
        count += digits if digits else 1 if any(c.isalnum() for c in word) else 0
    return count


class State(enum.Enum):
    ACTIVE = "active"
    ENDING = "ending"  # saying goodbye; no new turns
    CLOSED = "closed"


@dataclass
class Stats:
    turns: int = 0
    barge_ins: int = 0
    noise_turns: int = 0
    provider_failures: int = 0
    action_failures: int = 0
    unanswered: int = 0
    holds: int = 0  # the agent paused for caller speech whose words were still to come
    resumes: int = 0  # ... and went on: it was not an interruption
    backchannels: int = 0  # caller words over the agent that were no turn ("uh-huh", "okay")
    continued: int = 0  # turns the caller went on with before they were answered (one turn with all the words)
    unfinished: int = 0  # turns whose words read unfinished: the answer waited for the caller to go on
    room_waits: int = 0  # turns that read finished in a room that talks: the answer waited all the same


class CallSession:
    #: How long a transfer or hang-up may take at the carrier before it counts as failed (the caller is waiting).
    action_timeout_s = 3.0
    #: How long the end of a call waits for the transcript of the caller's last words, to store them.
    last_words_timeout_s = 3.0

    def __init__(
        self,
        *,
        call_id: str,
        settings: AgentSettings,
        serializer: MediaEncoder,
        send: Callable[[str], Awaitable[None]],
        close: Callable[[], Awaitable[None]],
        stt: STTStream,
        tts: TTSProvider,
        brain: Brain,
        recorder: CallRecorder,
        sample_rate: int,
        control: CallControl | None = None,
        fallback_tts: TTSProvider | None = None,
        audio_recorder: recording.CallAudioRecorder | None = None,
        resumed: bool = False,
        end_of_turn: EndOfTurnStrategy | None = None,
        interruption: InterruptionStrategy | None = None,
    ) -> None:
        """`end_of_turn` / `interruption`: the turn-taking strategies (the factory picks the agent's); by default
        those `settings` name."""
        self.call_id = call_id
        self.resumed = resumed
        self.cfg = settings
        self.stt, self.tts, self.brain = stt, tts, brain
        self.recorder = recorder
        self.audio_recorder = audio_recorder
        self.control = control
        self._send_text = send
        self._close = close
        self.state = State.ACTIVE
        self.stats = Stats()
        self.sample_rate = sample_rate
        #: The agent's noise suppression (`settings.noise_suppression`), loaded by `start()` off the event loop:
        #: until then (the greeting's first ms) the caller's audio goes through as it came.
        self.denoiser: Denoiser | None = None
        self.end_of_turn = end_of_turn if end_of_turn is not None else end_of_turn_for(settings, sample_rate)
        self.end_of_turn.bind(self._end_of_turn)
        self.interruption = interruption if interruption is not None else interruption_for(settings)
        self.interruption.bind(self._barge_in, confidence=lambda text: self.stt.confidence(text))
        self.turn_log = TurnLog(call_id=call_id, recorder=recorder, brain=brain, audio_recorder=audio_recorder,
                                providers={"stt": stt, "brain": brain, "tts": tts})
        self.playout = Playout(
            self._send, serializer, sample_rate,
            chunk_ms=settings.chunk_ms, lead_ms=settings.lead_ms, mark_every_ms=settings.mark_every_ms,
            on_sent=self.turn_log.on_audio_sent if audio_recorder is not None else None,
        )
        self.watchdog = Watchdog(
            silence_timeout_s=settings.silence_timeout_s, max_reprompts=settings.max_reprompts,
            max_duration_s=settings.max_duration_s, active=self._active, engaged=self._engaged,
            on_silence=self._on_silence, on_time_up=self._on_time_up, event=recorder.event,
        )
        self.speaker = Speaker(
            playout=self.playout, tts=tts, fallback_tts=fallback_tts, turn_log=self.turn_log, spawn=self._spawn,
            act=self._act, provider_failed=self._provider_failed, on_idle=self.watchdog.touch,
            language=self.cfg.language,
        )
        self._rest = b""
        self._frame_bytes = self.end_of_turn.frame_bytes
        self._turn_task: asyncio.Task | None = None
        self._call_tasks = CallTasks(call_id, recorder)
        self._tasks = self._call_tasks.running
        self._closed = asyncio.Event()
        self.speech_started_at: float | None = None
        self.barge_in_latencies: list[float] = []  # onset -> the agent quiet (its clear), per barge-in
        # Interruptions decided on words (a strategy that HOLDs): the agent is paused for one caller utterance.
        self._utterance = 0  # caller utterances so far (SPEECH_START): a hold belongs to one
        self._onset_at = 0.0  # when the utterance under way began: the VAD confirms it `start_ms` in
        self._overlapped = False  # the utterance under way was, at least in part, over the agent's speech
        self._saying_goodbye = False  # a polite goodbye (time limit, shutdown) has begun
        self._hold_gen: int | None = None  # the utterance the agent is held for
        self._held_at = 0.0
        self._holds: dict[int, dict] = {}  # utterance -> what holding for it cost (for its event)
        self._peeking = False
        self._peeked_at = 0  # voiced ms of the utterance at the last peek
        self.pause_latencies: list[float] = []  # onset -> the agent quiet (its clear), per hold
        self.resume_gaps: list[float] = []  # hold -> resume, ms the agent was quiet for nothing
        # A turn the caller went on with while it was being transcribed: its audio stays in the STT (not committed)
        # and the caller's next words join it — one turn, one answer, no word left out (see `_caller_went_on`).
        self._continued: CallerSpeech | None = None
        self._continued_text: str | None = None  # the deferred turn's words (see `_new_words`)
        self._deferrals = 0  # how often the turn under way was deferred
        self._turn_voiced_at = 0.0  # the last voiced frame of the latest caller turn
        self._went_on = False  # the utterance under way began right after a turn ended: the rest of a sentence
        # A turn whose words read unfinished waits for more before it is answered (`_goes_on`); agents may opt out.
        self._check_words = settings.turn_taking_options.get("unfinished_words", True) is not False
        # ... and so does every turn said in a room that talks (`_goes_on`); agents may opt out.
        self._wait_in_talking_room = settings.turn_taking_options.get("talking_room_waits", True) is not False

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self.stt.on_hint = self._on_stt_hint
        self.stt.on_partial = self._on_partial
        await asyncio.gather(self.stt.start(), self.tts.start(), self._load_denoiser())
        opening = _line(RESUME_LINE) if self.resumed else self.brain.greeting()
        self.speaker.say(opening, None, "greeting")
        self._spawn(self.watchdog.run(), "watchdog")

    async def _load_denoiser(self) -> None:
        name = self.cfg.noise_suppression
        if not name:
            return
        try:
            # Loading the model takes 0.25-0.5 s: never on the event loop every call shares.
            self.denoiser = await asyncio.to_thread(denoiser_for, name, self.sample_rate,
                                                    **self.cfg.noise_suppression_options)
        except (DenoiserError, OSError) as exc:  # the call goes on, unsuppressed; the record says why
            log.warning("call %s: noise suppression %r unavailable: %s", self.call_id, name, exc)
            self.recorder.event("noise_suppression_unavailable", {"name": name, "error": str(exc)[:300]})

    async def _send(self, text: str) -> None:
        if self.state is not State.CLOSED:
            await self._send_text(text)

    def _spawn(self, coro, name: str) -> asyncio.Task:
        return self._call_tasks.spawn(coro, name)

    async def stop(self, reason: str = "stream-stopped") -> None:
        """The stream ended (carrier stop, socket closed): record what was heard and release everything."""
        if self.state is State.CLOSED:
            return
        if self.state is State.ACTIVE:
            self.recorder.update_call(end_reason=reason)
        self.state = State.CLOSED
        if self.playout.speaking:
            self.turn_log.cut_recording()  # the carrier stops playing with the stream: queued audio never played
        # Cancelling the reply task makes it record what the caller heard of it (its `finally`).
        # stop() may run inside one of our own tasks (the reply that hung up): never wait on that one.
        last = self._last_words()
        others = [t for t in self._tasks if t is not asyncio.current_task() and t is not last]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        if last is not None:
            # The caller's last words are stored (with an `unanswered` event: no reply can be said any more), if
            # their transcript comes in time.
            done, _ = await asyncio.wait({last}, timeout=self.last_words_timeout_s)
            if not done:
                last.cancel()
                await asyncio.gather(last, return_exceptions=True)
                self._unanswered("call-ended", stored=False)
        for provider in (self.stt, self.tts, self.brain):
            try:
                await provider.close()
            except Exception as exc:  # closing must never lose the call record
                log.warning("call %s: closing %s failed: %r", self.call_id, provider.name, exc)
        if self.denoiser is not None:
            self.denoiser.close()
            self.denoiser = None
        if self.audio_recorder is not None:
            await recording.store(self.audio_recorder, self.recorder)
        self.recorder.update_call(status="completed", ended_at=timezone.now(), brain_state=brain_state(self.brain))
        self._closed.set()

    def _last_words(self) -> asyncio.Task | None:
        """At the end of the stream, the caller's words not yet stored: a turn still waiting for its transcript,
        a turn they went on with, or speech under way. The task that stores them, or None."""
        turn = self._turn_task
        if turn is not None and not turn.done() and turn is not asyncio.current_task():
            return turn
        listener = self.end_of_turn
        if self._continued is None and not (listener.speaking and listener.voiced_ms >= self.cfg.min_speech_ms):
            return None
        timer = TurnTimer(last_voiced=listener.last_voiced_at)
        speech = self.turn_log.caller_speech_ended(listener.silence_ms)
        self._turn_task = self._spawn(self._caller_turn(timer, speech, None, None, self._utterance), "last-words")
        return self._turn_task

    async def wait_closed(self) -> None:
        await self._closed.wait()

    # ------------------------------------------------------------------ inbound (hot path)

    def on_audio(self, pcm: bytes) -> None:
        if self.state is State.CLOSED:
            return
        fb = self._frame_bytes
        if self._rest:
            pcm = self._rest + pcm
            self._rest = b""
        if len(pcm) == fb:
            self._on_frame(pcm)
            return
        end = len(pcm) - len(pcm) % fb
        for off in range(0, end, fb):
            self._on_frame(pcm[off : off + fb])
        self._rest = pcm[end:]

    def _on_frame(self, frame: bytes) -> None:
        if self.audio_recorder is not None:
            self.audio_recorder.inbound(frame)  # the recording keeps what the caller sent
        if self.denoiser is not None:
            frame = self.denoiser.process(frame)  # VAD, end of turn and STT hear the cleaned audio
        listener = self.end_of_turn
        outcome = listener.feed(frame)
        if outcome == QUIET:
            return
        if outcome == SPEECH_START:
            preroll = listener.pop_preroll()
            for early in preroll:
                self.stt.send_audio(early)
            self.stt.send_audio(frame)
            self._on_speech_start()
            if self.speaker.busy:  # the interruption strategy may listen to the sound from its first frame
                for early in preroll:
                    self.interruption.hear(early)
                self.interruption.hear(frame)
            return
        self.stt.send_audio(frame)
        if outcome == SPEAKING:
            if self.speaker.busy:
                self.interruption.hear(frame)
                # Over the agent once the caller can hear it (a reply still being prepared is not talked over).
                if not self._overlapped and self.speaker.audible:
                    self._overlapped = True
                    self.stt.expect(self.interruption.expected)
                verdict = self.interruption.on_speech(listener.voiced_ms)
                if verdict == INTERRUPT:
                    self._barge_in()
                elif verdict == HOLD:
                    self._hold()
                    if not self._peeking and listener.voiced_ms - self._peeked_at >= PEEK_EVERY_MS:
                        self._peeked_at = listener.voiced_ms
                        self._peeking = True
                        self._spawn(self._peek(self._utterance), "peek")
                elif verdict == NOT_AN_INTERRUPTION and self._hold_gen is not None:
                    self._release(self._utterance)
        elif outcome == PAUSE:
            # Transcribe during the end-of-turn silence; if the caller resumes, the result is simply not used.
            self._spawn(self._speculate(), "speculate")
        elif outcome == END_OF_TURN:
            self._end_of_turn()

    def _on_speech_start(self) -> None:
        self.speech_started_at = time.monotonic()
        # The VAD confirms speech `voiced_ms` in; frames arrive in real time, so the speech began that much earlier.
        self._onset_at = self.speech_started_at - self.end_of_turn.voiced_ms / 1000
        self._utterance += 1
        self._overlapped = self.speaker.audible
        self.end_of_turn.caller_over_agent(self._overlapped)
        # Over the agent a caller mostly says "uh-huh": the STT is primed for it (a hum is then no words).
        self.stt.expect(self.interruption.expected if self._overlapped else None)
        # Right after their turn ended, before they could have heard more than the first syllables of the reply:
        # the caller is going on with their sentence (a pause mid-sentence), not answering the agent.
        self._went_on = (self._turn_voiced_at > 0.0 and self.speaker.heard_ms <= WENT_ON_HEARD_MS
                         and self._onset_at - self._turn_voiced_at <= self.cfg.end_of_turn_max_silence_ms / 1000)
        self._peeked_at = 0
        self.turn_log.caller_speech_started(self.end_of_turn.voiced_ms)
        self.watchdog.caller_spoke()
        self.interruption.caller_started()

    # ------------------------------------------------------------------ turn-taking

    async def _speculate(self) -> None:
        gen, last_voiced = self._utterance, self.end_of_turn.last_voiced_at
        try:
            text = await self.stt.transcript()
        except ProviderError:
            return  # the real request at end of turn will report it
        # Over the agent's speech this is also the quick transcript the interruption strategy waits for (for
        # Whisper, of just this utterance; the end-of-turn transcript reuses it).
        # Words that read finished end the wait a voice model may hold: a short answer's always ("Tomorrow" sounds
        # unfinished to a model that never heard the question), a longer sentence's on a quiet line only (in noise
        # tiny.en writes half sentences as whole ones, and the voice knows better).
        if (gen == self._utterance and not self._overlapped and self._check_words
                and (words_decide(text) or self.end_of_turn.line_quiet)
                and self.end_of_turn.last_voiced_at == last_voiced and unfinished(text, self.cfg.language) is None):
            self.end_of_turn.words_read_finished()
        if gen == self._utterance and self._overlapped and self.speaker.busy:
            strategy = self.interruption
            if self.end_of_turn.last_voiced_at == last_voiced:  # the caller is still quiet: all they said so far
                self._judged(strategy.on_transcript(text.strip()), gen)
            else:  # they went on talking meanwhile: it can only tell that they mean it
                self._judged(strategy.on_partial(text.strip()), gen)

    async def _peek(self, gen: int) -> None:
        """What the caller has said so far, while they talk over the held agent (None: not to be had now)."""
        try:
            text = await self.stt.peek()
        except ProviderError:
            text = None
        finally:
            self._peeking = False
        if text is not None and gen == self._utterance and self.speaker.busy:
            self._judged(self.interruption.on_partial(text.strip()), gen)

    def _on_partial(self, text: str) -> None:
        """Interim transcripts go to the live view (turns are stored from the final transcript) and to the
        turn-taking strategies, which may decide on them."""
        if self.recorder.on_written is not None and text:
            self.recorder.on_written("partial", {"text": text})
        if self.interruption.on_partial(text) == INTERRUPT:
            self._barge_in()
        if self.end_of_turn.on_partial(text):
            self._end_of_turn()

    def _on_stt_hint(self, hint: SpeechHint) -> None:
        """Provider-side endpointing (e.g. Deepgram speech_final), if the end-of-turn strategy listens to it."""
        if self.end_of_turn.on_hint(hint):
            self._end_of_turn()

    def _end_of_turn(self) -> None:
        if self.state is not State.ACTIVE:
            if self.state is State.ENDING and self.end_of_turn.utterance_voiced_ms >= self.cfg.min_speech_ms:
                # Said during the goodbye: no answer can come, but the words are stored (`_caller_turn` says why).
                speech = self.turn_log.caller_speech_ended(self.end_of_turn.silence_ms)
                timer = TurnTimer(last_voiced=self.end_of_turn.last_voiced_at)
                self._turn_task = self._spawn(self._caller_turn(timer, speech, self._turn_task, None, self._utterance),
                                              "turn")
            return
        listener = self.end_of_turn
        previous = self._turn_task
        pending = previous is not None and not previous.done()
        if listener.utterance_voiced_ms < self.cfg.min_speech_ms and self._continued is None:
            self.stats.noise_turns += 1
            if not pending:
                # Not while a turn still waits for its transcript: the commit would take that turn's audio with it
                # (the noise then simply stays in the audio that turn transcribes).
                self.stt.commit()
            self._not_a_turn(self._utterance, "", "noise")
            return
        # (A short sound after a turn that waits for the caller's next words still ends that turn: it is answered.)
        self._turn_voiced_at = listener.last_voiced_at
        timer = TurnTimer(last_voiced=listener.last_voiced_at)
        timer.mark("endpoint")
        speech = self.turn_log.caller_speech_ended(listener.silence_ms)
        overlapped = self._utterance if self._overlapped else None
        self._turn_task = self._spawn(
            self._caller_turn(timer, speech, previous, overlapped, self._utterance, self._went_on), "turn")

    def _caller_went_on(self, gen: int) -> bool:
        """The caller began speaking again after their utterance `gen` ended as a turn, before that turn was
        answered (its transcript just came, nothing of a reply to it was said yet): they are talking now, or that
        speech already ended as a turn of its own, waiting behind this one. Then this turn is not committed nor
        answered: its audio stays in the STT, and the next turn's transcript covers both (Whisper transcribes the
        whole buffer since the last commit, Deepgram joins its finals) — committing now would drop the new words
        that already reached the STT."""
        if gen == 0 or self._utterance == gen or self.state is not State.ACTIVE:
            return False
        return self.end_of_turn.speaking or self._turn_task is not asyncio.current_task()

    async def _goes_on(self, text: str, gen: int, voiced_at: float) -> bool:
        """The turn's words read unfinished ("my number is five five five", `completeness`), or the room behind the
        caller talks (`TurnDetector.room_talks`): before answering, wait for the caller to go on, up to the agent's
        maximum end-of-turn silence after their last voiced frame.
        True: they did (this turn is not answered; it joins their next one).
        A short answer ("Yes.", "No.") after a turn the strategy ended early is held until the caller has been
        silent the strategy's `short_answer_settle_ms`: it is often "Yes, that's right" with a comma's pause."""
        why = unfinished(text, self.cfg.language) if self._check_words else None
        if self.state is not State.ACTIVE:
            return False
        if why is not None:
            self.stats.unfinished += 1
            log.debug("call %s: %r reads unfinished (%s): waiting for more", self.call_id, text[-60:], why)
            deadline = voiced_at + self.cfg.end_of_turn_max_silence_ms / 1000
        elif self._wait_in_talking_room and self.end_of_turn.room_talks:
            # Babble or a TV behind the caller (the VAD hears voice between their utterances): there neither the
            # words (tiny.en writes "I would like to book an" as "I would like to book him.") nor a turn model
            # (p 0.97-0.99 on that half) tell a pause mid-sentence from the end; only the longest silence does.
            self.stats.room_waits += 1
            deadline = voiced_at + self.cfg.end_of_turn_max_silence_ms / 1000
        elif self._check_words and self.end_of_turn.short_answer_settle_ms and short_answer(text):
            deadline = voiced_at + self.end_of_turn.short_answer_settle_ms / 1000
        else:
            return False
        while time.monotonic() < deadline and self.state is State.ACTIVE and not self._caller_went_on(gen):
            await asyncio.sleep(0.02)
        return self._caller_went_on(gen)

    async def _caller_turn(self, timer: TurnTimer, speech: CallerSpeech, previous: asyncio.Task | None,
                           overlapped: int | None = None, gen: int = 0, went_on: bool = False) -> None:
        """`overlapped`: the utterance (its number) was said, at least in part, over the agent's speech. `gen`: the
        number of the caller utterance that ended this turn. `went_on`: it began right after the caller's previous
        turn ended (within the agent's maximum end-of-turn silence): the rest of their sentence, never a
        backchannel — it cuts the reply to the first half, and is answered."""
        if previous is not None and not previous.done():
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await previous
        deferred_text, self._continued_text = self._continued_text, None
        if self._continued is not None:
            # The turn before was the first part of this one: it starts where that one started.
            first, self._continued = self._continued, None
            speech = CallerSpeech(first.started_at, first.audio_start_ms, speech.audio_end_ms)
        else:
            self._deferrals = 0
        timer.mark("stt_started")
        verdict = KEEP_LISTENING  # over the agent: the interruption strategy's verdict on the words
        try:
            text = (await self.stt.transcript()).strip()
            # (Said over the agent, the words are judged as an interruption instead.) A "going on" that brought no
            # new word (babble or a TV behind the caller starting utterance after utterance) defers a turn a few
            # times at most (`_new_words`): the words so far are answered rather than waiting on the room forever.
            if _new_words(text, deferred_text, self._deferrals) and (
                    self._caller_went_on(gen) or (overlapped is None
                                                  and await self._goes_on(text, gen, timer.last_voiced))):
                self._continued = speech
                self._continued_text = text
                self._deferrals += 1
                self.stats.continued += 1
                return
            if overlapped is not None:
                # Said over the agent: a backchannel, noise or too few words is no turn (the agent goes on); real
                # words interrupt now if that was not decided yet (and are answered right after uninterruptible
                # speech).
                verdict = self.interruption.on_transcript(text, final=True)
                if verdict == NOT_AN_INTERRUPTION and went_on and text:
                    verdict = INTERRUPT
                if verdict == INTERRUPT:
                    self._barge_in(words=text)
                if verdict != NOT_AN_INTERRUPTION and self.stt.biased and self._utterance == gen:
                    # A turn after all: its words are the call's recogniser's to write, with the agent's vocabulary,
                    # not the backchannel-primed judge's (which heard "Sarah Johnson" as "Eric Johnson").
                    self.stt.expect(None)
                    text = (await self.stt.transcript()).strip() or text
        except ProviderError as exc:
            self._provider_failed(exc, "stt")
            timer.mark("stt_final")
            self.stt.commit()
            if overlapped is not None:
                self._release(overlapped)  # no words to judge by: the agent goes on, the caller is asked again
                self._holds.pop(overlapped, None)
            # The caller spoke and nothing could transcribe it: ask them to repeat now, not after a silence.
            await self._reply(None, timer, outputs=_line(FALLBACK_LINE))
            return
        timer.mark("stt_final")
        self.stt.commit()
        if overlapped is not None:
            if verdict == NOT_AN_INTERRUPTION:
                if not text:
                    self.stats.noise_turns += 1
                self._not_a_turn(overlapped, text, self.interruption.reason)
                return
            self._holds.pop(overlapped, None)
        if not text:
            self.stats.noise_turns += 1
            self._unanswered("no-words")  # long enough to be speech, yet the recogniser heard no word
            return
        self.stats.turns += 1
        self.turn_log.caller_turn(speech, text)
        if self.state is not State.ACTIVE:
            self._unanswered("call-ending")  # said as the call ends (its goodbye, the stream closing): stored only
            return
        await self._reply(UserTurn(text, caller_stopped_at=timer.last_voiced or None), timer)

    async def _reply(self, event: BrainInput | None, timer: TurnTimer | None,
                     outputs: AsyncIterator[BrainOutput] | None = None) -> None:
        """Start the agent's answer to `event` (or say `outputs`) once any uninterruptible speech still playing has
        finished. Never beside other speech: another reply may have started while this one waited (a key pressed,
        a turn), and once the goodbye has begun nothing more is said (the turn is stored as unanswered)."""
        while True:
            await self.speaker.finish()
            if self.state is not State.ACTIVE or self._saying_goodbye:
                if isinstance(event, UserTurn):
                    self._unanswered("call-ending")
                return
            if not self.speaker.busy:
                break
        if timer is not None:
            timer.mark("brain_started")
        if outputs is None:
            outputs = self._answer(event)
        self.speaker.say(outputs, timer, "reply")

    async def _answer(self, event: BrainInput) -> AsyncIterator[BrainOutput]:
        """The brain's answer to `event`. If it has not a word to say, a failed action is still owned up to (the
        event's line) and a caller turn is recorded as unanswered, with why."""
        said = False
        async with contextlib.aclosing(self.brain.respond(event)) as outputs:
            async for out in outputs:
                if isinstance(out, EndCall | Transfer) or (isinstance(out, TextDelta) and out.text.strip()):
                    said = True
                yield out
        if said:
            return
        if isinstance(event, ActionFailed):
            yield TextDelta(event.line)
        elif isinstance(event, UserTurn):
            self._unanswered("brain-said-nothing", brain=self.brain.name)

    def _unanswered(self, reason: str, **detail) -> None:
        """The caller said something and gets no reply: the call record says why."""
        self.stats.unanswered += 1
        self.recorder.event("unanswered", {"reason": reason, **{k: v for k, v in detail.items() if v is not None}})

    # ------------------------------------------------------------------ interruptions and input

    @property
    def _interruptible(self) -> bool:
        """The caller may cut or pause what the agent is saying now. Never a polite goodbye, from the moment it
        begins: its sentences are uninterruptible only once they reach playout, and a verdict already reached on the
        caller's words (a turn's partial, frame after frame while they go on talking) cut it in between, before it
        said a word: no goodbye was said or stored, and the call hung on until the shutdown's deadline."""
        return self.state is State.ACTIVE and not self._saying_goodbye and self.playout.interruptible

    def _barge_in(self, words: str | None = None) -> None:
        """Cut the agent off (`words`: what the caller said, when the verdict came from a final transcript)."""
        if not self._interruptible or not self.speaker.busy:
            return
        self.stats.barge_ins += 1
        held = self.playout.paused
        self.speaker.interrupt()
        self._hold_gen = None
        now = time.monotonic()
        detail = {"voiced_ms": self.end_of_turn.voiced_ms}
        heard = getattr(self.interruption, "heard", None)
        if words is not None or heard is not None:
            detail["words"] = words if words is not None else heard.text
        if self.speech_started_at is not None:
            # "Clear" is when the agent went quiet at the carrier: its `clear` was sent — by the hold that paused
            # it while the words were awaited, or now. Measured from the speech onset (VAD confirmation less
            # the voiced ms it took), as the caller would: onset -> clear is the barge-in budget (p95 250 ms).
            quiet_at = self._held_at if held else now
            detail["onset_to_clear_ms"] = round(max(0.0, quiet_at - self._onset_at) * 1000, 1)
            if held:
                detail["onset_to_decision_ms"] = round((now - self._onset_at) * 1000, 1)
            self.barge_in_latencies.append(detail["onset_to_clear_ms"])
        self.recorder.event("barge_in", detail)

    # Holding: the agent paused while the words of the caller's speech over it are awaited.

    def _judged(self, verdict: int, gen: int) -> None:
        """Act on a verdict reached off the frame path, about the caller's utterance `gen`."""
        if verdict == INTERRUPT:
            self._barge_in()
        elif verdict == NOT_AN_INTERRUPTION:
            self._release(gen)

    def _hold(self) -> None:
        """Pause the agent for the caller's utterance under way: quiet at once (a `clear`), resumable."""
        gen = self._utterance
        paused = self.playout.paused
        if (self._hold_gen == gen and paused) or not self._interruptible:
            return
        if self._hold_gen is not None and paused:
            # Still held for the caller's previous utterance, and they speak again: this one decides now.
            self._holds[gen] = self._holds.pop(self._hold_gen, {})
            self._hold_gen = gen
            self._spawn(self._watch_hold(gen), "hold")
            return
        if not self.playout.pause():
            return  # nothing is playing yet (the reply's first audio is still being made)
        now = time.monotonic()
        self._hold_gen, self._held_at = gen, now
        self.turn_log.cut_recording()  # the clear drops what was queued at the carrier: the recording too
        self._spawn(self.playout.send_clear(), "pause")
        quiet = round(max(0.0, now - self._onset_at) * 1000, 1)
        self.pause_latencies.append(quiet)
        self._holds.setdefault(gen, {})["onset_to_pause_ms"] = quiet
        self.stats.holds += 1
        self._spawn(self._watch_hold(gen), "hold")

    def _release(self, gen: int) -> None:
        """The caller's utterance `gen` was no interruption: the held agent goes on from where it was heard."""
        if self._hold_gen != gen:
            return
        self._hold_gen = None
        if not self.playout.paused:
            return  # cut meanwhile (a key press, a goodbye)
        gap = round((time.monotonic() - self._held_at) * 1000, 1)
        self.resume_gaps.append(gap)
        hold = self._holds.setdefault(gen, {})
        hold["paused_ms"] = round(hold.get("paused_ms", 0.0) + gap, 1)
        self.stats.resumes += 1
        self._spawn(self.playout.resume(), "resume")

    async def _watch_hold(self, gen: int) -> None:
        """A held agent is never left waiting: no verdict `decide_ms` after the caller went quiet asks the
        strategy's `on_timeout`; `max_hold_ms` held in all asks its `on_hold_limit` (a caller still talking
        with words interrupts; a VAD fooled by the room resumes the agent)."""
        strategy = self.interruption
        timed_out = False  # `on_timeout` said HOLD: only the words or the hold limit decide now
        while True:
            await asyncio.sleep(0.05)
            if self._hold_gen != gen or not self.playout.paused or self.state is not State.ACTIVE:
                return
            now = time.monotonic()
            if now - self._held_at >= strategy.max_hold_ms / 1000:
                self._judged(strategy.on_hold_limit(), gen)
                return
            listener = self.end_of_turn
            voiced_at = strategy.voiced_at(listener.last_voiced_at)
            talking = gen == self._utterance and listener.speaking and listener.silence_ms == 0
            if (not timed_out and (not talking or voiced_at < listener.last_voiced_at)
                    and now - voiced_at >= strategy.decide_ms / 1000):
                verdict = strategy.on_timeout()
                if verdict == HOLD:
                    timed_out = True
                    continue
                self._judged(verdict, gen)
                return

    def _not_a_turn(self, gen: int, text: str, reason: str) -> None:
        """The caller's utterance `gen` over the agent was no turn: the agent goes on; a backchannel (words) is
        recorded, and noise too if the agent paused for it."""
        self._release(gen)
        hold = self._holds.pop(gen, None)
        if not text and hold is None:
            return
        if text:
            self.stats.backchannels += 1
        self.recorder.event("backchannel", {"words": text, "reason": reason or "backchannel", **(hold or {})})

    def on_dtmf(self, digit: str) -> None:
        if self.state is not State.ACTIVE:
            return
        self.recorder.event("dtmf", {"digit": digit})
        self.watchdog.caller_spoke()
        if self._interruptible:
            self.speaker.interrupt()
        self._spawn(self._reply(Dtmf(digit), None), "dtmf")

    def on_mark(self, name: str) -> None:
        self.playout.on_mark(name)

    # ------------------------------------------------------------------ the watchdog's verdicts

    def _active(self) -> bool:
        return self.state is State.ACTIVE

    def _engaged(self) -> bool:
        """Someone is talking or a turn is being answered: silence is not counted."""
        turn = self._turn_task
        return self.speaker.busy or (turn is not None and not turn.done()) or self.end_of_turn.speaking

    async def _on_silence(self, count: int) -> None:
        await self._reply(Silence(count), None)

    async def _on_time_up(self) -> None:
        await self._say_goodbye(TIME_LIMIT_LINE, "max-duration")

    async def end_politely(self, line: str, reason: str) -> bool:
        """Say `line` and hang up, as at the time limit (the server is shutting down). False: already ending (a
        goodbye under way, the time limit's say, is said whole: the drain waits for it)."""
        if self.state is not State.ACTIVE or self._saying_goodbye:
            return False
        await self._say_goodbye(line, reason)
        return True

    async def end_now(self, reason: str) -> bool:
        """Hang up at once, without (the rest of) a goodbye: the server is stopping and cannot wait any longer.
        False: closed already."""
        if self.state is State.CLOSED:
            return False
        await self._hang_up(reason)
        return True

    # ------------------------------------------------------------------ ending the call and transfers

    async def _say_goodbye(self, line: str, reason: str) -> None:
        # From now on no reply starts (`_reply`) and the caller cuts nothing (`_interruptible`): the goodbye is the
        # last thing said.
        self._saying_goodbye = True
        # A turn waiting for the speaker may start its reply while the cut one is being cleared from the carrier:
        # cut that one too, until nothing is being said, so the goodbye is said alone and last.
        while self.speaker.busy:
            cut = self.speaker.task
            await self.speaker.stop_talking()
            if self.speaker.task is cut:
                await self.speaker.finish()  # the cut reply may still be recording what the caller heard of it

        async def goodbye():
            yield TextDelta(line, uninterruptible=True)
            yield EndCall(reason)

        self.speaker.say(goodbye(), None, "goodbye")

    async def _act(self, action: EndCall | Transfer) -> None:
        if isinstance(action, EndCall):
            await self._hang_up(action.reason)
        elif isinstance(action, Transfer):
            await self._transfer(action)

    async def _transfer(self, action: Transfer) -> None:
        self.recorder.event("transfer", {"target": action.target, "summary": action.summary,
                                         "via": "carrier" if self.control else "none (no credentials)"})
        if self.control is not None:
            try:
                # Flow transfers also say how (warm/cold) and what the other side is told (SIP headers).
                options = getattr(action, "options", None)
                await asyncio.wait_for(
                    self.control.transfer(self.call_id, action.target, action.summary,
                                          **({"options": options} if options is not None else {})),
                    self.action_timeout_s)
            except Exception as exc:  # a port: whatever it raises, the caller must not be left in dead air
                self._action_failed(action, exc)
                return
        await self._hang_up("transferred", hang_up=False)

    def _action_failed(self, action: Transfer, exc: Exception) -> None:
        """A transfer the agent announced did not happen and the call goes on: recorded, then the brain tells the
        caller in one line (at once: no model request) and learns that it failed (`ActionFailed`)."""
        reason = self._note_failed_action("transfer", exc, target=action.target)
        if self.state is State.ACTIVE:
            failed = ActionFailed(action, reason, TRANSFER_FAILED_LINE)
            self._turn_task = self._spawn(self._reply(failed, None), "action-failed")

    def _note_failed_action(self, kind: str, exc: Exception, **detail) -> str:
        reason = "no answer within %.1f s" % self.action_timeout_s if isinstance(exc, TimeoutError) else str(exc)
        reason = reason or type(exc).__name__
        self.stats.action_failures += 1
        log.warning("call %s: %s failed: %r", self.call_id, kind, exc)
        if isinstance(exc, ProviderError):
            self._provider_failed(exc, "carrier")
        self.recorder.event("action_failed", {"action": kind, "error": reason[:300], **detail})
        return reason[:300]

    async def _hang_up(self, reason: str, hang_up: bool = True) -> None:
        """End the call after the goodbye was heard: over REST when we can, and by closing the stream in any case
        (a failed REST hang-up still ends the call: the carrier ends it when its stream closes)."""
        if self.state is State.CLOSED:
            return
        self.state = State.ENDING
        self.recorder.update_call(end_reason=reason)
        if hang_up and self.control is not None:
            try:
                await asyncio.wait_for(self.control.hang_up(self.call_id), self.action_timeout_s)
            except Exception as exc:  # a port: whatever it raises, the stream is closed below
                self._note_failed_action("hang_up", exc)
        await self._close()

    def _provider_failed(self, exc: ProviderError, stage: str) -> None:
        self.stats.provider_failures += 1
        log.warning("call %s: %s provider %s failed: %s", self.call_id, stage, exc.provider, exc)
        self.recorder.event("provider_failure", {"stage": stage, "provider": exc.provider, "error": str(exc)[:300]})


async def _line(text: str) -> AsyncIterator[BrainOutput]:
    yield TextDelta(text)

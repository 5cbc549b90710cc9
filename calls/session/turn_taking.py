"""Turn-taking policy: has the caller's turn ended, and is their speech over the agent's an interruption?

Two small strategy families, chosen per agent by name (`AgentSettings.end_of_turn`, `AgentSettings.interruption`)
from the registries below. A new strategy is a new class and a `register_*` call; the session needs no edit.

- `EndOfTurnStrategy` hears every 20 ms caller frame (`feed`, on the hot path), the STT's hints (`on_hint`) and its
  interim transcripts (`on_partial`), and says where the caller is, as the outcomes of `calls.pipeline.turns`:
  QUIET, SPEECH_START, SPEAKING, PAUSE, END_OF_TURN. A verdict reached off the frame path (a model that answers a
  few ms later) goes through the `end_turn` callback the session binds.
- `InterruptionStrategy` is asked, on each frame of caller speech while the agent is talking, whether to cut the
  agent off: INTERRUPT, NOT_AN_INTERRUPTION, or KEEP_LISTENING (undecided yet). A verdict reached elsewhere goes
  through the bound `interrupt` callback.

The mechanism (the VAD, the speech tracker and its pre-roll) is `calls.pipeline.turns.TurnDetector`; what is here
is policy on top of it.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable

from ..pipeline.turns import TurnDetector
from ..providers.base import SpeechHint
from .settings import AgentSettings

log = logging.getLogger("calls.session")

# Interruption verdicts (ints, like the frame outcomes: compared on the hot path, never allocated).
KEEP_LISTENING = 0  # undecided: ask again on the next frame
INTERRUPT = 1  # stop the agent now
NOT_AN_INTERRUPTION = 2  # the agent keeps talking (a cough, a backchannel, barge-in switched off)


def _unbound() -> None:
    """Stands in for a session callback until `bind` is called (a strategy used on its own, in a test)."""


# ---------------------------------------------------------------------------------------------- end of turn


class EndOfTurnStrategy(ABC):
    """Says when the caller's turn has ended.

    Besides `feed`, the session reads these about the caller's utterance (a `TurnDetector` provides them all):
    `frame_bytes` (the frame size `feed` takes), `speaking`, `voiced_ms` (voiced ms of the utterance under way,
    0 between utterances), `utterance_voiced_ms` (of the utterance that just ended: the session drops shorter
    than `min_speech_ms` as noise), `silence_ms` (since the last voiced frame), `last_voiced_at` (monotonic time
    of it: turn latency is measured from there) and `pop_preroll()` (the frames just before SPEECH_START).
    """

    _end_turn: Callable[[], None] = staticmethod(_unbound)

    def bind(self, end_turn: Callable[[], None]) -> None:
        """How to end the turn from outside `feed`/`on_hint`/`on_partial`, e.g. once a model's verdict arrives.
        Close the utterance first (as `TurnDetector.end_utterance`), then call it."""
        self._end_turn = end_turn

    @abstractmethod
    def feed(self, frame: bytes) -> int:
        """One frame of caller audio (hot path: synchronous, allocation-free); returns a `turns` outcome."""

    def on_hint(self, hint: SpeechHint) -> bool:
        """The STT provider's signal about the speech. True: the turn ended now (the utterance is closed)."""
        return False

    def on_partial(self, text: str) -> bool:
        """An interim transcript. True: the turn ended now (the utterance is closed)."""
        return False


class SilenceEndOfTurn(TurnDetector, EndOfTurnStrategy):
    """The turn ends after `end_silence_ms` of silence by our own VAD; the STT's hints are ignored.

    A `TurnDetector` itself, so `feed` on the hot path is the detector's own method: no call in between."""


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


def _silence(cls: type[SilenceEndOfTurn], backstop: bool = False) -> Callable[[AgentSettings, int], EndOfTurnStrategy]:
    def build(settings: AgentSettings, sample_rate: int) -> EndOfTurnStrategy:
        silence = settings.end_of_turn_max_silence_ms if backstop else settings.end_of_turn_silence_ms
        return cls(sample_rate, end_silence_ms=silence, speculate_ms=settings.speculate_ms)

    return build


#: name -> build(settings, sample_rate). "smart-turn" registers itself from `calls.session.smart_turn`.
END_OF_TURN_STRATEGIES: dict[str, Callable[[AgentSettings, int], EndOfTurnStrategy]] = {
    "silence": _silence(SilenceEndOfTurn),
    "silence+provider": _silence(SilenceOrProviderEndOfTurn),
    "provider": _silence(ProviderEndOfTurn, backstop=True),
}
DEFAULT_END_OF_TURN = "silence+provider"


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

    The session acts on INTERRUPT only, and only while the agent's speech may be interrupted (an uninterruptible
    sentence plays on whatever the strategy says)."""

    _interrupt: Callable[[], None] = staticmethod(_unbound)

    def bind(self, interrupt: Callable[[], None]) -> None:
        """How to interrupt from outside `on_speech`/`on_partial` (a verdict that arrives later)."""
        self._interrupt = interrupt

    def caller_started(self) -> None:
        """The caller began an utterance (the agent may or may not be talking): start deciding afresh."""

    @abstractmethod
    def on_speech(self, voiced_ms: int) -> int:
        """A frame of the caller's utterance, `voiced_ms` into it, while the agent talks (hot path: no allocation).
        Returns INTERRUPT, NOT_AN_INTERRUPTION or KEEP_LISTENING."""

    def on_partial(self, text: str) -> int:
        """An interim transcript of the caller's speech; same verdicts as `on_speech`."""
        return KEEP_LISTENING


class VoicedTimeInterruption(InterruptionStrategy):
    """The default: `min_ms` of voiced caller audio over the agent's speech interrupts it."""

    def __init__(self, min_ms: int) -> None:
        self.min_ms = min_ms

    def on_speech(self, voiced_ms: int) -> int:
        return INTERRUPT if voiced_ms >= self.min_ms else KEEP_LISTENING


class NoInterruption(InterruptionStrategy):
    """Barge-in switched off: the agent always finishes what it says."""

    def on_speech(self, voiced_ms: int) -> int:
        return NOT_AN_INTERRUPTION


#: name -> build(settings)
INTERRUPTION_STRATEGIES: dict[str, Callable[[AgentSettings], InterruptionStrategy]] = {
    "voiced-time": lambda settings: VoicedTimeInterruption(settings.barge_in_min_ms),
    "never": lambda settings: NoInterruption(),
}
DEFAULT_INTERRUPTION = "voiced-time"


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

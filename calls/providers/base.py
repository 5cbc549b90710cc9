"""The three provider contracts every speech stack implements: STT, brain (flow or LLM) and TTS.

The call session talks only to these classes, so a provider can be swapped by settings without the session
learning which vendor (or local engine) it serves. Audio crossing these interfaces is always 16-bit signed
little-endian mono PCM at the rate the session asks for (8 kHz for narrowband carriers, 16 kHz for wideband).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from .sentences import split_sentences  # noqa: F401  (where the speaker, summaries and warm-up find it)


class ProviderError(Exception):
    """A provider failed. `permanent` errors (bad key, bad config) are not worth retrying within the call."""

    def __init__(self, message: str, *, provider: str = "", permanent: bool = False) -> None:
        super().__init__(message)
        self.provider = provider
        self.permanent = permanent


# ---------------------------------------------------------------- speech-to-text


@dataclass(slots=True)
class SpeechHint:
    """A provider-side signal about the caller's speech (e.g. Deepgram SpeechStarted / speech_final)."""

    kind: str  # "speech_started" | "end_of_turn"


class STTStream(ABC):
    """One call's speech-to-text stream.

    The session feeds every inbound frame with `send_audio` (hot path: must not block). At a pause it asks for
    `transcript()` — the best final text for *all* audio since the last `commit()`. It may ask speculatively,
    during the end-of-turn silence, and ask again if the caller resumes; only `commit()` starts a new utterance.
    """

    name = "stt"
    #: Time to first byte of the latest request, in ms (for STT: end-of-turn request → final transcript), or None
    #: before the first one. Read by the session after each turn for `TurnMetrics.providers`.
    last_ttfb_ms: float | None = None

    def __init__(
        self,
        sample_rate: int,
        options: dict | None = None,
        on_partial: Callable[[str], None] | None = None,
        on_hint: Callable[[SpeechHint], None] | None = None,
    ) -> None:
        self.sample_rate = sample_rate
        self.options = options or {}
        self.on_partial = on_partial
        self.on_hint = on_hint

    async def start(self) -> None:
        """Open connections, load models. Called once before the first frame."""

    @abstractmethod
    def send_audio(self, pcm: bytes) -> None:
        """Queue one frame of caller audio. Never blocks."""

    @abstractmethod
    async def transcript(self) -> str:
        """Final text of the current utterance (everything since the last commit)."""

    @abstractmethod
    def commit(self) -> None:
        """The current utterance was accepted as a turn; the next one starts after it."""

    async def peek(self) -> str | None:
        """What the caller has said so far in the current utterance, if it can be had now without delaying anyone
        (None: not now). Optional: the session peeks while the caller talks over the agent, to tell a real
        interruption from a backchannel sooner. Providers with interim results (`on_partial`) need not."""
        return None

    def expect(self, phrases: str | None) -> None:
        """What the caller's current utterance likely is, or None: no expectation. The session says so while the
        caller talks over the agent (the language's backchannels, "Mm-hmm. Uh-huh. Okay."). Optional: a recogniser
        that can be biased (Whisper's initial prompt) uses it, so a hum is written "Mm-hmm" rather than as words."""

    @property
    def biased(self) -> bool:
        """The current utterance is transcribed under an `expect` that changes its words (toward the expected
        phrases, perhaps by another model): once the words proved it a turn, the session asks again with
        `expect(None)`, so what is stored and answered is the recogniser's own reading, with the agent's
        vocabulary. False (the default): `expect` changes nothing, the transcript stands."""
        return False

    def confidence(self, text: str) -> float | None:
        """How sure the recogniser was of `text`, one of its latest transcripts or peeks of this utterance, as the
        mean log-probability per token (Whisper's avg_logprob: 0 is certain; words it made up from a hum score
        about -0.4 and lower). None: not known (the default, and for a text it did not just return)."""
        return None

    async def close(self) -> None:
        """Release connections. Safe to call twice."""


# ---------------------------------------------------------------- brain


@dataclass(slots=True)
class TextDelta:
    """A piece of reply text; sentences are cut by the session, so deltas may be any size."""

    text: str
    uninterruptible: bool = False


@dataclass(slots=True)
class EndCall:
    reason: str = "completed"


@dataclass(slots=True)
class Transfer:
    target: str
    summary: str = ""


@dataclass(slots=True)
class TransferOptions:
    mode: str = "cold"  # "cold" | "warm"
    intent: str = ""
    slots: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # extra custom headers from the flow


@dataclass(slots=True)
class DetailedTransfer(Transfer):
    """A `Transfer` that also says how (warm or cold) and what to tell the other side (carriers.transfer)."""

    options: TransferOptions = field(default_factory=TransferOptions)


def is_sip(target: str) -> bool:
    return target.strip().lower().startswith(("sip:", "sips:"))


@dataclass(slots=True)
class StillWorking:
    """Not speech: the brain is alive and waiting on slow work of its own (a tool call), for up to `grace_s` more.

    A stall guard (`FallbackBrain`) would otherwise take the quiet for a stalled model. Yield it with the longest
    the work may take before starting it, and with `grace_s=0` when it is done: from then on the next output is due
    within the usual budget again. The brain answers for the caller's silence meanwhile (a filler line). The
    speaker ignores it."""

    grace_s: float = 0.0


@dataclass(slots=True)
class ToolUsed:
    """Not speech: the brain called a tool with these arguments. The speaker records it (CallEvent `tool_call`), so
    what a call did can be checked afterwards (agent test suites)."""

    name: str
    arguments: dict


BrainOutput = TextDelta | EndCall | Transfer | StillWorking | ToolUsed


@dataclass(slots=True)
class UserTurn:
    text: str
    #: `time.monotonic()` of the caller's last voiced frame (None: not known). The caller's silence is counted
    #: from there: a brain wrapper may say a filler before it grows too long (`FallbackBrain`). Timing, not content:
    #: two turns with the same words are equal.
    caller_stopped_at: float | None = field(default=None, compare=False)


@dataclass(slots=True)
class Dtmf:
    digit: str


@dataclass(slots=True)
class Silence:
    """The caller said nothing for the agent's silence timeout; `count` re-prompts so far in a row."""

    count: int


@dataclass(slots=True)
class ActionFailed:
    """An action the brain asked for and the agent announced (a transfer, a hang-up) could not be carried out.

    The brain tells the caller in one short line — `line`, the session's wording, unless it has its own (a flow's
    `on_error` node) — remembers that it failed (an LLM sees it as the tool's result), and the conversation goes
    on from where it was."""

    action: EndCall | Transfer
    reason: str
    line: str = ""


BrainInput = UserTurn | Dtmf | Silence | ActionFailed


@dataclass
class BrainState:
    """What a brain needs to resume a conversation (stored on the Call)."""

    node: str | None = None
    variables: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CallContext:
    """What one call offers its brain at the start (see `Brain.bind`)."""

    agent: Any  # the calls.models.Agent
    call: Any = None  # the calls.models.Call; None for the agent a hand-over brings in mid-call
    recorder: Any = None  # where sources and events go (`note_sources(hits)`, `event(kind, detail)`), if anywhere
    #: The brain stands in for one that failed (a fallback's secondary), so it must not count on the LLM.
    as_fallback: bool = False


class Brain(ABC):
    """Decides what the agent says. The flow engine and LLMs implement it."""

    name = "brain"
    state: BrainState
    #: Request → first output of the latest reply, in ms (None for brains that make no request).
    last_ttfb_ms: float | None = None

    @classmethod
    def for_agent(cls, agent, state: BrainState | None) -> Brain:
        """This kind of brain for one call of `agent` (how `chains` builds the brain it finds in `registry`),
        resuming `state` where it can."""
        raise NotImplementedError(f"{cls.__name__} cannot be built from an agent")

    def bind(self, call: CallContext) -> None:
        """Take what this call offers — the agent's tools, knowledge base, variables, where to record sources and
        events — before the greeting. Each kind of brain takes what it uses; a wrapper passes the call on to the
        brains it wraps. Nothing by default."""

    @abstractmethod
    def greeting(self) -> AsyncIterator[BrainOutput]:
        """What to say when the call connects."""

    @abstractmethod
    def respond(self, event: BrainInput) -> AsyncIterator[BrainOutput]:
        """React to a caller turn, a key press, silence or a failed action. Cancelling the iteration must be safe
        (barge-in)."""

    def heard(self, full_text: str, heard_text: str, interrupted: bool) -> None:
        """Record what the caller actually heard of the last reply, so context holds only that."""

    async def close(self) -> None:
        """Release connections."""


# ---------------------------------------------------------------- text-to-speech

class TTSProvider(ABC):
    """Speech synthesis. One instance per call; `sample_rate` is what the session wants back."""

    name = "tts"
    #: Request → first audio of the latest `synthesize` call, in ms, or None before the first one.
    last_ttfb_ms: float | None = None

    def __init__(self, sample_rate: int, voice: str = "", options: dict | None = None) -> None:
        self.sample_rate = sample_rate
        self.voice = voice
        self.options = options or {}

    async def start(self) -> None:
        """Open connections, warm up."""

    @abstractmethod
    def synthesize(self, text: str) -> AsyncIterator[bytes]:
        """PCM16LE chunks for one sentence, first chunk as early as possible."""

    async def close(self) -> None:
        """Release connections."""

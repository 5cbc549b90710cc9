"""The call's record of its turns: who said what, what the caller heard of the agent, where each turn sits in the
call recording, and the latency of each reply. Writes are queued on the `CallRecorder` (off the audio path).

Recording offsets: caller speech is placed by the inbound clock of `CallAudioRecorder` (the VAD confirms speech
some voiced frames in, and ends the turn after its trailing silence, so both ends are pulled back by that much);
agent speech by where playout put its chunks, cut back when a `clear` drops what had not been played.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from ..pipeline.observers import TurnTimer
from ..pipeline.playout import Utterance
from ..pipeline.recording import CallAudioRecorder
from ..providers.base import Brain
from ..recorder import CallRecorder, TurnRecord

log = logging.getLogger("calls.session")


@dataclass(slots=True)
class CallerSpeech:
    """A caller utterance that ended a turn, waiting for its transcript."""

    started_at: datetime
    audio_start_ms: int | None = None
    audio_end_ms: int | None = None


@dataclass(slots=True)
class ReplyTrack:
    """One reply being said: when it began and the span of the recording its audio covers (so far)."""

    started_at: datetime
    audio_start_ms: int | None = None
    audio_end_ms: int | None = None


class TurnLog:
    def __init__(
        self,
        *,
        call_id: str,
        recorder: CallRecorder,
        brain: Brain,
        providers: dict[str, object],
        audio_recorder: CallAudioRecorder | None = None,
    ) -> None:
        """`providers`: stage name ("stt", "brain", "tts") -> provider, for each reply's time-to-first-byte."""
        self.call_id = call_id
        self.recorder = recorder
        self.brain = brain
        self.audio_recorder = audio_recorder
        self._providers = tuple(providers.items())
        self._caller_started_at = timezone.now()
        self._caller_audio_start: int | None = None
        self._reply: ReplyTrack | None = None  # the reply whose audio playout is sending

    # ------------------------------------------------------------------ the caller

    def caller_speech_started(self, voiced_ms: int) -> None:
        """The VAD confirmed speech, `voiced_ms` of it: the utterance began that much earlier."""
        self._caller_started_at = timezone.now()
        if self.audio_recorder is not None:
            self._caller_audio_start = max(0, self.audio_recorder.position_ms - voiced_ms)

    def caller_speech_ended(self, silence_ms: int) -> CallerSpeech:
        """The turn ended, `silence_ms` after the last voiced frame: the speech itself ended that much earlier."""
        speech = CallerSpeech(self._caller_started_at)
        start = self._caller_audio_start
        if self.audio_recorder is not None and start is not None:
            speech.audio_start_ms = start
            speech.audio_end_ms = max(start, self.audio_recorder.position_ms - silence_ms)
        return speech

    def caller_turn(self, speech: CallerSpeech, text: str) -> None:
        self.recorder.turn(TurnRecord(role="caller", text=text, started_at=speech.started_at, ended_at=timezone.now(),
                                      audio_start_ms=speech.audio_start_ms, audio_end_ms=speech.audio_end_ms))

    # ------------------------------------------------------------------ the agent

    def begin_reply(self) -> ReplyTrack:
        """A reply starts: the audio playout sends from now on belongs to it."""
        reply = self._reply = ReplyTrack(timezone.now())
        return reply

    def on_audio_sent(self, pcm: bytes) -> None:
        """Playout put a chunk on the wire: place it in the recording, and extend the reply's span there."""
        start = self.audio_recorder.outbound(pcm)
        reply = self._reply
        if reply is not None:
            if reply.audio_start_ms is None:
                reply.audio_start_ms = start
            reply.audio_end_ms = self.audio_recorder.outbound_end_ms

    def cut_recording(self) -> None:
        """A clear is coming: drop the agent audio not yet played, before the cut reply's turn is recorded (the
        cancelled reply records itself before the clear task runs)."""
        if self.audio_recorder is None:
            return
        end = self.audio_recorder.truncate_outbound()
        reply = self._reply
        if reply is not None and reply.audio_start_ms is not None:
            reply.audio_end_ms = max(reply.audio_start_ms, min(reply.audio_end_ms, end))

    def agent_turn(self, reply: ReplyTrack, spoken: list[Utterance], timer: TurnTimer | None) -> None:
        """The reply ended (said, cut or cancelled): tell the brain what the caller heard of it, then record it with
        the brain's state after that and the turn's latency."""
        if not spoken:
            return
        full = " ".join(u.text for u in spoken)
        heard = " ".join(t for t in (u.heard_text() for u in spoken) if t)
        interrupted = any(not u.fully_heard for u in spoken)
        self.brain.heard(full, heard, interrupted)
        if timer is not None:
            timer.providers = self.provider_ttfb()
            timer.llm = self.llm_usage()
        self.recorder.turn(
            TurnRecord(
                role="agent", text=full, heard_text=heard, interrupted=interrupted,
                started_at=reply.started_at, ended_at=timezone.now(),
                node=(getattr(self.brain, "state", None) and self.brain.state.node) or "",
                metrics=timer.as_metrics() if timer is not None else None,
                audio_start_ms=reply.audio_start_ms, audio_end_ms=reply.audio_end_ms,
                # A copy: the brain goes on changing its state while this write waits in the recorder's queue.
                brain_state=copy.deepcopy(brain_state(self.brain)),
                timer=timer,
            )
        )
        if timer is not None:
            log.debug("call %s turn latency %s", self.call_id, timer.as_metrics())

    def llm_usage(self) -> dict:
        """The model and token usage of the brain's last request (an LLM brain reports them; a flow brain not)."""
        active = getattr(self.brain, "active", self.brain)
        out = {}
        if getattr(active, "model", None):
            out["model"] = active.model
        if getattr(active, "last_usage", None):
            out["usage"] = active.last_usage
        return out

    def provider_ttfb(self) -> dict:
        """Each provider's time to first byte on this turn, under the name of the one that actually served."""
        out = {}
        for stage, provider in self._providers:
            ttfb = getattr(provider, "last_ttfb_ms", None)
            if ttfb is not None:
                out[stage] = {"provider": getattr(getattr(provider, "active", provider), "name", provider.name),
                              "ttfb_ms": round(ttfb, 1)}
        return out


def brain_state(brain: Brain) -> dict:
    """The brain's position (flow node, variables) as stored with a turn and on the call."""
    state = getattr(brain, "state", None)
    if state is None:
        return {}
    return {"node": state.node, "variables": state.variables}

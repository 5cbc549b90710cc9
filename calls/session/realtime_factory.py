"""Builds a RealtimeCallSession for an agent whose brain is a speech-to-speech model, and the cascaded session its
call continues in if the model cannot go on."""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Awaitable, Callable

from ..db import run_db
from ..models import Call
from ..pipeline.ports import CallControl, CallStart, MediaEncoder
from ..pipeline.recording import CallAudioRecorder
from ..providers.base import BrainState, CallContext
from ..providers.chains import FailureReporter, build_providers
from ..providers.realtime.brain import RealtimeBrain
from ..recorder import CallRecorder
from .call_session import CallSession
from .realtime_session import RealtimeCallSession
from .settings import AgentSettings
from .turn_taking import end_of_turn_for, interruption_for
from .vocabulary import call_vocabulary

log = logging.getLogger("calls.session")

#: How long the fallback waits for the call's hints (two queries; the caller hears nothing meanwhile).
VOCABULARY_WAIT_S = 0.5


def is_speech_to_speech(brain_class) -> bool:
    return bool(getattr(brain_class, "speech_to_speech", False))


def build_realtime_session(
    call: Call,
    start: CallStart,
    serializer: MediaEncoder,
    send: Callable[[str], Awaitable[None]],
    close: Callable[[], Awaitable[None]],
    control: CallControl | None,
    recorder: CallRecorder,
    settings: AgentSettings,
    audio: CallAudioRecorder | None,
    on_failure: FailureReporter,
    resumed: bool,
) -> RealtimeCallSession:
    agent = call.agent
    brain = RealtimeBrain.for_agent(agent, None, variables=call.variables or {})
    brain.bind(CallContext(agent, call, recorder))

    async def cascade(history: list[dict], greeted: bool) -> CallSession:
        """The agent as a cascaded one: its STT and TTS, and the realtime config's fallback brain (an LLM, by
        default, which is handed the conversation so far and the realtime prompt)."""
        fallback = copy.copy(agent)  # never saved: only what build_providers reads is changed
        fallback.llm_provider = brain.config.fallback_brain
        options = dict(agent.provider_options or {})
        llm = dict(options.get("llm") or {})
        llm.setdefault("system_prompt", brain.config.prompt)
        fallback.provider_options = {**options, "llm": llm}
        state = BrainState(node="llm", variables={"messages": history}) if history else None
        providers = build_providers(fallback, start.sample_rate, state, on_failure=on_failure,
                                    vocabulary=await _vocabulary(agent, call))
        providers.brain.bind(CallContext(fallback, call, recorder))
        return CallSession(
            call_id=start.call_id, settings=settings, serializer=serializer, send=send, close=close,
            stt=providers.stt, tts=providers.tts, brain=providers.brain, recorder=recorder,
            sample_rate=start.sample_rate, control=control, fallback_tts=providers.fallback_tts,
            audio_recorder=audio, end_of_turn=end_of_turn_for(settings, start.sample_rate),
            interruption=interruption_for(settings), resumed=greeted,
        )

    return RealtimeCallSession(
        call_id=start.call_id, settings=settings, brain=brain, serializer=serializer, send=send, close=close,
        recorder=recorder, sample_rate=start.sample_rate, codec=start.codec, cascade=cascade, control=control,
        audio_recorder=audio, resumed=resumed,
    )


async def _vocabulary(agent, call: Call) -> list[str] | None:
    """The recognition hints of the call the cascade's STT takes over: read only now, as a speech-to-speech call's
    start reads none (its model hears the caller itself: `factory.hears_words`). Hints only help: without them
    (the database failing, or too slow while the caller waits for the fallback) the call goes on."""
    try:
        return await asyncio.wait_for(run_db(call_vocabulary, agent, call), VOCABULARY_WAIT_S)
    except Exception as exc:
        log.warning("call %s: no recognition hints for the fallback STT: %r", call.carrier_call_id, exc)
        return None

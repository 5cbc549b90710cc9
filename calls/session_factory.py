"""Builds a CallSession for an answered stream: providers from the agent's settings, recorder, call control."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from django.conf import settings

from .carriers.base import CallControl, CallStart, MediaSerializer
from .flows.brain import FlowBrain
from .flows.demo import DEMO_FLOW
from .live import publisher_for
from .models import Agent, Call
from .providers.base import Brain, BrainState
from .providers.registry import provider_class
from .recorder import CallRecorder
from .session import AgentSettings, CallSession


def agent_settings(agent: Agent) -> AgentSettings:
    return AgentSettings(
        barge_in_enabled=agent.barge_in_enabled,
        barge_in_min_ms=agent.barge_in_min_ms,
        end_of_turn_silence_ms=agent.end_of_turn_silence_ms,
        silence_timeout_s=agent.silence_timeout_s,
        max_reprompts=agent.max_reprompts,
        max_duration_s=agent.max_duration_s,
        chunk_ms=settings.TTS_CHUNK_MS,
        mark_every_ms=settings.MARK_EVERY_MS,
    )


def build_brain(agent: Agent, state: BrainState | None) -> Brain:
    if agent.llm_provider == "flow":
        return FlowBrain(agent.flow or DEMO_FLOW, agent.greeting, state, max_reprompts=agent.max_reprompts)
    cls = provider_class("brain", agent.llm_provider)
    return cls.for_agent(agent, state)


def build_session(
    call: Call,
    start: CallStart,
    serializer: MediaSerializer,
    send: Callable[[str], Awaitable[None]],
    close: Callable[[], Awaitable[None]],
    control: CallControl | None,
    next_turn_index: int = 0,
) -> CallSession:
    agent = call.agent
    options = agent.provider_options or {}
    rate = start.sample_rate
    stt = provider_class("stt", agent.stt_provider)(rate, options.get("stt", {}))
    tts = provider_class("tts", agent.tts_provider)(rate, agent.voice, options.get("tts", {}))
    fallback_tts = tts if agent.tts_provider == "espeak" else provider_class("tts", "espeak")(rate, "en-us", {})
    saved = call.brain_state or {}
    state = BrainState(node=saved.get("node"), variables=saved.get("variables", {})) if saved.get("node") else None
    recorder = CallRecorder(call.pk, call.workspace_id, on_written=publisher_for(call))
    recorder.start(next_index=next_turn_index)
    return CallSession(
        call_id=start.call_id,
        settings=agent_settings(agent),
        serializer=serializer,
        send=send,
        close=close,
        stt=stt,
        tts=tts,
        brain=build_brain(agent, state),
        recorder=recorder,
        sample_rate=rate,
        control=control,
        fallback_tts=fallback_tts,
    )

"""Builds a CallSession for an answered stream: providers from the agent's settings, recorder, call control."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from django.conf import settings

from knowledge.records import save_turn_sources

from ..call_variables import agent_for_call, call_values
from ..live import publisher_for
from ..models import Agent, Call
from ..pipeline.ports import CallControl, CallStart, MediaEncoder
from ..pipeline.recording import CallAudioRecorder
from ..providers.base import Brain, BrainState, CallContext, ProviderError
from ..providers.chains import build_brain as _build_brain
from ..providers.chains import build_providers
from ..providers.registry import provider_class
from ..recorder import CallRecorder
from ..telemetry.call import CallTelemetry
from .call_session import CallSession
from .realtime_factory import build_realtime_session, is_speech_to_speech
from .realtime_session import RealtimeCallSession
from .settings import AgentSettings
from .turn_taking import AGENT_DEFAULT_END_OF_TURN, AGENT_DEFAULT_INTERRUPTION, end_of_turn_for, interruption_for


def agent_settings(agent: Agent) -> AgentSettings:
    # Turn-taking strategies (`turn_taking`) by name. The end of turn is the Agent's `end_of_turn` field (the
    # dashboard's choice); `provider_options["turn_taking"]` holds the rarer extras:
    # {"interruption": "words", "<strategy name>": {its options}}, e.g. {"interruption": "words", "words":
    # {"min_words": 3}} or {"interruption": "voiced-time"}; an "end_of_turn" there is used only for a strategy the
    # field cannot name (one registered in code).
    options = agent.provider_options or {}
    turn_taking = dict(options.get("turn_taking") or {})
    stt_options = options.get("stt") if isinstance(options.get("stt"), dict) else {}
    audio_options = options.get("audio") if isinstance(options.get("audio"), dict) else {}
    named = turn_taking.pop("end_of_turn", None)
    end_of_turn = agent.end_of_turn or AGENT_DEFAULT_END_OF_TURN
    if named and named not in _END_OF_TURN_CHOICES:
        end_of_turn = named
    return AgentSettings(
        barge_in_enabled=agent.barge_in_enabled,
        barge_in_min_ms=agent.barge_in_min_ms,
        end_of_turn_silence_ms=agent.end_of_turn_silence_ms,
        end_of_turn_max_silence_ms=agent.end_of_turn_max_silence_ms,
        smart_turn_silence_ms=agent.smart_turn_silence_ms,
        silence_timeout_s=agent.silence_timeout_s,
        max_reprompts=agent.max_reprompts,
        max_duration_s=agent.max_duration_s,
        chunk_ms=settings.TTS_CHUNK_MS,
        mark_every_ms=settings.MARK_EVERY_MS,
        end_of_turn=end_of_turn,
        interruption=turn_taking.pop("interruption", AGENT_DEFAULT_INTERRUPTION),
        # The agent's language; an STT "language" option (agents made before the field) still wins.
        language=str(stt_options.get("language") or getattr(agent, "language", "") or "en"),
        turn_taking_options=turn_taking,
        # provider_options["audio"] = {"noise_suppression": "deepfilternet", "noise_suppression_options": {...}}: off
        # unless the agent asks.
        noise_suppression=str(audio_options.get("noise_suppression") or ""),
        noise_suppression_options=dict(audio_options.get("noise_suppression_options") or {}),
    )


_END_OF_TURN_CHOICES = {value for value, _ in Agent._meta.get_field("end_of_turn").choices}


def build_brain(agent: Agent, state: BrainState | None) -> Brain:
    """The agent's own brain, unwrapped (the session gets it inside a fallback chain: `build_providers`)."""
    return _build_brain(agent, state)


def failure_reporter(recorder: CallRecorder):
    """Fallback wrappers report each provider failure here: one CallEvent per failure, call continues."""

    def report(stage: str, error: ProviderError) -> None:
        recorder.event("provider_failure", {
            "stage": stage, "provider": error.provider, "error": str(error)[:300],
            "permanent": error.permanent, "fallback": True,
        })

    return report


def hears_words(agent: Agent) -> bool:
    """Whether the agent's calls run our STT (the cascaded pipeline), which the call's vocabulary hints are for. A
    speech-to-speech brain hears the caller itself: its session takes no vocabulary, so the consumer need not read
    one (two queries and the knowledge base's text scanned, on the DB thread at each call start); the cascade it
    falls back to reads the hints then (`realtime_factory`)."""
    return not is_speech_to_speech(provider_class("brain", agent.llm_provider))


def build_session(
    call: Call,
    start: CallStart,
    serializer: MediaEncoder,
    send: Callable[[str], Awaitable[None]],
    close: Callable[[], Awaitable[None]],
    control: CallControl | None,
    next_turn_index: int = 0,
    watch_records: Callable[[Callable | None], Callable] | None = None,
    vocabulary: list[str] | None = None,
) -> CallSession | RealtimeCallSession:
    """`watch_records` wraps the live-monitor publisher of the call's records (the browser phone's page shows the
    transcript this way); the carrier edge supplies it, so this module knows no carrier. `vocabulary`: the call's
    recognition hints (`vocabulary.call_vocabulary`, read on the database thread by the caller)."""
    # The agent as this call sees it: {{variables}} rendered into its prompt and first message, overrides applied.
    agent = agent_for_call(call.agent, call)
    rate = start.sample_rate
    saved = call.brain_state or {}
    # Per-call variables (outbound, campaigns, built-ins) fill the flow's {placeholders}; what the brain saved wins.
    state = BrainState(node=saved.get("node"), variables={**call_values(call.agent, call),
                                                          **saved.get("variables", {})})
    on_written = publisher_for(call)
    if watch_records is not None:
        on_written = watch_records(on_written)
    telemetry = CallTelemetry(start.call_id, call_pk=call.pk, agent=agent.name, agent_id=agent.pk, carrier=call.carrier,
                              providers={"stt": agent.stt_provider, "brain": agent.llm_provider, "tts": agent.tts_provider})
    recorder = CallRecorder(call.pk, call.workspace_id, on_written=on_written, save_sources=save_turn_sources,
                            telemetry=telemetry)
    recorder.start(next_index=next_turn_index)
    recorder.update_call(flow_version=agent.flow_version)  # the flow version this call runs
    if is_speech_to_speech(provider_class("brain", agent.llm_provider)):
        audio = CallAudioRecorder(rate, max_duration_s=agent.max_duration_s) if agent.record_audio else None
        return build_realtime_session(call, start, serializer, send, close, control, recorder, agent_settings(agent),
                                      audio, failure_reporter(recorder), resumed=next_turn_index > 0)
    providers = build_providers(agent, rate, state, on_failure=failure_reporter(recorder), vocabulary=vocabulary)
    # Flow nodes' tools, LLM, knowledge base and hand-overs; the LLM's search_knowledge tool; where sources go.
    providers.brain.bind(CallContext(agent, call, recorder))
    audio = CallAudioRecorder(rate, max_duration_s=agent.max_duration_s) if agent.record_audio else None
    session_settings = agent_settings(agent)
    return CallSession(
        call_id=start.call_id,
        settings=session_settings,
        serializer=serializer,
        send=send,
        close=close,
        stt=providers.stt,
        tts=providers.tts,
        brain=providers.brain,
        recorder=recorder,
        sample_rate=rate,
        control=control,
        fallback_tts=providers.fallback_tts,
        audio_recorder=audio,
        end_of_turn=end_of_turn_for(session_settings, rate),
        interruption=interruption_for(session_settings),
        # Turns already stored and a flow position saved: a reconnected stream, the greeting was said.
        resumed=next_turn_index > 0 and (bool(saved.get("node")) or agent.llm_provider != "flow"),
    )

"""How an agent's settings become a call's providers: chosen provider first, the embedded one behind it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from calls.flows.brain import FlowBrain
from calls.providers.base import ProviderError, TextDelta, UserTurn
from calls.providers.chains import build_providers
from calls.providers.fallback import FallbackBrain, FallbackSTT, FallbackTTS
from calls.providers.llm.openai_brain import OpenAIBrain
from calls.providers.stt.deepgram import DeepgramSTT
from calls.providers.stt.whisper_local import WhisperSTT
from calls.providers.tts.elevenlabs import ElevenLabsTTS
from calls.providers.tts.espeak_local import EspeakTTS
from calls.session.factory import failure_reporter


def agent(**overrides) -> SimpleNamespace:
    fields = dict(stt_provider="whisper", llm_provider="flow", tts_provider="espeak", provider_options={},
                  voice="en-us", greeting="Hello!", flow={}, max_reprompts=2,
                  system_prompt="", llm_model="", llm_base_url="", llm_temperature=None, tools=[],
                  end_call_enabled=True, transfer_targets={})
    return SimpleNamespace(**{**fields, **overrides})


def cloud_agent(**options) -> SimpleNamespace:
    return agent(stt_provider="deepgram", llm_provider="openai", tts_provider="elevenlabs",
                 voice="AbCdEfGhIjKlMnOpQrSt", provider_options=options)


def test_the_embedded_stack_is_used_unwrapped():
    providers = build_providers(agent(), 8000, None)
    assert type(providers.stt) is WhisperSTT and type(providers.tts) is EspeakTTS
    assert type(providers.brain) is FlowBrain and providers.fallback_tts is providers.tts


def test_cloud_providers_are_wrapped_with_the_embedded_ones_behind():
    providers = build_providers(cloud_agent(stt={"model": "nova-2"}, llm={"model": "gpt-x"}), 16000, None)
    stt, tts, brain = providers.stt, providers.tts, providers.brain
    assert isinstance(stt, FallbackSTT) and type(stt.primary) is DeepgramSTT and type(stt.secondary) is WhisperSTT
    assert stt.primary.options == {"model": "nova-2", "language": "en-US"} and stt.sample_rate == 16000
    assert isinstance(tts, FallbackTTS) and type(tts.primary) is ElevenLabsTTS
    assert tts.primary.voice_id == "AbCdEfGhIjKlMnOpQrSt"
    assert providers.fallback_tts is tts.secondary and tts.secondary.voice == "en-us"
    assert isinstance(brain, FallbackBrain) and type(brain.primary) is OpenAIBrain
    assert brain.primary.model == "gpt-x" and type(brain.secondary) is FlowBrain


def test_the_fallback_section_configures_the_chain():
    options = {"fallback": {"brain": "end", "line": "Bye for now.", "tts_first_audio_s": 0.5, "stt_deadline_s": 1.2}}
    providers = build_providers(cloud_agent(**options), 8000, None)
    assert providers.brain.secondary is None and providers.brain.line == "Bye for now."
    assert providers.tts.first_audio_s == 0.5 and providers.stt.deadline_s == 1.2


@pytest.mark.asyncio
async def test_each_failure_is_reported_with_its_stage(settings):
    settings.OPENAI_API_KEY = ""
    reports: list[tuple[str, ProviderError]] = []
    providers = build_providers(cloud_agent(), 8000, None, on_failure=lambda stage, e: reports.append((stage, e)))
    outputs = [out async for out in providers.brain.respond(UserTurn("hello"))]
    assert isinstance(outputs[0], TextDelta) and outputs[0].text.startswith("Sorry")
    assert [(stage, e.provider, e.permanent) for stage, e in reports] == [("brain", "openai", True)]


def test_the_session_factory_records_failures_as_call_events():
    events = []
    recorder = SimpleNamespace(event=lambda kind, detail: events.append((kind, detail)))
    failure_reporter(recorder)("tts", ProviderError("HTTP 500", provider="elevenlabs"))
    assert events == [("provider_failure", {"stage": "tts", "provider": "elevenlabs", "error": "HTTP 500",
                                            "permanent": False, "fallback": True})]


def test_the_dashboard_offers_the_labelled_providers_of_the_registry(monkeypatch):
    from calls.providers import registry
    from dashboard.forms import AgentForm

    assert registry.choices("stt") == [("whisper", "Whisper (embedded, offline)"), ("deepgram", "Deepgram (cloud)")]
    assert registry.choices("brain") == [("flow", "Flow (embedded state machine, no LLM)"),
                                         ("openai", "OpenAI (cloud LLM)"),
                                         ("openai-realtime", "OpenAI Realtime (speech-to-speech)")]
    assert registry.choices("tts") == [("piper", "Piper (embedded neural voice, offline)"),
                                       ("espeak", "eSpeak NG (embedded, offline)"),
                                       ("elevenlabs", "ElevenLabs (cloud)")]
    monkeypatch.setitem(registry.STT, "scripted", "tests.pipeline_fakes.ScriptedSTT")  # usable, never offered
    assert [name for name, _ in registry.choices("stt")] == ["whisper", "deepgram"]
    for field, kind in (("stt_provider", "stt"), ("llm_provider", "brain"), ("tts_provider", "tts")):
        assert list(AgentForm.base_fields[field].choices) == registry.choices(kind)

"""The embedded neural voice: Piper through its real engine and model, and through a real call session."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from calls.providers.base import ProviderError
from calls.providers.chains import _fallback_voice
from calls.providers.tts import piper_local
from calls.providers.tts.espeak_local import EspeakTTS, espeak_voice
from calls.providers.tts.piper_engine import DEFAULT_VOICE, available_voices, get_piper
from calls.providers.tts.piper_local import PiperTTS, piper_voice_name, synthesis_options
from calls.session.call_session import CallSession
from calls.session.settings import AgentSettings
from tests.pipeline_fakes import ScriptedSTT
from tests.session.helpers import Carrier, KeepingRecorder, ScriptBrain, TextSerializer, until

SENTENCE = "Thanks for calling Bright Smile Dental, how can I help you today?"


def _collect(tts, text: str) -> list[bytes]:
    async def run() -> list[bytes]:
        await tts.start()
        return [chunk async for chunk in tts.synthesize(text)]

    return asyncio.run(run())


def _samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def test_the_packaged_voice_is_installed_and_speaks_at_its_own_rate():
    assert DEFAULT_VOICE in available_voices()
    engine = get_piper("joe")  # the short name is the same voice
    assert engine is get_piper(DEFAULT_VOICE)
    assert engine.sample_rate == 22050 and engine.language == "en-us"
    audio = engine.synthesize("Hello there.")
    assert audio.dtype == np.float32 and 0.3 < audio.size / engine.sample_rate < 3.0


@pytest.mark.parametrize("rate", [8000, 16000])
def test_provider_yields_audible_speech_at_the_session_rate(rate):
    piper_local._cache.clear()
    pcm = b"".join(_collect(PiperTTS(rate, DEFAULT_VOICE), SENTENCE))
    audio = _samples(pcm)
    seconds = audio.size / rate
    assert 2.0 < seconds < 6.0, seconds  # 12 words at a natural pace, at `rate` (a wrong rate is 2.75x off)
    assert np.sqrt(np.mean(audio**2)) > 1000  # speech, not near-silence
    assert np.abs(audio).max() < 0.9 * 32767  # the default volume (0.8, plus resampling overshoot) leaves headroom
    edge = rate * 40 // 1000  # silence at the ends was trimmed
    assert np.abs(audio[:edge]).max() > 64 and np.abs(audio[-edge:]).max() > 64


def test_speed_option_changes_the_length_and_repeats_come_from_the_cache():
    piper_local._cache.clear()
    slow = b"".join(_collect(PiperTTS(8000, "joe", {"speed": 0.7}), SENTENCE))
    fast = b"".join(_collect(PiperTTS(8000, "joe", {"speed": 1.4}), SENTENCE))
    assert len(slow) > 1.3 * len(fast)  # 2x the length scale; trimmed silences and the comma pause do not scale
    hits = piper_local._cache.hits
    again = b"".join(_collect(PiperTTS(8000, "joe", {"speed": 1.4}), SENTENCE))
    assert again == fast and piper_local._cache.hits == hits + 1


def test_options_are_clamped():
    assert synthesis_options({"speed": 100})["length_scale"] == 0.5
    assert synthesis_options({"length_scale": 1.3, "volume": 7})["length_scale"] == 1.3
    assert synthesis_options({"volume": 7})["volume"] == 1.0


def test_espeak_voice_names_map_to_piper_or_fail_so_espeak_speaks():
    assert piper_voice_name("en-us") == DEFAULT_VOICE  # the old default voice of every agent
    assert piper_voice_name("en-gb+f3") == DEFAULT_VOICE
    assert piper_voice_name("joe") == "joe"
    with pytest.raises(ProviderError) as err:
        piper_voice_name("de")  # no German Piper voice is installed: espeak must speak it
    assert err.value.permanent
    assert espeak_voice("en_US-joe-medium") == "en-us"  # espeak as a Piper agent's fallback: same language
    assert EspeakTTS(8000, "en_US-joe-medium").voice == "en-us"


def test_a_piper_agents_fallback_voice_is_espeak_in_its_language():
    class Agent:
        tts_provider, voice = "piper", "de"

    assert _fallback_voice(Agent(), {}) == "de"
    Agent.tts_provider, Agent.voice = "elevenlabs", "21m00Tcm4TlvDq8ikWAM"
    assert _fallback_voice(Agent(), {}) == "en-us"  # a cloud voice id means nothing to espeak


@pytest.mark.asyncio
async def test_the_greeting_reaches_the_carrier_in_piper_audio():
    carrier, recorder = Carrier(), KeepingRecorder()
    brain = ScriptBrain(greeting="Dr. Smith can see you at 3 p.m. tomorrow.", answer="Sure.")

    async def close() -> None:
        pass

    tts = PiperTTS(8000, DEFAULT_VOICE)
    session = CallSession(call_id="CA1", settings=AgentSettings(), serializer=TextSerializer(), send=carrier.send,
                          close=close, stt=ScriptedSTT(8000), tts=tts, brain=brain, recorder=recorder,
                          sample_rate=8000)
    carrier.playout = session.playout
    await session.start()
    try:
        await until(lambda: any(t.role == "agent" for t in recorder.turns), timeout=20)
        # The whole greeting was one sentence for the TTS, and about two seconds of it went to the carrier.
        assert [t.text for t in recorder.turns] == ["Dr. Smith can see you at 3 p.m. tomorrow."]
        assert 1.5 < carrier.audio_bytes() / 16000 < 5.0
        assert tts.last_ttfb_ms is not None
    finally:
        await session.stop()


def test_a_piper_agent_gets_piper_with_espeak_behind_it():
    from types import SimpleNamespace

    from calls.providers.chains import build_providers
    from calls.providers.fallback import FallbackTTS

    agent = SimpleNamespace(stt_provider="whisper", llm_provider="flow", tts_provider="piper", provider_options={},
                            voice="en_US-joe-medium", greeting="Hello!", flow={}, max_reprompts=2)
    providers = build_providers(agent, 8000, None)
    assert isinstance(providers.tts, FallbackTTS) and type(providers.tts.primary) is PiperTTS
    assert providers.fallback_tts is providers.tts.secondary and providers.fallback_tts.voice == "en-us"


def test_a_long_sentence_is_made_in_two_parts_for_sooner_first_audio():
    from calls.providers.tts.piper_local import clauses

    assert clauses("Hello, there.") == ["Hello, there."]  # short: one request
    assert clauses("We accept most major dental insurance plans, including Delta Dental, Cigna and Aetna.") == [
        "We accept most major dental insurance plans,", "including Delta Dental, Cigna and Aetna."]
    piper_local._cache.clear()
    chunks = _collect(PiperTTS(8000, DEFAULT_VOICE), "We accept most major dental insurance plans, including Cigna.")
    assert len(chunks) == 3 and set(chunks[1]) == {0}  # first clause, the comma's pause, the rest


@pytest.mark.django_db
def test_warm_up_puts_a_piper_agents_opening_lines_in_the_cache():
    from calls import warmup
    from calls.models import Agent, Workspace

    workspace = Workspace.objects.create(name="W", slug="w")
    Agent.objects.create(workspace=workspace, name="A", greeting="Hello there.", llm_provider="openai")
    piper_local._cache.clear()
    assert warmup._cache_opening_lines() == 2  # the greeting, at 8 and 16 kHz
    hits = piper_local._cache.hits
    assert _collect(PiperTTS(8000, DEFAULT_VOICE), "Hello there.") and piper_local._cache.hits == hits + 1

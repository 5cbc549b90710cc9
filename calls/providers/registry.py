"""Providers by name. Classes are imported lazily, so an unused vendor SDK costs nothing at start-up."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from voicebot.env import env_bool

STT = {
    "whisper": "calls.providers.stt.whisper_local.WhisperSTT",
    "deepgram": "calls.providers.stt.deepgram.DeepgramSTT",
}
TTS = {
    "espeak": "calls.providers.tts.espeak_local.EspeakTTS",
    "elevenlabs": "calls.providers.tts.elevenlabs.ElevenLabsTTS",
}
BRAINS = {
    "flow": "calls.flows.brain.FlowBrain",
    "openai": "calls.providers.llm.openai_brain.OpenAIBrain",
}

# Benchmark-only providers with fixed latencies (bench/synthetic.py). Offered only when the bench starts a server
# with VOICEBOT_SYNTHETIC_PROVIDERS=1; production never sets it, so no agent can choose them there.
if env_bool("VOICEBOT_SYNTHETIC_PROVIDERS", False):
    STT["synthetic"] = "bench.synthetic.SyntheticSTT"
    TTS["synthetic"] = "bench.synthetic.SyntheticTTS"
    BRAINS["synthetic"] = "bench.synthetic.SyntheticBrain"


def provider_class(kind: str, name: str):
    table = {"stt": STT, "tts": TTS, "brain": BRAINS}[kind]
    try:
        path = table[name]
    except KeyError:
        raise ImproperlyConfigured(f"unknown {kind} provider {name!r}; choose one of {sorted(table)}") from None
    return import_string(path)

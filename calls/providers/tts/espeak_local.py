"""Local text-to-speech with the packaged libespeak-ng: no account, no network, ~10 ms per sentence.

A sentence is synthesised whole (espeak is far faster than real time), resampled from espeak's 22050 Hz to the
session's rate, trimmed of leading/trailing silence and yielded as one chunk: splitting it would only add
awaits, because the session gathers a sentence's chunks and re-frames them itself (TTS_CHUNK_MS).
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator

import numpy as np

from calls.providers.base import ProviderError, TTSProvider

from .espeak_engine import get_espeak

DEFAULT_VOICE = "en-us"
DEFAULT_RATE_WPM = 175
KEEP_SILENCE_MS = 30  # silence kept at each end; the rest is cut (it only delays the first audio)
SILENCE_LEVEL = 64  # |sample| at or below this counts as silence (about -54 dBFS)
CACHE_SIZE = 256


class _LRU:
    """A small thread-safe LRU of synthesised sentences (greetings and re-prompts repeat across calls)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[tuple, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple) -> bytes | None:
        with self._lock:
            value = self._data.get(key)
            if value is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: tuple, value: bytes) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


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


class EspeakTTS(TTSProvider):
    name = "espeak"

    def __init__(self, sample_rate: int, voice: str = "", options: dict | None = None) -> None:
        super().__init__(sample_rate, voice or DEFAULT_VOICE, options)
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

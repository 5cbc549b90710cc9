"""Caller speech for the end-of-turn tests: espeak-ng (the project's caller-speech synthesis) at a call's rate."""

from __future__ import annotations

import numpy as np
import soxr

from calls.providers.tts.espeak_engine import get_espeak


def caller_says(text: str, rate: int = 16000, voice: str = "en-us", wpm: int = 170) -> bytes:
    """`text` in the caller's voice as PCM16LE at `rate` (no silence before or after)."""
    pcm, native = get_espeak().synthesize(text, voice=voice, rate_wpm=wpm)
    return soxr.resample(np.frombuffer(pcm, dtype="<i2"), native, rate).astype("<i2").tobytes()


def quiet(ms: int, rate: int = 16000) -> bytes:
    return bytes(rate * 2 * ms // 1000)

"""Synthetic PCM16LE for the fakes and tests: a tone that any energy VAD calls speech, and silence."""

from __future__ import annotations

import math
import sys
from array import array


def tone(ms: int, rate: int, freq: float = 440.0, amplitude: int = 8000) -> bytes:
    n = rate * ms // 1000
    samples = array("h", (int(amplitude * math.sin(2 * math.pi * freq * i / rate)) for i in range(n)))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def silence(ms: int, rate: int) -> bytes:
    return b"\x00\x00" * (rate * ms // 1000)


def frames(pcm: bytes, rate: int, ms: int = 20) -> list[bytes]:
    size = rate * ms // 1000 * 2
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]


def peak(pcm: bytes) -> int:
    samples = array("h", pcm[: len(pcm) - len(pcm) % 2])
    if sys.byteorder == "big":
        samples.byteswap()
    return max((abs(s) for s in samples), default=0)

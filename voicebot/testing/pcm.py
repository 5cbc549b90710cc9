"""Synthetic PCM16LE for the harnesses and tests: a tone any energy VAD calls speech, speech-like audio a real VAD
calls speech, silence, and frame helpers. (Spoken words are speech.py's.)"""

from __future__ import annotations

import math
import struct
import sys
from array import array


def tone(ms: int, rate: int, freq: float = 440.0, amplitude: int = 8000) -> bytes:
    n = rate * ms // 1000
    samples = array("h", (int(amplitude * math.sin(2 * math.pi * freq * i / rate)) for i in range(n)))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def voiced(ms: int, rate: int = 8000, f0: float = 140.0) -> bytes:
    """Speech-like audio (harmonics of a glottal pitch, syllable-rate modulation) that a real VAD calls speech."""
    n = rate * ms // 1000
    out = []
    for i in range(n):
        t = i / rate
        env = 0.6 + 0.4 * math.sin(2 * math.pi * 4 * t)
        s = sum(math.sin(2 * math.pi * f0 * k * t) / k for k in range(1, 12))
        out.append(int(max(-32767, min(32767, 6000 * env * s))))
    return struct.pack(f"<{n}h", *out)


def silence(ms: int, rate: int = 8000) -> bytes:
    return b"\x00\x00" * (rate * ms // 1000)


def frames(pcm: bytes, rate: int, ms: int = 20) -> list[bytes]:
    size = rate * ms // 1000 * 2
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]


def peak(pcm: bytes) -> int:
    samples = array("h", pcm[: len(pcm) - len(pcm) % 2])
    if sys.byteorder == "big":
        samples.byteswap()
    return max((abs(s) for s in samples), default=0)

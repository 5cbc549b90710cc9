"""Fakes for pipeline tests. They subclass the real provider bases, so the session cannot tell them apart."""

from __future__ import annotations

import math
import struct

from calls.providers.base import STTStream, TTSProvider


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


class ScriptedSTT(STTStream):
    """Returns the next scripted transcript for each utterance; counts audio it was given."""

    name = "scripted"
    script: list[str] = []

    def __init__(self, sample_rate, options=None, on_partial=None, on_hint=None):
        super().__init__(sample_rate, options, on_partial, on_hint)
        self.audio = 0
        self._turn = 0

    def send_audio(self, pcm: bytes) -> None:
        self.audio += len(pcm)

    async def transcript(self) -> str:
        return self.script[self._turn] if self._turn < len(self.script) else ""

    def commit(self) -> None:
        self._turn += 1


class ToneTTS(TTSProvider):
    """60 ms of audio per word, so heard-text arithmetic is easy to predict."""

    name = "tone"

    async def synthesize(self, text: str):
        words = len(text.split())
        yield b"\x10\x00" * (self.sample_rate * 60 // 1000) * words

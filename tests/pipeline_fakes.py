"""Fakes for pipeline tests. They subclass the real provider bases, so the session cannot tell them apart.

(The synthetic caller audio these tests feed them, `voiced` and `silence`, is in voicebot/testing/pcm.py.)"""

from __future__ import annotations

from calls.providers.base import STTStream, TTSProvider


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

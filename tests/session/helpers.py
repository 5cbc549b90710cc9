"""Small stand-ins for the session's collaborators: a carrier sink that can play marks back, a recorder that
keeps what it is given, a brain that says scripted lines."""

from __future__ import annotations

import asyncio

from calls.pipeline.ports import MediaEncoder
from calls.providers.base import TTSProvider
from voicebot.testing.in_process import KeepingRecorder, ScriptBrain  # noqa: F401  (re-exported for the tests)
from voicebot.testing.pcm import silence, voiced  # noqa: F401  (re-exported for the tests)

RATE = 8000
BYTES_PER_MS = RATE * 2 // 1000


class TextSerializer(MediaEncoder):
    """Readable wire messages: `audio:<bytes>`, `mark:<name>`, `clear`."""

    def encode_audio(self, pcm: bytes) -> str:
        return f"audio:{len(pcm)}"

    def encode_mark(self, name: str) -> str:
        return f"mark:{name}"

    def encode_clear(self) -> str:
        return "clear"


class Carrier:
    """The far end of the media socket. With `plays=True` it echoes every mark as if the caller heard the audio
    before it (on the next loop turn, as a real echo would come later)."""

    def __init__(self, plays: bool = True) -> None:
        self.sent: list[str] = []
        self.plays = plays
        self.playout = None  # set by the test: where echoed marks go

    async def send(self, text: str) -> None:
        self.sent.append(text)
        if self.plays and text.startswith("mark:") and self.playout is not None:
            asyncio.get_running_loop().call_soon(self.playout.on_mark, text[5:])

    def audio_bytes(self) -> int:
        return sum(int(t[6:]) for t in self.sent if t.startswith("audio:"))


class WordTTS(TTSProvider):
    """60 ms of audio per word, in one chunk."""

    name = "words"

    def __init__(self, sample_rate: int = RATE) -> None:
        super().__init__(sample_rate)
        self.said: list[str] = []

    async def synthesize(self, text: str):
        self.said.append(text)
        yield b"\x10\x00" * (self.sample_rate * 60 // 1000) * len(text.split())


async def until(predicate, timeout: float = 3.0) -> None:
    """Let the loop run until `predicate()` holds (fails the test after `timeout`)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)


def frames(pcm: bytes, frame_bytes: int) -> list[bytes]:
    return [pcm[i : i + frame_bytes] for i in range(0, len(pcm), frame_bytes)]


def line_from_the_start(session, ms: int = 100) -> None:
    """A carrier streams the line from the call's start, while the agent greets; the noise gate learns the room
    from it and starts no utterance on the line's first frame (`calls.pipeline.voice_gate`). Harnesses whose caller
    speaks in the stream's first frames give the session that much line (digital silence) first."""
    frame = bytes(getattr(session, "sample_rate", 8000) * 2 // 50)
    for _ in range(ms // 20):
        session.on_audio(frame)


def gate_hears_line(strategy, ms: int = 100) -> None:
    """`line_from_the_start` for an end-of-turn strategy fed directly: its noise gate hears the line first."""
    if getattr(strategy, "gate", None) is not None:
        frame = bytes(strategy.frame_bytes)
        for _ in range(ms // 20):
            strategy.gate.is_speech(frame)

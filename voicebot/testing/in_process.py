"""A call session in one process, without sockets: a carrier that plays what it is sent in real time, as Twilio and
Telnyx do, and remembers every sample it played; a recorder that keeps what it is given; a brain that says scripted
lines. The session tests and the turn-taking benchmark (bench/turntaking.py) drive a real CallSession with these.

Audio goes on the wire as hex (`HexSerializer`), so the far end holds the very samples; `NumberedTTS` fills each
20 ms of a reply with one number (1, 2, 3 ... across the call), so "the caller heard the whole answer" is "every
number of the answer was played".
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque

import numpy as np

from calls.pipeline.ports import MediaEncoder
from calls.providers.base import Brain, BrainState, TextDelta, TTSProvider

RATE = 8000
FRAME_BYTES = RATE * 2 // 50  # 20 ms


class HexSerializer(MediaEncoder):
    def encode_audio(self, pcm: bytes) -> str:
        return "audio:" + pcm.hex()

    def encode_mark(self, name: str) -> str:
        return f"mark:{name}"

    def encode_clear(self) -> str:
        return "clear"


class NumberedTTS(TTSProvider):
    """Three 20 ms frames a word; every sample of a frame holds the frame's number, counted across the call."""

    name = "numbered"

    def __init__(self, sample_rate: int = RATE) -> None:
        super().__init__(sample_rate)
        self.next = 1
        self.numbers: dict[str, range] = {}  # sentence -> the frame numbers of its audio

    async def synthesize(self, text: str):
        frames = 3 * len(text.split())
        first = self.next
        self.next += frames
        self.numbers[text] = range(first, self.next)
        samples = np.repeat(np.arange(first, self.next, dtype="<i2"), FRAME_BYTES // 2)
        yield samples.tobytes()


class PlayingCarrier:
    """Plays 20 ms of its buffer every 20 ms; echoes a mark once the audio before it has played; `clear` drops the
    buffer and echoes the pending marks at once (the carriers do; the playout ignores those)."""

    def __init__(self) -> None:
        self.playout = None  # where echoed marks go (set by the test)
        self.buffer = bytearray()
        self.marks: deque[tuple[int, str]] = deque()  # (stream offset at which it is reached, name)
        self.played = 0  # bytes played, all told
        self.heard: Counter[int] = Counter()  # frame number -> samples of it played
        self.log: list[tuple[float, str, int]] = []  # (loop time, "audio" | "mark" | "clear" | "play", bytes)
        self.sequence: list[int | str] = []  # frame numbers in the order played, "clear" where one came
        self._task: asyncio.Task | None = None

    async def send(self, text: str) -> None:
        now = asyncio.get_running_loop().time()
        kind, _, body = text.partition(":")
        if kind == "audio":
            pcm = bytes.fromhex(body)
            self.buffer += pcm
            self.log.append((now, "audio", len(pcm)))
        elif kind == "mark":
            self.marks.append((self.played + len(self.buffer), body))
            self.log.append((now, "mark", 0))
        elif kind == "clear":
            self.log.append((now, "clear", len(self.buffer)))
            self.sequence.append("clear")
            self.buffer.clear()
            while self.marks:
                self._echo(self.marks.popleft()[1])

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            next_at += 0.02
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            piece = bytes(self.buffer[:FRAME_BYTES])
            del self.buffer[:FRAME_BYTES]
            if piece:
                self.played += len(piece)
                values, counts = np.unique(np.frombuffer(piece, dtype="<i2"), return_counts=True)
                self.heard.update(dict(zip(values.tolist(), counts.tolist())))
                self.sequence.extend(int(v) for v in np.frombuffer(piece, dtype="<i2")[::80])
                self.log.append((loop.time(), "play", len(piece)))
            while self.marks and self.marks[0][0] <= self.played:
                self._echo(self.marks.popleft()[1])

    def _echo(self, name: str) -> None:
        if self.playout is not None:
            asyncio.get_running_loop().call_soon(self.playout.on_mark, name)

    # ------------------------------------------------------------------ what the caller heard

    def heard_all(self, numbers) -> bool:
        """Every frame of `numbers` was played whole (all its samples, at least once)."""
        per_frame = FRAME_BYTES // 2
        return all(self.heard[n] >= per_frame for n in numbers)

    def missing(self, numbers) -> list[int]:
        per_frame = FRAME_BYTES // 2
        return [n for n in numbers if self.heard[n] < per_frame]

    def in_order(self) -> bool:
        """Between clears, frames were played in their order (a resume may go back a little, after a clear)."""
        last = 0
        for item in self.sequence:
            if item == "clear":
                last = 0
            elif item < last:
                return False
            else:
                last = item
        return True

    def times(self, kind: str) -> list[float]:
        return [t for t, k, _ in self.log if k == kind]


class KeepingRecorder:
    """Duck-types `CallRecorder`: keeps turns, events and call updates in lists."""

    def __init__(self) -> None:
        self.turns: list = []
        self.events: list[tuple[str, dict]] = []
        self.updates: list[dict] = []
        self.on_written = None

    def turn(self, record) -> int:
        self.turns.append(record)
        return len(self.turns) - 1

    def event(self, kind: str, detail: dict | None = None) -> None:
        self.events.append((kind, detail or {}))

    def update_call(self, **fields) -> None:
        self.updates.append(fields)

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.events]


class ScriptBrain(Brain):
    """Greets, then answers every event with `answer`; remembers what it was told was heard."""

    name = "script"

    def __init__(self, greeting: str = "Hello.", answer: str = "Okay.") -> None:
        self.state = BrainState(node="start", variables={})
        self._greeting = greeting
        self.answer = answer
        self.events: list = []
        self.heard_calls: list[tuple[str, str, bool]] = []

    async def greeting(self):
        yield TextDelta(self._greeting)

    async def respond(self, event):
        self.events.append(event)
        yield TextDelta(self.answer)

    def heard(self, full_text: str, heard_text: str, interrupted: bool) -> None:
        self.heard_calls.append((full_text, heard_text, interrupted))

"""A phone line over the real ASGI app, in real time: the caller sends a 20 ms frame every 20 ms (speech, then line
silence, as a carrier does), marks are echoed as they arrive, and each turn measures the dead air the caller hears —
from their last voiced frame to the agent's first reply frame."""

from __future__ import annotations

import asyncio
import json
import time

from channels.testing import WebsocketCommunicator

from tests.badinput.wire import Wire
from voicebot.asgi import application
from voicebot.testing.pcm import silence, voiced

FRAME_S = 0.02
SILENCE = silence(20)


class PhoneLine:
    def __init__(self, token: str, carrier: str = "twilio") -> None:
        self.carrier = carrier
        self.wire = Wire(carrier, token)
        self.comm: WebsocketCommunicator | None = None
        self.media_at: list[float] = []  # arrival time of every agent audio frame
        self.close_code: int | None = None
        self.gaps: list[float] = []
        self.reply_starts: list[int] = []  # index in media_at of each `say`'s first answer frame

    async def open(self) -> PhoneLine:
        self.comm = WebsocketCommunicator(application, f"/media/{self.carrier}")
        connected, _ = await self.comm.connect()
        assert connected
        await self._send(self.wire.start())
        return self

    async def hang_up(self) -> None:
        await self._send(self.wire.stop())
        await self.comm.disconnect(timeout=10)
        if self.comm.future.done() and not self.comm.future.cancelled():
            assert self.comm.future.exception() is None, repr(self.comm.future.exception())

    async def say(self, ms: int = 300, limit_s: float = 6.0) -> float:
        """Speak `ms` of speech, then stay silent until the agent answers; returns (and records) the dead air in
        seconds, or infinity when no answer came within `limit_s`."""
        pcm = voiced(ms)
        frame = len(SILENCE)
        await self._paced([pcm[i : i + frame] for i in range(0, len(pcm), frame)])
        stopped_at = time.monotonic()
        heard_before = len(self.media_at)
        self.reply_starts.append(heard_before)
        await self._silence_until(lambda: len(self.media_at) > heard_before, limit_s)
        gap = self.media_at[heard_before] - stopped_at if len(self.media_at) > heard_before else float("inf")
        self.gaps.append(gap)
        return gap

    def longest_silence_in_reply(self, n: int) -> float:
        """The longest gap between two agent frames of the answer to the n-th `say` (up to the next `say`): the dead
        air the caller hears after the answer has begun. Frames arrive up to the playout's lead ahead of being
        played, so this slightly overstates it."""
        start = self.reply_starts[n]
        end = self.reply_starts[n + 1] if n + 1 < len(self.reply_starts) else len(self.media_at)
        frames = self.media_at[start:end]
        return max((b - a for a, b in zip(frames, frames[1:], strict=False)), default=0.0)

    async def listen(self, quiet_s: float = 0.25, limit_s: float = 8.0) -> None:
        """Line silence until the agent has said nothing for `quiet_s` (its reply finished)."""
        await self._silence_until(lambda: time.monotonic() - (self.media_at[-1] if self.media_at else 0) >= quiet_s
                                  and bool(self.media_at), limit_s)

    async def pause(self, seconds: float) -> None:
        await self._silence_until(lambda: False, seconds)

    # ------------------------------------------------------------------ plumbing

    async def _paced(self, frames: list[bytes]) -> None:
        next_at = time.monotonic()
        for frame in frames:
            for text in self.wire.media(frame):
                await self._send(text)
            await self._pump()
            next_at += FRAME_S
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def _silence_until(self, done, limit_s: float) -> None:
        deadline = time.monotonic() + limit_s
        next_at = time.monotonic()
        while time.monotonic() < deadline and self.close_code is None:
            for text in self.wire.media(SILENCE):
                await self._send(text)
            await self._pump()
            if done():
                return
            next_at += FRAME_S
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def _send(self, text: str) -> None:
        await self.comm.send_input({"type": "websocket.receive", "text": text})

    async def _pump(self) -> None:
        while not self.comm.output_queue.empty():
            out = await self.comm.receive_output(timeout=1)
            if out["type"] == "websocket.close":
                self.close_code = out.get("code")
                continue
            msg = json.loads(out["text"])
            if msg.get("event") == "media":
                self.media_at.append(time.monotonic())
            elif msg.get("event") == "mark":
                await self._send(self.wire.mark(msg["mark"]["name"]))

"""Simulated callers for the scale tests: a plain call, and one whose media socket drops mid-call."""

from __future__ import annotations

import asyncio
import secrets
import time

from twilio.request_validator import RequestValidator

from voicebot.testing.carrier.caller import CallResult, SimulatedCaller, Step, TurnResult
from voicebot.testing.carrier.peers import StreamTarget, TwilioPeer

from .stack import PUBLIC_BASE_URL, Stack


def steps(*texts: str) -> list[Step]:
    return [Step.spoken(t, 8000) for t in texts]


def peer(stack: Stack, base_url: str, to: str) -> TwilioPeer:
    return TwilioPeer(base_url, to, auth_token=stack.auth_token, public_base_url=PUBLIC_BASE_URL)


async def call(stack: Stack, base_url: str, to: str, *texts: str, timeout_s: float = 60) -> CallResult:
    return await SimulatedCaller(peer(stack, base_url, to), steps(*texts), timeout_s=timeout_s).run()


def local_stream(base_url: str, public_url: str, auth_token: str) -> tuple[str, dict]:
    """(URL on our local server, headers) for a stream URL as Twilio would open it, signed as Twilio signs."""
    path = public_url.split("/", 3)[3]
    local = base_url.replace("http://", "ws://")
    return f"{local}/{path}", {"X-Twilio-Signature": RequestValidator(auth_token).compute_signature(public_url, {})}


class DroppingCaller(SimulatedCaller):
    """Talks `before` on a first stream, then loses it like a network failure does — the TCP connection reset, no
    close frame, no `stop` — and, once the carrier is told over REST to reconnect (the fake Twilio hands over the
    new stream), talks `after` on a new stream to `resume_base_url`: another process, as a load balancer may."""

    def __init__(self, stack: Stack, base_url: str, resume_base_url: str, to: str, before: list[Step],
                 after: list[Step], timeout_s: float = 60) -> None:
        super().__init__(peer(stack, base_url, to), before, timeout_s=timeout_s)
        self.stack = stack
        self.resume_base_url = resume_base_url
        self.before, self.after = before, after
        self.heard_before_drop = 0  # agent replies heard on the first stream
        self.reconnect = None

    async def run(self) -> CallResult:
        stream = await self.peer.answer()
        self.result.call_id = self.peer.call_id
        await self._leg(stream, self.before, drop=True)
        self.reconnect = await asyncio.to_thread(self.stack.twilio.reconnects.get, timeout=20)
        url, headers = local_stream(self.resume_base_url, self.reconnect.stream_url, self.stack.auth_token)
        self.peer.stream_sid = "MZ" + secrets.token_hex(16)  # a new stream of the same call
        await self._leg(StreamTarget(url=url, params=self.reconnect.params, headers=headers), self.after, drop=False)
        return self.result

    async def _leg(self, stream: StreamTarget, script: list[Step], drop: bool) -> None:
        self._closed = asyncio.Event()
        self._playback.clear()
        self._marks.clear()
        self._outbox.clear()
        self._current, self._reply_started = None, None
        self.result.closed_by = ""
        self.steps = script
        async with self._streaming(stream) as ws:
            if drop:
                await asyncio.wait_for(self._talk(), self.timeout_s)
                ws.transport.abort()
            else:
                await asyncio.wait_for(self._script(), self.timeout_s)

    async def _talk(self) -> None:
        """Each step after the agent has finished speaking, and wait for its whole reply (no stop at the end)."""
        await self._wait_agent_idle()
        self.heard_before_drop += 1
        for step in self.steps:
            turn = TurnResult(text=step.text)
            self.result.turns.append(turn)
            self._current = turn
            self._speak(step.pcm)
            await self._wait_outbox_empty()
            self._reply_started, self._awaiting_reply_since = None, time.monotonic()
            await self._wait_agent_idle()
            self.heard_before_drop += 1

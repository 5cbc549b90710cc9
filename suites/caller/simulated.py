"""A simulated phone call: plays the carrier's part over a real socket and measures what a caller would notice.

Product code, not a test harness: agent test suites (suites.runner) place their calls with it; the harnesses
(voicebot.testing.carrier, simulate_call, the benchmark) reuse it from here.

The carrier wire format lives in a `CarrierPeer` (one per carrier); this module runs the clock. Every 20 ms it
sends one frame of caller audio (speech or line silence, as a carrier does) and plays 20 ms of the agent's audio
from a playback buffer, echoing marks once the audio before them has played and dropping the buffer on `clear`,
as the carriers do.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import websockets

from calls.pipeline.audio import get_codec

from .peers import CarrierPeer, StreamTarget
from .speech import caller_speech

FRAME_MS = 20


@dataclass
class Step:
    """One caller action: speak `pcm` (after the agent finished, or `barge_after_ms` into its reply) or a key,
    `pause_ms` of line silence first; a step with neither words nor a key is only that pause (a caller gone quiet)."""

    text: str = ""
    pcm: bytes = b""
    digit: str = ""
    barge_after_ms: int | None = None
    pause_ms: int = 0

    @classmethod
    def spoken(cls, text: str, rate: int, barge_after_ms: int | None = None, **voice) -> Step:
        """The caller saying `text`, sent at `rate`; `voice`: caller_speech's options (voice=, noise_snr_db=...),
        by default the harnesses' default caller voice."""
        return cls(text=text, pcm=caller_speech(text, rate, **voice), barge_after_ms=barge_after_ms)


@dataclass
class TurnResult:
    text: str
    latency_ms: float | None = None  # last voiced frame sent → first reply audio received
    barge_in: bool = False
    clear_ms: float | None = None  # speech onset → clear received
    frames_after_clear: int = 0


@dataclass
class CallResult:
    call_id: str = ""
    greeting_ms: float | None = None
    turns: list[TurnResult] = field(default_factory=list)
    closed_by: str = ""
    close_code: int | None = None
    agent_audio_ms: int = 0
    error: str = ""


class SimulatedCaller:
    def __init__(self, peer: CarrierPeer, steps: list[Step], idle_ms: int = 700, timeout_s: float = 60.0,
                 hang_up_at_end: bool = True, next_step: Callable[[], Awaitable[Step | None]] | None = None) -> None:
        """`next_step`: once `steps` are done, asked for each further step (None: the caller is done) — a caller
        that decides what to say from what it heard."""
        self.peer = peer
        self.steps = steps
        self.next_step = next_step
        self.idle_ms = idle_ms
        self.timeout_s = timeout_s
        self.hang_up_at_end = hang_up_at_end
        self.result = CallResult()
        self.codec = get_codec(peer.codec, peer.sample_rate)
        self._frame = self.codec.frame_bytes(FRAME_MS)
        self._silence = self.codec.silence(FRAME_MS)
        self._outbox: deque[bytes] = deque()  # caller frames waiting to be sent
        self._playback = bytearray()  # agent audio received, not yet "played"
        self._marks: deque[tuple[int, str]] = deque()  # (byte offset in playback, name)
        self._played_total = 0
        self._agent_last_audio = 0.0
        self._reply_started: float | None = None  # first agent audio after our last utterance
        self._awaiting_reply_since: float | None = None
        self._current: TurnResult | None = None
        self._closed = asyncio.Event()
        self._cleared_at: float | None = None
        self._stale_window = False  # between a clear and the end of the barge-in utterance
        self._onset_at: float | None = None
        self._ws = None
        # The script waits on these instead of polling every frame (a bench runs hundreds of callers per process):
        self._audio_arrived = asyncio.Event()  # set on every agent audio message
        self._drained = asyncio.Event()  # set when the ticker sends the last queued caller frame

    # ------------------------------------------------------------------ public

    async def run(self, on_answered: Callable[[str], Awaitable[None]] | None = None) -> CallResult:
        """The whole call; `on_answered(call_id)` runs once the webhook was answered, before the media stream opens
        (a test suite marks its call there, before the call can end)."""
        stream = await self.peer.answer()
        self.result.call_id = self.peer.call_id
        if on_answered is not None:
            await on_answered(self.peer.call_id)
        # The pause before the receiver stops lets the agent's answer to our `stop` (its close) arrive.
        async with self._streaming(stream, linger_s=0.05) as ws:
            try:
                await asyncio.wait_for(self._script(), self.timeout_s)
            except TimeoutError:
                self.result.error = "timeout"
            except websockets.ConnectionClosed:
                pass
            finally:
                if not self._closed.is_set() and self.hang_up_at_end:
                    try:
                        await ws.send(self.peer.stop_message())
                        self.result.closed_by = "caller"
                    except websockets.ConnectionClosed:
                        pass
        return self.result

    @contextlib.asynccontextmanager
    async def _streaming(self, stream: StreamTarget, linger_s: float = 0.0):
        """The media socket open, the opening messages sent, the clock and the receiver running (stopped on exit,
        the receiver `linger_s` after the clock)."""
        async with websockets.connect(stream.url, max_size=2**20, additional_headers=stream.headers) as ws:
            self._ws = ws
            for message in self.peer.opening_messages(stream):
                await ws.send(message)
            self._greeting_from = self._awaiting_reply_since = time.monotonic()
            receiver = asyncio.create_task(self._receive(ws))
            ticker = asyncio.create_task(self._tick(ws))
            try:
                yield ws
            finally:
                ticker.cancel()
                if linger_s:
                    await asyncio.sleep(linger_s)
                receiver.cancel()
                await asyncio.gather(ticker, receiver, return_exceptions=True)

    # ------------------------------------------------------------------ script

    async def _script(self) -> None:
        await self._wait_agent_idle()
        for i in itertools.count():
            step = await self._step_at(i)
            if step is None or self._closed.is_set():
                break
            # A barge-in talks over the reply to this step: do not wait for that reply to finish.
            wait_for_reply = not (i + 1 < len(self.steps) and self.steps[i + 1].barge_after_ms is not None)
            if step.pause_ms:
                await self._pause(step.pause_ms)
            if not step.digit and not step.pcm:
                continue
            if step.digit:
                await self._ws.send(self.peer.dtmf_message(step.digit))
                self._reply_started = None
                self._awaiting_reply_since = time.monotonic()
                await self._wait_agent_idle()
                continue
            turn = TurnResult(text=step.text, barge_in=step.barge_after_ms is not None)
            self.result.turns.append(turn)
            if step.barge_after_ms is not None:
                await self._wait_agent_speaking(step.barge_after_ms)
                self._cleared_at = None
                self._onset_at = None
            self._current = turn
            self._speak(step.pcm)
            await self._wait_outbox_empty()
            self._stale_window = False
            self._reply_started = None
            self._awaiting_reply_since = time.monotonic()
            if wait_for_reply:
                await self._wait_agent_idle()
        # The agent may still be ending the call (goodbye); give it the chance to close.
        try:
            await asyncio.wait_for(self._closed.wait(), 3.0)
        except TimeoutError:
            pass

    async def _step_at(self, i: int) -> Step | None:
        if i < len(self.steps):
            return self.steps[i]
        if self.next_step is None or self._closed.is_set():
            return None
        return await self.next_step()

    async def _pause(self, ms: int) -> None:
        """Say nothing for `ms` (the clock goes on sending line silence), or until the agent hangs up."""
        try:
            await asyncio.wait_for(self._closed.wait(), ms / 1000)
        except TimeoutError:
            pass

    def _speak(self, pcm: bytes) -> None:
        encoded = self.codec.encode(pcm)
        step = self._frame
        for off in range(0, len(encoded), step):
            self._outbox.append(encoded[off : off + step].ljust(step, self._silence[:1]))

    async def _wait_outbox_empty(self) -> None:
        if self._outbox and not self._closed.is_set():
            self._drained.clear()
            await self._drained.wait()

    async def _wait_audio(self, timeout: float) -> None:
        """Until agent audio arrives (or the call closes, or `timeout`)."""
        self._audio_arrived.clear()
        try:
            await asyncio.wait_for(self._audio_arrived.wait(), timeout)
        except TimeoutError:
            pass

    async def _wait_agent_idle(self) -> None:
        """Until the agent has answered and its audio finished playing, then `idle_ms` of quiet."""
        while not self._closed.is_set():
            now = time.monotonic()
            if self._reply_started is None and self._awaiting_reply_since is not None:
                left = 15 - (now - self._awaiting_reply_since)
                if left <= 0:
                    return  # no answer at all; move on
                await self._wait_audio(left)
            elif self._playback:
                # The ticker plays one frame each FRAME_MS: look again when what is buffered now has played.
                await asyncio.sleep(max(1, len(self._playback) // self._frame) * FRAME_MS / 1000)
            else:
                left = self._agent_last_audio + self.idle_ms / 1000 - now
                if left <= 0:
                    return
                await asyncio.sleep(left)

    async def _wait_agent_speaking(self, after_ms: int) -> None:
        while not self._closed.is_set():
            if self._reply_started is None:
                await self._wait_audio(1.0)
                continue
            left = self._reply_started + after_ms / 1000 - time.monotonic()
            if left <= 0:
                return
            await asyncio.sleep(left)

    # ------------------------------------------------------------------ clock

    async def _tick(self, ws) -> None:
        """Every 20 ms: send one caller frame, play 20 ms of agent audio (absolute schedule, no drift)."""
        next_at = time.monotonic()
        while not self._closed.is_set():
            next_at += FRAME_MS / 1000
            frame = self._outbox.popleft() if self._outbox else self._silence
            if not self._outbox and frame is not self._silence:
                if self._current is not None:
                    self._last_voiced_sent = time.monotonic()
                self._drained.set()
            if self._onset_at is None and frame is not self._silence and self._current and self._current.barge_in:
                self._onset_at = time.monotonic()
            try:
                await ws.send(self.peer.media_message(frame))
            except websockets.ConnectionClosed:
                return
            self._play(self._frame)
            delay = next_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                next_at = time.monotonic()  # we fell behind (loaded machine); do not burst to catch up

    def _play(self, nbytes: int) -> None:
        played = min(nbytes, len(self._playback))
        if played:
            del self._playback[:played]
            self._played_total += played
        while self._marks and self._marks[0][0] <= self._played_total:
            _, name = self._marks.popleft()
            self._send_soon(self.peer.mark_message(name))

    def _send_soon(self, message: str) -> None:
        task = asyncio.get_running_loop().create_task(self._safe_send(message))
        _background.add(task)
        task.add_done_callback(_background.discard)

    async def _safe_send(self, message: str) -> None:
        try:
            await self._ws.send(message)
        except websockets.ConnectionClosed:
            pass

    # ------------------------------------------------------------------ inbound

    async def _receive(self, ws) -> None:
        try:
            async for raw in ws:
                kind, value = self.peer.parse(raw)
                now = time.monotonic()
                if kind == "media":
                    self._on_agent_audio(value, now)
                elif kind == "mark":
                    self._marks.append((self._played_total + len(self._playback), value))
                elif kind == "clear":
                    self._on_clear(now)
        except websockets.ConnectionClosed as exc:
            self.result.close_code = exc.rcvd.code if exc.rcvd else None
        else:
            self.result.close_code = ws.close_code
        if not self.result.closed_by:
            self.result.closed_by = "agent"
        self._closed.set()
        self._audio_arrived.set()  # wake whatever the script waits on
        self._drained.set()

    def _on_agent_audio(self, payload: bytes, now: float) -> None:
        if self.result.greeting_ms is None:
            self.result.greeting_ms = round((now - self._greeting_from) * 1000, 1)
        if self._stale_window:
            # Audio after our barge-in's clear, before we even finished talking: the old reply leaking on.
            self._current.frames_after_clear += 1
        self._playback += payload
        self.result.agent_audio_ms += len(payload) * FRAME_MS // self._frame
        self._agent_last_audio = now
        self._audio_arrived.set()
        if self._reply_started is None:
            self._reply_started = now
        if self._awaiting_reply_since is not None:
            if self._current is not None and self._current.latency_ms is None:
                voiced = getattr(self, "_last_voiced_sent", self._awaiting_reply_since)
                self._current.latency_ms = round((now - voiced) * 1000, 1)
            self._awaiting_reply_since = None

    def _on_clear(self, now: float) -> None:
        self._cleared_at = now
        self._stale_window = self._current is not None and self._current.barge_in and bool(self._outbox)
        if self._current is not None and self._onset_at is not None and self._current.clear_ms is None:
            self._current.clear_ms = round((now - self._onset_at) * 1000, 1)
        self._playback.clear()
        # Like the carriers: marks still pending come back at once after a clear.
        while self._marks:
            self._send_soon(self.peer.mark_message(self._marks.popleft()[1]))


_background: set[asyncio.Task] = set()


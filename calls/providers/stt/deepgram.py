"""`DeepgramSTT`: Deepgram live transcription (deepgram-sdk 7.x, `listen.v1.connect`) behind `STTStream`.

One WebSocket per call, owned by a runner task that reconnects on a drop. Three tasks share the open socket:

- the sender drains the replay buffer (audio) and then control messages (Finalize) — in that order, so a Finalize
  always follows the audio it is meant to cover;
- the keep-alive sends `KeepAlive` whenever no audio went out for `keepalive_s`: the session sends no audio
  between utterances, the SDK sends no keep-alives, and Deepgram closes a socket after ~10 s without data;
- the receiver turns Results / SpeechStarted / UtteranceEnd into finals, partials and hints.

Audio is sent as linear16 at the session's rate. The session's internal format is PCM (its VAD and turn detector
need samples), so this is what we have in hand; a later optimisation could pass the carrier's μ-law through
(`encoding="mulaw"`, half the bytes) — Deepgram accepts both.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
import time
from collections import deque
from collections.abc import Callable

import websockets
from deepgram import AsyncDeepgramClient
from deepgram.core.api_error import ApiError
from deepgram.environment import DeepgramClientEnvironment

from calls.languages import DEFAULT_LANGUAGE, exact_language

from ..base import ProviderError, SpeechHint, STTStream
from ..cloud import base_url, ms_since, require_key, websocket_url
from .replay_buffer import ReplayBuffer
from .vocabulary import deepgram_params

log = logging.getLogger("calls.providers.deepgram")

PROVIDER = "deepgram"
FINALIZE = "Finalize"
_STALE = "stale"  # a Finalize waiter given up on (timed out), as opposed to answered


class _State(enum.Enum):
    NEW = "new"
    CONNECTING = "connecting"
    OPEN = "open"
    FAILED = "failed"
    CLOSED = "closed"


class _Dropped(Exception):
    """The socket closed without us asking (vendor timeout, network): reconnect."""


def deepgram_language(tag: str | None) -> str:
    """Deepgram's code for an agent's language ("es" for es-ES: Deepgram has no es-ES); any other code (one set in
    the STT options: "es-419", "multi") goes as it is."""
    lang = exact_language(tag or DEFAULT_LANGUAGE)
    return lang.deepgram if lang is not None else str(tag)


class DeepgramSTT(STTStream):
    """Deepgram live STT. Options (`provider_options["stt"]`): model, language, endpointing_ms, utterance_end_ms,
    keepalive_s, finalize_timeout_s, connect_timeout_s, max_reconnects, replay_buffer_s, base_url, hints (default
    true: the call's `vocabulary` goes as keyterm / keywords, see `vocabulary.py`)."""

    name = PROVIDER

    def __init__(
        self,
        sample_rate: int,
        options: dict | None = None,
        on_partial: Callable[[str], None] | None = None,
        on_hint: Callable[[SpeechHint], None] | None = None,
    ) -> None:
        super().__init__(sample_rate, options, on_partial, on_hint)
        o = self.options
        self.keepalive_s = float(o.get("keepalive_s", 4.0))
        # Deepgram answers Finalize in a few hundred ms; beyond 1 s the caller is waiting in silence, and the
        # fallback (which needs time of its own) should get the utterance instead.
        self.finalize_timeout_s = float(o.get("finalize_timeout_s", 1.0))
        self.connect_timeout_s = float(o.get("connect_timeout_s", 3.0))
        self.max_reconnects = int(o.get("max_reconnects", 3))
        self.bytes_per_s = sample_rate * 2
        self.last_ttfb_ms: float | None = None
        #: Called once when the stream gives up (after reconnects fail, or a permanent error): lets a fallback
        #: take over before the end of the turn instead of at it.
        self.on_error: Callable[[ProviderError], None] | None = None
        self.error: ProviderError | None = None
        self.reconnects = 0
        self._healthy = False
        self._state = _State.NEW
        self._audio = ReplayBuffer(int(float(o.get("replay_buffer_s", 30.0)) * self.bytes_per_s))
        self._controls: deque[str] = deque()
        self._wake = asyncio.Event()
        self._opened = asyncio.Event()
        self._finals: list[str] = []
        self._interim = ""
        self._origin = 0  # global byte offset of t=0 on the current socket
        self._commit_mark = 0  # global byte offset where the current utterance began
        self._finalized_upto = 0  # `total` when the last Finalize was queued
        # Where the audio stood when Deepgram's own endpointing closed this utterance (speech_final / UtteranceEnd):
        # if little audio and no new words came since, its finals are complete and a transcript needs no Finalize
        # round trip (the session asks for it a few ms after that end-of-turn hint).
        self._endpointed_at: int | None = None
        self._endpoint_slack = int(0.2 * self.bytes_per_s)
        self._finalize_waiter: asyncio.Future | None = None
        self._finalize_sent_at: float | None = None
        self._last_sent = time.monotonic()
        self._client: AsyncDeepgramClient | None = None
        self._runner: asyncio.Task | None = None

    # ------------------------------------------------------------------ contract

    async def start(self) -> None:
        key = require_key("DEEPGRAM_API_KEY", PROVIDER)
        http = base_url(self.options, "DEEPGRAM_BASE_URL", "https://api.deepgram.com")
        ws = websocket_url(http)
        # The SDK builds the socket URL from `environment.production` (+ "/v1/listen"); there is no base_url
        # argument, so a test server or proxy is reached through a custom environment.
        env = DeepgramClientEnvironment(base=http, production=ws, agent=ws, agent_rest=http)
        self._client = AsyncDeepgramClient(api_key=key, environment=env)
        self._state = _State.CONNECTING
        self._runner = asyncio.get_running_loop().create_task(self._run(), name="deepgram-runner")
        try:
            await asyncio.wait_for(self._opened.wait(), self.connect_timeout_s)
        except TimeoutError:
            self._fail(ProviderError("no connection within the connect timeout", provider=PROVIDER))
            self._runner.cancel()
        if self.error is not None:
            raise self.error

    def send_audio(self, pcm: bytes) -> None:
        if self._state in (_State.FAILED, _State.CLOSED):
            return
        # Buffered even while disconnected: the runner replays everything not yet covered by a final result.
        self._audio.append(pcm)
        self._wake.set()

    async def transcript(self) -> str:
        if self.error is not None:
            raise self.error
        if self._state is _State.NEW:
            raise ProviderError("transcript() before start()", provider=PROVIDER)
        timed_out = False
        if (self._endpointed_at is not None and not self._interim and not self._finalize_pending()
                and self._audio.total - self._endpointed_at <= self._endpoint_slack):
            self.last_ttfb_ms = 0.0  # answered by Deepgram's endpointing before we asked
        elif self._audio.total > self._finalized_upto or self._finalize_pending():
            # Finalize makes Deepgram flush what it holds as is_final results now, instead of waiting for its own
            # endpointing; a speculative call and the real one share one pending Finalize.
            if not self._finalize_pending():
                self._queue_finalize()
            waiter = self._finalize_waiter
            try:
                await asyncio.wait_for(asyncio.shield(waiter), self.finalize_timeout_s)
            except TimeoutError:
                timed_out = True
                if not waiter.done():
                    waiter.set_result(_STALE)  # the next turn sends a fresh Finalize instead of waiting on it
            # A speculative call and the real one share the waiter: when the other one gave up on it, so do we.
            timed_out = timed_out or waiter.result() is _STALE
        if self.error is not None:
            raise self.error
        text = " ".join(self._finals).strip()
        if timed_out and not text:
            raise ProviderError("no final result within the Finalize deadline", provider=PROVIDER)
        return text

    def commit(self) -> None:
        self._finals.clear()
        self._interim = ""
        self._endpointed_at = None
        self._commit_mark = self._audio.total

    async def close(self) -> None:
        if self._state is _State.CLOSED:
            return
        was_open = self._state is _State.OPEN
        self._state = _State.CLOSED
        if self._finalize_waiter is not None and not self._finalize_waiter.done():
            self._finalize_waiter.set_result(None)
        runner = self._runner
        if runner is None:
            return
        if was_open:
            # CloseStream asks Deepgram to flush and close; the runner ends when the socket does. Nothing of this
            # call needs the answer, so a server that does not answer is not waited for long.
            self._controls.append("CloseStream")
            self._wake.set()
            await asyncio.wait({runner}, timeout=0.5)
        if not runner.done():
            runner.cancel()
            await asyncio.wait({runner}, timeout=1.0)

    # ------------------------------------------------------------------ connection lifecycle

    def _params(self) -> dict:
        o = self.options
        # Booleans go as the strings Deepgram documents: the SDK url-encodes Python True as "True".
        return {
            "model": o.get("model", "nova-3"),
            "language": deepgram_language(o.get("language")),
            "encoding": "linear16",
            "sample_rate": self.sample_rate,
            "channels": 1,
            "interim_results": "true",
            "endpointing": int(o.get("endpointing_ms", 300)),
            "utterance_end_ms": int(o.get("utterance_end_ms", 1000)),
            "vad_events": "true",
            "smart_format": "true",
            "punctuate": "true",
            **(deepgram_params(o.get("vocabulary") or [], str(o.get("model", "nova-3")))
               if o.get("hints", True) else {}),
        }

    async def _run(self) -> None:
        failures = 0
        while self._state in (_State.CONNECTING, _State.OPEN):
            self._healthy = False
            try:
                async with contextlib.AsyncExitStack() as stack:
                    connect = self._client.listen.v1.connect(**self._params())
                    conn = await asyncio.wait_for(stack.enter_async_context(connect), self.connect_timeout_s)
                    if self._state is not _State.CONNECTING:
                        return  # closed (or given up) while connecting
                    self._on_open()
                    await self._serve(conn)
                    return  # we closed it
            except ApiError as exc:
                status = exc.status_code or 0
                error = ProviderError(f"handshake refused: HTTP {status}", provider=PROVIDER,
                                      permanent=status in (400, 401, 403))
            except (_Dropped, websockets.exceptions.WebSocketException, OSError, TimeoutError) as exc:
                error = ProviderError(f"connection lost: {exc!r}", provider=PROVIDER)
            except Exception as exc:  # loop boundary: an unexpected bug must fail over, not leave a dead stream
                log.exception("deepgram: runner failed")
                error = ProviderError(f"unexpected error: {exc!r}", provider=PROVIDER)
            if self._state in (_State.CLOSED, _State.FAILED):
                return
            failures = 0 if self._healthy else failures + 1
            if error.permanent or failures > self.max_reconnects:
                self._fail(error)
                return
            self.reconnects += 1
            log.warning("deepgram: %s; reconnecting (attempt %d)", error, failures)
            self._state = _State.CONNECTING
            await asyncio.sleep(min(0.05 * 2**failures, 1.0))

    def _on_open(self) -> None:
        # Timestamps on a new socket start at zero, at the first unacknowledged byte we are about to replay.
        self._audio.rewind()
        self._origin = self._audio.base
        self._state = _State.OPEN
        if self._finalize_pending():
            self._controls.append(FINALIZE)  # the one in flight died with the old socket
        self._wake.set()
        self._opened.set()

    async def _serve(self, conn) -> None:
        """Run sender, keep-alive and receiver until the socket closes (`_healthy` says if it carried results)."""
        tasks = [
            asyncio.ensure_future(self._receive(conn)),
            asyncio.ensure_future(self._send(conn)),
            asyncio.ensure_future(self._keep_alive(conn)),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()
        if self._state is not _State.CLOSED:
            raise _Dropped("socket closed by the server")

    def _fail(self, error: ProviderError) -> None:
        if self.error is not None or self._state is _State.CLOSED:
            return
        self.error = error
        self._state = _State.FAILED
        self._opened.set()
        if self._finalize_waiter is not None and not self._finalize_waiter.done():
            self._finalize_waiter.set_result(None)
        log.warning("deepgram: giving up: %s", error)
        if self.on_error is not None:
            self.on_error(error)

    # ------------------------------------------------------------------ the three socket tasks

    async def _send(self, conn) -> None:
        chunk_bytes = self.bytes_per_s // 5  # a replayed backlog goes in 200 ms chunks (Deepgram: 20-250 ms)
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._audio.unsent:
                await conn.send_media(self._audio.take(chunk_bytes))
                self._last_sent = time.monotonic()
            while self._controls:
                control = self._controls.popleft()
                if control == FINALIZE:
                    self._finalize_sent_at = time.monotonic()
                    await conn.send_finalize()
                else:
                    await conn.send_close_stream()
                self._last_sent = time.monotonic()

    async def _keep_alive(self, conn) -> None:
        while True:
            wait = self._last_sent + self.keepalive_s - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            await conn.send_keep_alive()
            self._last_sent = time.monotonic()

    async def _receive(self, conn) -> None:
        while True:
            try:
                async for message in conn:
                    self._on_message(message)
                return
            except json.JSONDecodeError:
                # SDK quirk: its iterator json-parses outside its own try, so one malformed frame ends the
                # iteration. The socket is fine; skip the frame and iterate again.
                log.warning("deepgram: skipped a malformed frame")

    # ------------------------------------------------------------------ messages

    def _on_message(self, message) -> None:
        kind = getattr(message, "type", None)
        if kind == "Results":
            self._healthy = True
            self._on_results(message)
        elif kind == "SpeechStarted":
            self._hint("speech_started")
        elif kind == "UtteranceEnd":
            last_word_end = getattr(message, "last_word_end", None)
            if self._finals and (last_word_end is None or
                                 self._origin + int(last_word_end * self.bytes_per_s) >= self._commit_mark):
                self._endpointed_at = self._audio.total  # not a late one about the utterance before the last commit
            self._hint("end_of_turn")
        elif kind == "Error":
            log.warning("deepgram error frame: %s", getattr(message, "description", message))

    def _on_results(self, msg) -> None:
        alternatives = msg.channel.alternatives if msg.channel else []
        text = (alternatives[0].transcript or "").strip() if alternatives else ""
        if msg.is_final:
            # round, not int: start + duration in float seconds (0.7 + 0.1 = 0.7999…) must not lose a sample
            end = self._origin + round((msg.start + msg.duration) * self.bytes_per_s)
            start = self._origin + round(msg.start * self.bytes_per_s)
            self._audio.ack(end)
            # A late final of the previous utterance (after its commit) must not leak into this one.
            if text and (start + end) // 2 >= self._commit_mark:
                self._finals.append(text)
            self._interim = ""
            if msg.from_finalize and self._finalize_pending():
                if self._finalize_sent_at is not None:
                    self.last_ttfb_ms = ms_since(self._finalize_sent_at)
                self._finalize_waiter.set_result(None)
            if msg.speech_final:
                if end >= self._commit_mark:  # not a late one about the utterance before the last commit
                    self._endpointed_at = self._audio.total
                self._hint("end_of_turn")
        else:
            self._interim = text
            if text:
                self._endpointed_at = None  # the caller spoke again: the next transcript needs a Finalize
        if self.on_partial is not None and (text or self._finals):
            self.on_partial(" ".join([*self._finals, self._interim]).strip())

    def _hint(self, kind: str) -> None:
        if self.on_hint is not None:
            self.on_hint(SpeechHint(kind))

    # ------------------------------------------------------------------ finalize bookkeeping

    def _finalize_pending(self) -> bool:
        return self._finalize_waiter is not None and not self._finalize_waiter.done()

    def _queue_finalize(self) -> None:
        self._finalize_waiter = asyncio.get_running_loop().create_future()
        self._finalized_upto = self._audio.total
        self._finalize_sent_at = None
        if self._state is _State.OPEN:
            self._controls.append(FINALIZE)
            self._wake.set()
        # Not open: `_on_open` sends it after the replay.

"""MediaStreamConsumer: the carrier's media WebSocket <-> serializer <-> CallSession. Thin on purpose.

It subclasses Channels' bare `AsyncConsumer` rather than `AsyncWebsocketConsumer`: stock dispatch runs
`close_old_connections` in a thread before every handler, a thread-pool hop for each of the 50 media frames a
second per call, which halves the calls a process can hold. Media frames need no database, so they skip it; the
few handlers that do touch the database do their own connection care. The consumer also joins no channel layer
(no per-call receive loop): live updates are sent, never received here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter

from channels.consumer import AsyncConsumer
from channels.exceptions import StopConsumer
from django.conf import settings

from . import admission, instances, stream_tokens
from .call_start import start_call
from .carriers.base import AudioIn, BadMessage, CallStart, DtmfIn, MarkPlayed, MediaSerializer, StreamStopped
from .carriers.registry import kit
from .db import run_db
from .models import Call
from .session.call_session import CallSession
from .session.factory import build_session, hears_words
from .session.vocabulary import call_vocabulary
from .stream_end import stream_ended
from .telemetry.logs import CALL_ID

log = logging.getLogger("calls.consumers")

# Process-wide counters of junk received on media sockets, by reason (also stored per call as a CallEvent).
BAD_INPUT: Counter = Counter()

CLOSE_NORMAL = 1000
CLOSE_FORBIDDEN = 4403
CLOSE_NO_START = 4408
CLOSE_UNSUPPORTED = 4415  # the stream's audio format is one we cannot decode (like HTTP 415)
START_DEADLINE_S = 10.0
FLOOD_PER_SECOND = 400  # a carrier sends 50 media messages a second; far beyond that is abuse or a bug


class MediaStreamConsumer(AsyncConsumer):
    channel_layer_alias = "__none__"  # no layer: see module docstring

    async def __call__(self, scope, receive, send):
        """Channels' consumer loop without `await_many_dispatch`: with no channel layer the socket is the only
        source of messages, so await it directly instead of a new Task plus an `asyncio.wait` per message
        (≈30 µs of the 50 messages a second per call; docs/benchmarks.md)."""
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass

    async def dispatch(self, message):
        kind = message["type"]
        if kind == "websocket.receive":
            await self.websocket_receive(message)
        elif kind == "websocket.connect":
            await self.websocket_connect(message)
        elif kind == "websocket.disconnect":
            await self.websocket_disconnect(message)

    # ------------------------------------------------------------------ socket events

    async def websocket_connect(self, message) -> None:
        self.carrier = self.scope["url_route"]["kwargs"]["carrier"]
        self.kit = kit(self.carrier)
        self.session: CallSession | None = None
        self.serializer: MediaSerializer | None = None
        self.bad: Counter = Counter()
        self._window_start = time.monotonic()
        self._window_count = 0
        self._closed = False
        if self.kit is None:
            await self.send({"type": "websocket.close", "code": CLOSE_FORBIDDEN})
            return
        problem = self.kit.check_upgrade(self.scope)
        if problem:
            await self.send({"type": "websocket.close", "code": CLOSE_FORBIDDEN})
            return
        self.serializer = self.kit.serializer()
        await self.send({"type": "websocket.accept"})
        self._deadline = asyncio.get_running_loop().call_later(START_DEADLINE_S, self._no_start)

    async def websocket_receive(self, message) -> None:
        serializer = self.serializer
        if serializer is None or self._closed:
            return
        text = message.get("text")
        if text is None:
            self._bad("binary_frame")
            return
        if len(text) > settings.MAX_WS_MESSAGE_BYTES:
            self._bad("oversized")
            return
        if self._flooded():
            self._bad("flood")
            return
        try:
            events = serializer.parse(text)
        except BadMessage as exc:
            self._bad(exc.reason)
            if exc.reason == "unsupported_media_format" and self.session is None:
                # A stream whose audio we cannot decode never becomes a call: close it now, not at the deadline.
                log.warning("%s stream closed: %s", self.carrier, exc)
                await self._close(CLOSE_UNSUPPORTED)
            return
        except Exception:  # a serializer bug: one message is lost, not the call (no cost when nothing raises)
            if not self.bad["serializer_error"]:
                log.exception("%s serializer failed on a message (counted as serializer_error)", self.carrier)
            self._bad("serializer_error")
            return
        session = self.session
        for event in events:
            if type(event) is AudioIn:
                if session is not None:
                    session.on_audio(event.pcm)
            elif type(event) is MarkPlayed:
                if session is not None:
                    session.on_mark(event.name)
            elif type(event) is DtmfIn:
                if session is not None:
                    session.on_dtmf(event.digit)
            elif type(event) is CallStart:
                await self._start(event)
                session = self.session
            elif type(event) is StreamStopped:
                await self._finish("caller-hung-up")

    async def websocket_disconnect(self, message) -> None:
        # No `stop` came first (else the session would be gone): a clean close is the carrier ending the stream,
        # anything else (1006: the connection was lost) a drop while the call may still be up.
        await self._finish("stream-closed" if message.get("code") == CLOSE_NORMAL else "stream-dropped")
        raise StopConsumer()

    # ------------------------------------------------------------------ helpers

    async def _start(self, start: CallStart) -> None:
        if self.session is not None:
            self._bad("duplicate_start")
            return
        token = start.params.get("token", "")
        try:
            call = await stream_tokens.consume(token, self.carrier)
        except stream_tokens.TokenError as exc:
            log.warning("%s stream for call %s refused: %s", self.carrier, start.call_id or "?", exc)
            await self._close(CLOSE_FORBIDDEN)
            return
        if call.carrier_call_id != start.call_id and start.call_id:
            log.warning("%s stream token for %s presented on call %s", self.carrier, call.carrier_call_id, start.call_id)
            await self._close(CLOSE_FORBIDDEN)
            return
        self._deadline.cancel()
        start.call_id = call.carrier_call_id
        CALL_ID.set(call.carrier_call_id)  # every log line of this call from here on (the session's tasks too)
        decision = admission.admit_stream(call.carrier_call_id)
        if not decision.admit:
            # Beyond what this process can hold: refuse now, so the calls it holds keep their latency.
            await run_db(admission.record_overflow, self.carrier, None, call.carrier_call_id, "", decision, "media")
            await self._close(admission.CLOSE_TRY_AGAIN_LATER)
            return
        try:
            next_index = await run_db(_answered, call.pk, start.stream_id)
            if next_index == 0:
                await start_call(call)  # its variables from the customer's server (~1.5 s at most); call.started
            vocabulary = await run_db(call_vocabulary, call.agent, call) if hears_words(call.agent) else None

            self.call = call
            self.session = build_session(call, start, self.serializer, self._send_text, self._hang_up,
                                         self.kit.control(), next_turn_index=next_index,
                                         watch_records=self._watch_records(), vocabulary=vocabulary)
            admission.register(self.session)  # counts against the process's limit until unregistered
        finally:
            admission.settled(call.carrier_call_id)
        await self.session.start()

    def _watch_records(self):
        watch = self.kit.watch_records
        if watch is None:
            return None
        return lambda publish: watch(publish, self.serializer, self._send_text)

    async def _send_text(self, text: str) -> None:
        if not self._closed:
            await self.send({"type": "websocket.send", "text": text})

    async def _hang_up(self) -> None:
        """The session is done with the call: close our side of the stream (the carrier then ends the call)."""
        await self._finish("agent-ended")
        await self._close(1000)

    async def _close(self, code: int) -> None:
        if not self._closed:
            self._closed = True
            await self.send({"type": "websocket.close", "code": code})

    async def _finish(self, reason: str) -> None:
        session, self.session = self.session, None
        if session is None:
            return
        try:
            await session.stop(reason)
            repaired = _repairs(self.serializer)
            if self.bad or repaired:
                session.recorder.event("bad_input", {**self.bad, **repaired})
            await session.recorder.drain()
            stream_ended(self.call.pk, dropped=reason == "stream-dropped")
        finally:
            # Live until its writes are in and its end announced: a draining process (calls.shutdown) waits for that.
            admission.unregister(session)

    def _no_start(self) -> None:
        if self.session is None and not self._closed:
            log.warning("%s stream closed: no valid start within %.0fs", self.carrier, START_DEADLINE_S)
            task = asyncio.get_running_loop().create_task(self._close(CLOSE_NO_START))
            _background.add(task)
            task.add_done_callback(_background.discard)

    def _flooded(self) -> bool:
        now = time.monotonic()
        if now - self._window_start >= 1.0:
            self._window_start, self._window_count = now, 0
        self._window_count += 1
        return self._window_count > FLOOD_PER_SECOND

    def _bad(self, reason: str) -> None:
        BAD_INPUT[reason] += 1
        self.bad[reason] += 1
        # Log the first of each kind per stream, then every 100th: a flood must not flood the log too.
        if self.bad[reason] == 1 or self.bad[reason] % 100 == 0:
            call = getattr(self, "call", None)
            log.warning("%s stream %s: bad input %s (x%d)", self.carrier,
                        call.carrier_call_id if call else "(not started)", reason, self.bad[reason])


_background: set[asyncio.Task] = set()


def _repairs(serializer: MediaSerializer | None) -> dict:
    """What the serializer had to repair in the carrier's stream (reordering, duplicates, concealed gaps)."""
    if serializer is None:
        return {}
    stats = serializer.stats
    counts = {"late_dropped": stats.late_dropped, "duplicates": stats.duplicates, "concealed": stats.concealed}
    return {**stats.bad, **{k: v for k, v in counts.items() if v}}


def _answered(call_pk: int, stream_id: str) -> int:
    """The stream is up: the call marked answered, and the index of its next turn — one job on the DB thread (one
    hop less at each call start, while the other calls start too)."""
    _mark_answered(call_pk, stream_id)
    return _next_turn_index(call_pk)


def _mark_answered(call_pk: int, stream_id: str) -> None:
    from django.utils import timezone

    Call.objects.filter(pk=call_pk, answered_at__isnull=True).update(answered_at=timezone.now())
    # served_by: this process holds the call now (a resumed stream may land elsewhere); see calls/instances.py.
    Call.objects.filter(pk=call_pk).update(status=Call.Status.IN_PROGRESS, stream_id=stream_id,
                                           served_by=instances.instance_id())


def _next_turn_index(call_pk: int) -> int:
    from django.db.models import Max

    from .models import Turn

    top = Turn.objects.filter(call_id=call_pk).aggregate(m=Max("index"))["m"]
    return 0 if top is None else top + 1

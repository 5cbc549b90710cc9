"""Writes a call's turns, metrics and events as they happen, off the audio path.

All writes of a process go through one thread (one DB connection, natural ordering; SQLite wants one writer
anyway). The session only enqueues; if the database is down the items stay queued, in order, and the one at the
head is retried with backoff for as long as the call lives, so a completed turn is never lost to a database outage.
At call end `drain` keeps retrying for a bounded time (`FLUSH_TIMEOUT_S`) and logs, item by item, whatever it still
could not write. A write the database rejects outright (integrity or data error) is logged and skipped: retrying it
would only hold back everything queued behind it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import (
    DataError,
    DatabaseError,
    IntegrityError,
    InterfaceError,
    transaction,
)
from django.utils import timezone

from .db import run_db
from .models import Call, CallEvent, Turn, TurnMetrics
from .telemetry.call import CallTelemetry

log = logging.getLogger("calls.recorder")
@dataclass(slots=True)
class TurnRecord:
    role: str
    text: str
    started_at: datetime
    ended_at: datetime
    heard_text: str = ""
    interrupted: bool = False
    node: str = ""
    metrics: dict | None = None
    # The brain's state after this turn, saved with it: a resumed stream continues from exactly here.
    brain_state: dict | None = None
    # Where the turn is in the call recording (ms), when the call is recorded.
    audio_start_ms: int | None = None
    audio_end_ms: int | None = None
    # Knowledge chunks the reply drew on (agent turns; see `CallRecorder.note_sources`).
    sources: tuple = ()
    # The turn's TurnTimer (agent turns): its stage times, for the trace (calls.telemetry); not stored.
    timer: object = None


class CallRecorder:
    """One per call. `turn()` / `event()` / `finish()` return at once; `drain()` waits for the writes."""

    #: Backoff between attempts at a write while the database is down; the last delay repeats while the call lives.
    RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)
    #: How long `drain` (the final flush at call end) keeps retrying before it logs what it could not write.
    FLUSH_TIMEOUT_S = 10.0

    def __init__(self, call_id: int, workspace_id: int, on_written: Callable[[str, dict], None] | None = None,
                 save_sources: Callable[[Turn, tuple], None] | None = None, telemetry: CallTelemetry | None = None):
        self.call_id = call_id
        # The call's metrics and trace (calls.telemetry): told of each turn and event as it is queued.
        self.telemetry = telemetry
        self.workspace_id = workspace_id
        self.on_written = on_written
        # Writes a turn's sources (knowledge.records.save_turn_sources); runs inside the turn's transaction.
        self.save_sources = save_sources
        self._sources: list = []
        self._queue: asyncio.Queue = asyncio.Queue()
        self._next_index = 0
        self._task: asyncio.Task | None = None
        self._writing: tuple | None = None
        self._flush_deadline: float | None = None  # loop time; set by drain()
        self.failures = 0  # failed attempts (each retry counts)
        self.unwritten: list[tuple] = []  # items given up on at the end of the final flush, or rejected

    def start(self, next_index: int = 0) -> None:
        self._next_index = next_index
        self._task = asyncio.get_running_loop().create_task(self._writer(), name=f"recorder-{self.call_id}")

    def note_sources(self, sources: list) -> None:
        """The brain used these knowledge chunks for the reply being spoken: they go with the next agent turn."""
        self._sources.extend(sources)

    def turn(self, record: TurnRecord) -> int:
        # Sources noted during a reply belong to the agent turn that records it; a caller turn starts afresh
        # (a reply that said nothing leaves none behind).
        if record.role == "agent" and self._sources and not record.sources:
            record.sources = tuple(self._sources)
        self._sources = []
        index = self._next_index
        self._next_index += 1
        self._queue.put_nowait(("turn", index, record))
        if self.telemetry is not None:
            self.telemetry.turn(record)
        return index

    def event(self, kind: str, detail: dict | None = None) -> None:
        self._queue.put_nowait(("event", kind, detail or {}, timezone.now()))
        if self.telemetry is not None:
            self.telemetry.event(kind, detail or {})

    def update_call(self, **fields) -> None:
        self._queue.put_nowait(("call", fields))
        if self.telemetry is not None:
            self.telemetry.call_updated(fields)

    async def drain(self, timeout: float | None = None) -> None:
        """The final flush: write everything queued, then stop. While the database is down this retries until
        `timeout` (default FLUSH_TIMEOUT_S) runs out, then logs each item it could not write."""
        timeout = self.FLUSH_TIMEOUT_S if timeout is None else timeout
        if self.telemetry is not None:
            self.telemetry.end()
        self._flush_deadline = asyncio.get_running_loop().time() + timeout
        self._queue.put_nowait(None)
        if self._task is None:
            return
        try:
            # A little over the deadline: the writer notices it, logs what is left and returns by itself.
            await asyncio.wait_for(asyncio.shield(self._task), timeout + 2.0)
        except TimeoutError:
            # Stuck inside one database call (e.g. waiting on a lock): stop, and report what is not written.
            writing = self._writing
            self._task.cancel()
            self._log_unwritten([writing, *self._take_queued()] if writing else self._take_queued(),
                                "the final flush timed out inside a database call (the write in flight may still land)")

    async def _writer(self) -> None:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            self._writing = item
            written = await self._write_until_done(item)
            self._writing = None
            if written is None:  # the final flush ran out of time: this item and everything after it stay unwritten
                self._log_unwritten([item, *self._take_queued()], "the database stayed unavailable past the final flush")
                return
            if self.on_written is not None and written:
                try:
                    self.on_written(item[0], _summary(item))
                except Exception:  # the live view must never break recording
                    log.exception("call %s: live update failed", self.call_id)

    async def _write_until_done(self, item: tuple) -> bool | None:
        """True once written; False if the database rejected it (logged); None if the final flush's deadline
        passed first. Database errors are retried with backoff; before `drain` there is no deadline."""
        loop = asyncio.get_running_loop()
        attempt = 0
        while True:
            try:
                await run_db(self._write, item, attempt == 0)
                if attempt:
                    log.info("call %s: %s written after %d failed attempts", self.call_id, item[0], attempt)
                return True
            except (IntegrityError, DataError) as exc:
                self._log_unwritten([item], f"rejected by the database: {exc}")
                return False
            except (DatabaseError, InterfaceError) as exc:  # InterfaceError: e.g. the connection was closed under us
                self.failures += 1
                delay = self.RETRY_DELAYS[min(attempt, len(self.RETRY_DELAYS) - 1)]
                if self._flush_deadline is not None:
                    left = self._flush_deadline - loop.time()
                    if left <= 0:
                        return None
                    delay = min(delay, left)
                if attempt < 3 or attempt % 20 == 0:  # a long outage must not flood the log
                    log.warning("call %s: database error writing %s (attempt %d, retrying in %.1fs): %s",
                                self.call_id, item[0], attempt + 1, delay, exc)
                attempt += 1
                await asyncio.sleep(delay)
            except Exception:  # a bug in one write must not stop the writer: everything after it would be lost
                log.exception("call %s: writing %s failed", self.call_id, item[0])
                self.unwritten.append(item)
                return False

    def _take_queued(self) -> list[tuple]:
        items = []
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is not None:
                items.append(item)
        return items

    def _log_unwritten(self, items: list[tuple], why: str) -> None:
        """Say exactly what was not stored, so it can be recovered from the log."""
        self.unwritten.extend(items)
        log.error("call %s: %d write(s) not stored (%s)", self.call_id, len(items), why)
        for item in items:
            log.error("call %s: not stored: %s %s", self.call_id, item[0], json.dumps(_summary(item), default=str)[:2000])

    def _write(self, item: tuple, first_attempt: bool = False) -> None:
        kind = item[0]
        if kind == "turn":
            _, index, rec = item
            if first_attempt:
                # Each index is written once: plain INSERTs (update_or_create costs a SELECT and two savepoints per
                # row). Should the row exist after all (a retry after a commit whose answer was lost), overwrite it.
                try:
                    self._write_turn(index, rec, insert=True)
                    return
                except IntegrityError:
                    pass
            self._write_turn(index, rec, insert=False)
        elif kind == "event":
            _, ev_kind, detail, at = item
            CallEvent.objects.create(call_id=self.call_id, workspace_id=self.workspace_id, kind=ev_kind, detail=detail, at=at)
        elif kind == "call":
            Call.objects.filter(pk=self.call_id).update(**item[1])

    def _write_turn(self, index: int, rec: TurnRecord, insert: bool) -> None:
        fields = dict(role=rec.role, text=rec.text, heard_text=rec.heard_text, interrupted=rec.interrupted,
                      started_at=rec.started_at, ended_at=rec.ended_at, node=rec.node,
                      audio_start_ms=rec.audio_start_ms, audio_end_ms=rec.audio_end_ms)
        with transaction.atomic():
            if insert:
                turn = Turn.objects.create(call_id=self.call_id, index=index, **fields)
                if rec.metrics is not None:
                    TurnMetrics.objects.create(turn=turn, **rec.metrics)
            else:
                turn, _ = Turn.objects.update_or_create(call_id=self.call_id, index=index, defaults=fields)
                if rec.metrics is not None:
                    TurnMetrics.objects.update_or_create(turn=turn, defaults=rec.metrics)
            if rec.brain_state is not None:
                Call.objects.filter(pk=self.call_id).update(brain_state=rec.brain_state)
            if rec.sources and self.save_sources is not None:
                self.save_sources(turn, rec.sources)


def _summary(item: tuple) -> dict:
    if item[0] == "turn":
        _, index, rec = item
        return {"index": index, "role": rec.role, "text": rec.text, "heard_text": rec.heard_text,
                "interrupted": rec.interrupted, "metrics": rec.metrics}
    if item[0] == "event":
        return {"kind": item[1], "detail": item[2]}
    return {k: str(v) for k, v in item[1].items()}

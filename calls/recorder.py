"""Writes a call's turns, metrics and events as they happen, off the audio path.

All writes of a process go through one thread (one DB connection, natural ordering; SQLite wants one writer
anyway). The session only enqueues; if the database is down the items stay queued and are retried with backoff,
so a completed turn is never lost to a transient database error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from django.db import DatabaseError, close_old_connections, transaction
from django.utils import timezone

from .models import Call, CallEvent, Turn, TurnMetrics

log = logging.getLogger("calls.recorder")
_db_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="voicebot-db")


async def run_db(fn: Callable, *args):
    """Run ORM work on the shared DB thread."""
    return await asyncio.get_running_loop().run_in_executor(_db_thread, fn, *args)


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


class CallRecorder:
    """One per call. `turn()` / `event()` / `finish()` return at once; `drain()` waits for the writes."""

    RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)

    def __init__(self, call_id: int, workspace_id: int, on_written: Callable[[str, dict], None] | None = None):
        self.call_id = call_id
        self.workspace_id = workspace_id
        self.on_written = on_written
        self._queue: asyncio.Queue = asyncio.Queue()
        self._next_index = 0
        self._task: asyncio.Task | None = None
        self.failures = 0

    def start(self, next_index: int = 0) -> None:
        self._next_index = next_index
        self._task = asyncio.get_running_loop().create_task(self._writer(), name=f"recorder-{self.call_id}")

    def turn(self, record: TurnRecord) -> int:
        index = self._next_index
        self._next_index += 1
        self._queue.put_nowait(("turn", index, record))
        return index

    def event(self, kind: str, detail: dict | None = None) -> None:
        self._queue.put_nowait(("event", kind, detail or {}, timezone.now()))

    def update_call(self, **fields) -> None:
        self._queue.put_nowait(("call", fields))

    async def drain(self, timeout: float = 10.0) -> None:
        """Stop after writing everything queued (or give up after `timeout`, logging what is lost)."""
        self._queue.put_nowait(None)
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except TimeoutError:
            log.error("call %s: %d writes still pending after %.0fs", self.call_id, self._queue.qsize(), timeout)

    async def _writer(self) -> None:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            for attempt, delay in enumerate((*self.RETRY_DELAYS, None)):
                try:
                    await run_db(self._write, item)
                    break
                except DatabaseError as exc:
                    self.failures += 1
                    if delay is None:
                        log.error("call %s: giving up writing %s after %d attempts: %s", self.call_id, item[0], attempt + 1, exc)
                        break
                    log.warning("call %s: database error writing %s (retrying in %.1fs): %s", self.call_id, item[0], delay, exc)
                    await asyncio.sleep(delay)
            if self.on_written is not None:
                try:
                    self.on_written(item[0], _summary(item))
                except Exception:  # the live view must never break recording
                    log.exception("call %s: live update failed", self.call_id)

    def _write(self, item: tuple) -> None:
        close_old_connections()
        kind = item[0]
        if kind == "turn":
            _, index, rec = item
            with transaction.atomic():
                turn, _ = Turn.objects.update_or_create(
                    call_id=self.call_id, index=index,
                    defaults=dict(role=rec.role, text=rec.text, heard_text=rec.heard_text, interrupted=rec.interrupted,
                                  started_at=rec.started_at, ended_at=rec.ended_at, node=rec.node,
                                  audio_start_ms=rec.audio_start_ms, audio_end_ms=rec.audio_end_ms),
                )
                if rec.metrics is not None:
                    TurnMetrics.objects.update_or_create(turn=turn, defaults=rec.metrics)
                if rec.brain_state is not None:
                    Call.objects.filter(pk=self.call_id).update(brain_state=rec.brain_state)
        elif kind == "event":
            _, ev_kind, detail, at = item
            CallEvent.objects.create(call_id=self.call_id, workspace_id=self.workspace_id, kind=ev_kind, detail=detail, at=at)
        elif kind == "call":
            Call.objects.filter(pk=self.call_id).update(**item[1])


def _summary(item: tuple) -> dict:
    if item[0] == "turn":
        _, index, rec = item
        return {"index": index, "role": rec.role, "text": rec.text, "heard_text": rec.heard_text,
                "interrupted": rec.interrupted, "metrics": rec.metrics}
    if item[0] == "event":
        return {"kind": item[1], "detail": item[2]}
    return {k: str(v) for k, v in item[1].items()}

"""`CallTasks`: the background tasks of one call session, kept until they end (RUF006: a created task must be kept),
with a failure logged under the call's id and recorded as an `error` CallEvent rather than lost."""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger("calls.session")


class CallTasks:
    def __init__(self, call_id: str, recorder) -> None:
        self.call_id = call_id
        self.recorder = recorder
        self.running: set[asyncio.Task] = set()

    def spawn(self, coro, name: str) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro, name=f"{name}-{self.call_id}")
        self.running.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task) -> None:
        self.running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.error("call %s: task %s failed: %r", self.call_id, task.get_name(), exc, exc_info=exc)
            self.recorder.event("error", {"task": task.get_name(), "error": repr(exc)[:300]})

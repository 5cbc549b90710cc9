"""The DB thread: every ORM write of a process runs on one thread, with one long-lived connection.

Async code on the call path never touches the ORM directly; it awaits `run_db(fn, ...)`. One writer keeps writes
in order and suits SQLite; PostgreSQL gets one connection per process instead of one per write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections, connection

from .telemetry.metrics import DB_QUEUE

_db_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="voicebot-db")


async def run_db(fn: Callable, *args):
    """Run ORM work on the shared DB thread."""
    DB_QUEUE.set(_db_thread._work_queue.qsize())  # what waits ahead of this job: the /metrics queue depth
    return await asyncio.get_running_loop().run_in_executor(_db_thread, _on_db_thread, fn, args)


def _on_db_thread(fn: Callable, args: tuple):
    """The DB thread keeps one connection for its whole life instead of opening one per write.

    CONN_MAX_AGE is for request threads, which come and go under ASGI; this thread does every call's writes, and a
    new connection each time (SQLite: open, PRAGMAs, close) was the largest single cost of a turn in the capacity
    profile. A connection that errored and is no longer usable is still replaced (`close_old_connections`).
    """
    if connection.connection is not None and connection.errors_occurred:
        # Only a connection that saw an error is checked (and replaced if broken): `close_old_connections()` on
        # every call would also arm Django's health check, one extra `SELECT 1` round trip per write on PostgreSQL.
        close_old_connections()
    try:
        return fn(*args)
    finally:
        if connection.connection is not None:
            connection.close_at = None  # never obsolete by age on this thread

"""What happens once a media stream has ended and its writes have landed: resume it, or announce the call finished.

Runs in the background of the consumer that served the stream: neither a REST request to the carrier nor the
post-call work started by `calls.signals.call_finished` (automation enqueues it; without a broker it runs
in-process) may hold up the socket's close. The engine does not know what that work is: it only sends the signal.
"""

from __future__ import annotations

import asyncio
import logging

from django.db import close_old_connections, connections

from .models import Call
from .resume import resume_stream
from .signals import call_finished

log = logging.getLogger("calls.stream_end")

_pending: set[asyncio.Task] = set()


def stream_ended(call_pk: int, dropped: bool) -> None:
    """`dropped`: the socket closed with no `stop` and no clean close, so the phone call may still be up."""
    task = asyncio.get_running_loop().create_task(_after(call_pk, dropped), name=f"stream-end-{call_pk}")
    _pending.add(task)
    task.add_done_callback(_pending.discard)


def pending() -> set[asyncio.Task]:
    """The after-stream work still running in this process (a draining process waits for it)."""
    return set(_pending)


async def _after(call_pk: int, dropped: bool) -> None:
    try:
        await asyncio.to_thread(_resume_or_finish, call_pk, dropped)
    except Exception:  # a loop boundary: nothing here may take the process down
        log.exception("call %s: after-stream work failed", call_pk)


def _resume_or_finish(call_pk: int, dropped: bool) -> None:
    close_old_connections()
    try:
        if dropped and resume_stream(call_pk):
            return  # the carrier reconnects; the post-call work waits for the real end
        # The session's writes were drained before this ran (autocommit): the row is final and committed.
        call_finished.send(sender=Call, call_id=call_pk)
    finally:
        connections.close_all()  # this pool thread's own connections: nothing else would ever close them

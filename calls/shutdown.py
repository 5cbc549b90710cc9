"""Graceful shutdown: on SIGTERM a web process drains its calls before it lets the server stop.

1. it stops admitting: every new call gets the overflow answer (admission), and /readyz says "draining" so a load
   balancer stops sending it calls;
2. live calls go on until they end by themselves, for up to `VOICEBOT_DRAIN_S`;
3. those still live then hear a short goodbye (`SHUTDOWN_LINE`) and are hung up, with a `shutdown` CallEvent;
4. a call still live `VOICEBOT_GOODBYE_S` later (its goodbye, hang-up or close took too long) is hung up at once
   (`end_now`), and whatever this process still holds open after that is ended in the database, synchronously
   (`instances.close_own_calls`): daphne cancels every application still running when its reactor stops, so a
   session it cancels never stores its own end, and the call would stay `in-progress` until a reconciler
   elsewhere noticed;
5. their writes and post-call work are awaited, the instance is recorded as stopped, and only then is the server's
   own SIGTERM handler called (uvicorn and daphne both close every socket at once on SIGTERM, which would cut
   the calls off mid-sentence).

The handler is installed by `graceful(app)` on the ASGI app's first call (lifespan start-up under uvicorn
`--lifespan on`; otherwise the first request or socket): by then the server has installed its own handler, which
ours wraps and calls at the end. A second SIGTERM during the drain stops at once (the server's handler).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time

from django.conf import settings

from voicebot.env import env_float

from . import admission, instances, stream_end
from .session.lines import SHUTDOWN_LINE
from .telemetry import metrics

log = logging.getLogger("calls.shutdown")

DRAIN_S = env_float("VOICEBOT_DRAIN_S", 30.0)
#: After the goodbye: time for it to be said and the calls to close.
GOODBYE_S = env_float("VOICEBOT_GOODBYE_S", 10.0)
#: Hanging up the calls still live after the goodbye time (a REST hang-up is bounded by 3 s) and storing their end.
HANG_UP_S = 8.0
#: For the stored writes and the post-call work of the calls that ended.
AFTER_S = 10.0
END_REASON = "server-shutdown"

_installed = False
_drain: asyncio.Task | None = None


def install() -> bool:
    """Wrap the server's SIGTERM handler with the drain (main thread, running loop); once per process."""
    global _installed
    if _installed or threading.current_thread() is not threading.main_thread():
        return False
    loop = asyncio.get_running_loop()
    server_handler = signal.getsignal(signal.SIGTERM)

    def pass_on(sig, frame) -> None:
        if callable(server_handler):
            server_handler(sig, frame)
        else:  # no handler of the server's: exit as SIGTERM would have
            signal.signal(sig, signal.SIG_DFL)
            signal.raise_signal(sig)

    def on_sigterm(sig, frame) -> None:
        global _drain
        if _drain is not None:  # asked again while draining: stop now
            log.warning("second SIGTERM: stopping without waiting for the drain")
            pass_on(sig, frame)
            return

        def begin() -> None:
            global _drain
            _drain = loop.create_task(_drain_then(lambda: pass_on(sig, frame)), name="voicebot-drain")

        loop.call_soon_threadsafe(begin)

    signal.signal(signal.SIGTERM, on_sigterm)
    _installed = True
    return True


async def _drain_then(stop) -> None:
    try:
        await drain()
    except Exception:  # the process must stop in any case, and leave no call of its own open
        log.exception("drain failed")
        try:
            await asyncio.to_thread(instances.close_own_calls, END_REASON, {"drain_failed": True})
        except Exception:
            log.exception("could not end this process's calls at exit (a reconciler elsewhere will)")
    finally:
        stop()


async def drain(drain_s: float | None = None, goodbye_s: float | None = None) -> dict:
    """Stop admitting, let live calls end (up to `drain_s`), say goodbye to the rest; returns what happened."""
    drain_s = DRAIN_S if drain_s is None else drain_s
    goodbye_s = GOODBYE_S if goodbye_s is None else goodbye_s
    admission.start_draining()
    started = time.monotonic()
    live = len(admission.LIVE_SESSIONS)
    log.warning("SIGTERM: draining %d live call(s) for up to %.0f s; new calls get the overflow answer", live, drain_s)
    await _until_no_calls(drain_s)
    goodbye_from = time.monotonic()
    told = await _each(admission.LIVE_SESSIONS, lambda s: s.end_politely(SHUTDOWN_LINE, END_REASON), goodbye_s,
                       "goodbye", {"drain_s": drain_s, "pid": os.getpid()})
    if told:
        log.warning("drain time over: %d call(s) told goodbye", told)
    # Also when none was told: a call already saying its own goodbye (a time limit) gets the time to finish it.
    await _until_no_calls(goodbye_s - (time.monotonic() - goodbye_from))
    left = len(admission.LIVE_SESSIONS)
    if left:
        # A goodbye, hang-up or close that took too long (or a session that could not say one): hang up now.
        log.error("%d call(s) still live %.1f s after the goodbye: hanging up at once", left, goodbye_s)
        for session in admission.LIVE_SESSIONS:  # before: once it has closed, its recorder takes no more
            session.recorder.event("shutdown", {"drain_s": drain_s, "pid": os.getpid(), "hung_up_at_deadline": True})
        await _each(admission.LIVE_SESSIONS, lambda s: s.end_now(END_REASON), HANG_UP_S, "hang-up")
        await _until_no_calls(HANG_UP_S)
    # The calls' own after-work (stream_end: the finished signal, post-call work when it runs in-process).
    pending = stream_end.pending()
    if pending:
        await asyncio.wait(pending, timeout=AFTER_S)
    stuck = list(admission.LIVE_SESSIONS)
    if stuck:
        # Still not closed: what they have queued is written now, before the server cancels them on exit.
        await asyncio.wait([asyncio.ensure_future(s.recorder.drain(2.0)) for s in stuck], timeout=5.0)
    # Whatever this process still holds open is ended in the database before it exits (none, normally).
    forced = await asyncio.to_thread(instances.close_own_calls, END_REASON, {"drain_s": drain_s})
    await asyncio.to_thread(instances.stopped)
    metrics.process_exited()
    summary = {"live_at_start": live, "told_goodbye": told, "left": left, "ended_in_database": len(forced),
               "took_s": round(time.monotonic() - started, 2)}
    log.warning("drain done: %s", summary)
    return summary


async def _each(sessions, act, limit_s: float, what: str, event: dict | None = None) -> int:
    """Run `act(session)` on every live session at once, for up to `limit_s`; with `event`, a `shutdown` CallEvent
    on each that it reached. Returns how many it reached (an act returning False: the call was ending already)."""
    sessions = list(sessions)
    if not sessions:
        return 0
    tasks = {asyncio.ensure_future(act(session)): session for session in sessions}
    done, waiting = await asyncio.wait(tasks, timeout=limit_s)
    reached = 0
    for task in done:
        session = tasks[task]
        if task.cancelled():
            continue
        if task.exception() is not None:
            log.error("call %s: %s at shutdown failed: %r", getattr(session, "call_id", "?"), what, task.exception())
        elif task.result() is not False:
            reached += 1
            if event is not None:
                session.recorder.event("shutdown", event)
    for task in waiting:  # goes on in the background; what is left after the deadlines is ended in the database
        log.error("call %s: %s at shutdown still not done after %.1f s", getattr(tasks[task], "call_id", "?"), what,
                  limit_s)
    return reached


async def _until_no_calls(limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while admission.LIVE_SESSIONS and time.monotonic() < deadline:
        await asyncio.sleep(0.1)


def graceful(app):
    """The ASGI app, with the SIGTERM drain installed on its first call, and the lifespan protocol answered."""
    enabled = settings.VOICEBOT_GRACEFUL_SHUTDOWN

    async def wrapped(scope, receive, send):
        if enabled and not _installed:
            install()
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        return await app(scope, receive, send)

    return wrapped

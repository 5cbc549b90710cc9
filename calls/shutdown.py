"""Graceful shutdown: on SIGTERM a web process drains its calls before it lets the server stop.

1. it stops admitting: every new call gets the overflow answer (admission), and /readyz says "draining" so a load
   balancer stops sending it calls;
2. live calls go on until they end by themselves, for up to `VOICEBOT_DRAIN_S`;
3. those still live then hear a short goodbye (`SHUTDOWN_LINE`) and are hung up, with a `shutdown` CallEvent;
4. their writes and post-call work are awaited, the instance is recorded as stopped, and only then is the server's
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
    except Exception:  # the process must stop in any case
        log.exception("drain failed")
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
    told = 0
    for session in list(admission.LIVE_SESSIONS):
        try:
            if await session.end_politely(SHUTDOWN_LINE, END_REASON):
                told += 1
                session.recorder.event("shutdown", {"drain_s": drain_s, "pid": os.getpid()})
        except Exception:
            log.exception("call %s: goodbye at shutdown failed", getattr(session, "call_id", "?"))
    if told:
        log.warning("drain time over: %d call(s) told goodbye", told)
        await _until_no_calls(goodbye_s)
    left = len(admission.LIVE_SESSIONS)
    if left:
        log.error("%d call(s) still live at shutdown: their sockets are closed by the server", left)
    # The calls' own after-work (stream_end: the finished signal, post-call work when it runs in-process).
    pending = stream_end.pending()
    if pending:
        await asyncio.wait(pending, timeout=AFTER_S)
    await asyncio.to_thread(instances.stopped)
    metrics.process_exited()
    summary = {"live_at_start": live, "told_goodbye": told, "left": left,
               "took_s": round(time.monotonic() - started, 2)}
    log.warning("drain done: %s", summary)
    return summary


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

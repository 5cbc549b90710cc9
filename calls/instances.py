"""Which server process holds each live call, and closing the calls a dead process left open.

A process that serves media streams is a `ServerInstance` row it refreshes every `HEARTBEAT_S` (a daemon thread
started by the ASGI entry point); the consumer stamps each answered call with the instance id (`Call.served_by`).
A `kill -9`, an OOM kill or a lost machine stops the heartbeat but leaves the call `in-progress`; `reconcile()`
finds such calls and closes them: status failed, end reason `server-lost`, a `server_lost` CallEvent, and
`call_finished` so their post-call work runs. Every turn the dead process stored stays as it was.

Calls stuck in `ringing` (the webhook was answered but the media stream never started, or the process died before
it did) are closed by `close_unstarted()` as failed, `no-media`, once no stream can start any more.

Both run at start-up (right after the first heartbeat: a restart after a crash closes the calls of the process it
replaces), every `RECONCILE_EVERY_S` in every web process, from Celery beat (`automation.tasks.reconcile_lost_calls`)
and as `manage.py reconcile_calls`. Running them in several places at once is safe: each call is closed by one
conditional UPDATE, and only the process whose UPDATE matched sends `call_finished`.

A live instance's calls are never touched: a call is lost only when its instance stopped cleanly, stopped
heartbeating for `STALE_S`, or is a process on this host that no longer exists (found at once, without waiting for
the heartbeat to go stale). A call answered less than `STALE_S` ago is left alone whatever its instance says, so a
process whose first heartbeat has not landed yet does not lose its first call.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from datetime import datetime, timedelta

from django.db import close_old_connections, transaction
from django.db.models import Max
from django.utils import timezone

from voicebot.env import env_float

from .models import Call, CallEvent, ServerInstance, Turn
from .signals import call_finished

log = logging.getLogger("calls.instances")

HEARTBEAT_S = env_float("VOICEBOT_HEARTBEAT_S", 10.0)
#: No heartbeat for this long: the process is gone (a few missed beats, so a slow database is not a death).
STALE_S = env_float("VOICEBOT_INSTANCE_STALE_S", 45.0)
RECONCILE_EVERY_S = env_float("VOICEBOT_RECONCILE_EVERY_S", 60.0)
#: Calls stamped by no instance (stored before instances existed) count as lost once this much older.
UNOWNED_AGE_S = 6 * 3600.0
#: Rows of instances dead this long (their calls closed) are deleted.
FORGET_AFTER = timedelta(days=1)

END_REASON = "server-lost"

#: An inbound call still `ringing` this long after its webhook was answered never got its media stream (the
#: carrier did not open it, or the process that answered died first): its stream token (STREAM_TOKEN_TTL_S, 60 s)
#: has long expired, so no stream can start any more. Closed as failed, end reason `no-media`.
NO_MEDIA_S = env_float("VOICEBOT_NO_MEDIA_S", 120.0)
#: Outbound calls ring at the callee's first (Twilio gives up after at most 600 s and tells us with a status
#: callback, which normally closes the call): only a call still ringing well past that is given up.
OUTBOUND_NO_MEDIA_S = env_float("VOICEBOT_OUTBOUND_NO_MEDIA_S", 900.0)
NO_MEDIA_REASON = "no-media"

_id: str | None = None
_stop = threading.Event()
_thread: threading.Thread | None = None


def instance_id() -> str:
    """This process's instance id (host, pid and a random part: a restarted container may reuse host and pid)."""
    global _id
    if _id is None:
        _id = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"
    return _id


def beat() -> None:
    """This process is alive (sync; the heartbeat thread calls it)."""
    now = timezone.now()
    updated = ServerInstance.objects.filter(pk=instance_id()).update(heartbeat_at=now, stopped_at=None)
    if not updated:
        ServerInstance.objects.create(id=instance_id(), host=socket.gethostname()[:255], pid=os.getpid(),
                                      started_at=now, heartbeat_at=now)


def stopped() -> None:
    """This process exits cleanly (after its drain): its calls, if any were left, are closed at once."""
    _stop.set()
    try:
        close_old_connections()
        ServerInstance.objects.filter(pk=instance_id()).update(stopped_at=timezone.now())
        reconcile()
    except Exception:  # exiting must not fail on the way out; the reconciler elsewhere will see the stale beat
        log.exception("could not record this instance's stop")


def close_own_calls(reason: str, detail: dict | None = None) -> list[int]:
    """This process is about to exit: every call it still holds open (in progress, served by this instance) is
    ended now — status completed, `end_reason` `reason`, a `shutdown` CallEvent, and `call_finished` so its
    post-call work runs. Sync (the ORM). The safety net of a drain whose sessions could not end by themselves in
    time: under daphne the server cancels them on exit without their own end being stored."""
    close_old_connections()
    now = timezone.now()
    closed = []
    for pk in Call.objects.filter(status=Call.Status.IN_PROGRESS, served_by=instance_id()).values_list("pk", flat=True):
        with transaction.atomic():
            won = Call.objects.filter(pk=pk, status=Call.Status.IN_PROGRESS).update(
                status=Call.Status.COMPLETED, end_reason=reason, ended_at=now, stream_nonce="")
            if not won:
                continue  # it ended by itself meanwhile
            call = Call.objects.only("workspace_id").get(pk=pk)
            CallEvent.objects.create(call_id=pk, workspace_id=call.workspace_id, kind=CallEvent.Kind.SHUTDOWN,
                                     detail={"ended_by": "shutdown", "pid": os.getpid(), **(detail or {})})
        closed.append(pk)
        log.warning("call %s ended at exit: still open when this process stopped", pk)
        try:
            call_finished.send(sender=Call, call_id=pk)
        except Exception:  # one call's post-call work must not keep the others open
            log.exception("call %s: post-call work after shutdown failed to start", pk)
    return closed


def start_heartbeat() -> None:
    """Start the heartbeat thread (once per process): beat, reconcile at start-up, then beat and reconcile."""
    global _thread
    if _thread is not None:
        return
    _stop.clear()
    _thread = threading.Thread(target=_run, name="voicebot-heartbeat", daemon=True)
    _thread.start()


def _run() -> None:
    first, since_reconcile = True, 0.0
    while True:
        try:
            close_old_connections()
            beat()
            if first or since_reconcile >= RECONCILE_EVERY_S:
                closed = reconcile()
                if closed:
                    log.warning("closed %d call(s) left open by a server that is gone: %s", len(closed), closed)
                unstarted = close_unstarted()
                if unstarted:
                    log.warning("closed %d call(s) whose media never started: %s", len(unstarted), unstarted)
                first, since_reconcile = False, 0.0
        except Exception:  # the database may be down for a while: keep beating when it is back
            log.exception("heartbeat failed")
        if _stop.wait(HEARTBEAT_S):
            return
        since_reconcile += HEARTBEAT_S


# ---------------------------------------------------------------- the reconciler


def live_instances(now: datetime | None = None) -> set[str]:
    """Ids of the instances that are alive: a fresh heartbeat, not stopped, and (on this host) a running process."""
    now = now or timezone.now()
    fresh = ServerInstance.objects.filter(stopped_at__isnull=True, heartbeat_at__gte=now - timedelta(seconds=STALE_S))
    host = socket.gethostname()[:255]
    alive = set()
    for inst in fresh.only("id", "host", "pid"):
        if inst.host == host and inst.id != instance_id() and not _process_exists(inst.pid):
            continue  # it crashed here, moments ago: no need to wait for its heartbeat to go stale
        alive.add(inst.id)
    return alive


def _process_exists(pid: int) -> bool:
    if pid == os.getpid():
        return False  # a different instance id with our pid: the process before us (a restarted container)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: exists
    return True


def reconcile(now: datetime | None = None) -> list[int]:
    """Close the in-progress calls whose server is gone; returns their pks. Sync (the ORM)."""
    now = now or timezone.now()
    alive = live_instances(now)
    settled = now - timedelta(seconds=STALE_S)
    candidates = (Call.objects.filter(status=Call.Status.IN_PROGRESS, answered_at__lt=settled)
                  .exclude(served_by__in=alive)
                  .values_list("pk", "served_by", "answered_at"))
    beats = dict(ServerInstance.objects.values_list("id", "heartbeat_at"))
    closed = []
    for pk, served_by, answered_at in candidates:
        if not served_by and answered_at >= now - timedelta(seconds=UNOWNED_AGE_S):
            continue  # no owner recorded (before instances existed): only when surely over
        if _close_lost(pk, served_by, beats.get(served_by), now):
            closed.append(pk)
    ServerInstance.objects.exclude(pk__in=alive).filter(heartbeat_at__lt=now - FORGET_AFTER).delete()
    return closed


def _close_lost(pk: int, served_by: str, last_beat: datetime | None, now: datetime) -> bool:
    last_turn = Turn.objects.filter(call_id=pk).aggregate(m=Max("ended_at"))["m"]
    # The end is the last sign of life we have (its last stored turn, its server's last heartbeat), not now.
    signs = [t for t in (last_turn, last_beat) if t is not None]
    ended_at = min(max(signs), now) if signs else now
    with transaction.atomic():
        won = Call.objects.filter(pk=pk, status=Call.Status.IN_PROGRESS).update(
            status=Call.Status.FAILED, end_reason=END_REASON, ended_at=ended_at, stream_nonce="")
        if not won:
            return False  # ended meanwhile, or another reconciler got it
        call = Call.objects.only("workspace_id").get(pk=pk)
        CallEvent.objects.create(call_id=pk, workspace_id=call.workspace_id, kind=CallEvent.Kind.SERVER_LOST,
                                 detail={"instance": served_by or None,
                                         "last_heartbeat": last_beat.isoformat() if last_beat else None,
                                         "closed_by": instance_id()})
    log.warning("call %s closed: its server %s is gone (last heartbeat %s)", pk, served_by or "(none)", last_beat)
    # After the commit, like every other end of a call: the post-call work reads a final row.
    try:
        call_finished.send(sender=Call, call_id=pk)
    except Exception:  # a receiver's failure must not stop the other lost calls being closed
        log.exception("call %s: post-call work after server-lost failed to start", pk)
    return True


def close_unstarted(now: datetime | None = None) -> list[int]:
    """Close the calls left `ringing` whose media never started (NO_MEDIA_S after the webhook; outbound calls
    OUTBOUND_NO_MEDIA_S after dialling): failed, end reason `no-media`, a `no_media` CallEvent, and their post-call
    work. Returns their pks. Sync (the ORM); safe to run in several places at once (one conditional UPDATE each)."""
    now = now or timezone.now()
    inbound = Call.objects.filter(status=Call.Status.RINGING, direction=Call.Direction.INBOUND,
                                  created_at__lt=now - timedelta(seconds=NO_MEDIA_S))
    outbound = Call.objects.filter(status=Call.Status.RINGING, direction=Call.Direction.OUTBOUND,
                                   created_at__lt=now - timedelta(seconds=OUTBOUND_NO_MEDIA_S))
    closed = []
    for pk, workspace_id, created_at, direction in (inbound | outbound).values_list(
            "pk", "workspace_id", "created_at", "direction"):
        with transaction.atomic():
            won = Call.objects.filter(pk=pk, status=Call.Status.RINGING).update(
                status=Call.Status.FAILED, end_reason=NO_MEDIA_REASON, ended_at=now, stream_nonce="")
            if not won:
                continue  # its stream started (or it ended) meanwhile, or another reconciler got it
            CallEvent.objects.create(call_id=pk, workspace_id=workspace_id, kind=CallEvent.Kind.NO_MEDIA,
                                     detail={"direction": direction,
                                             "ringing_s": round((now - created_at).total_seconds()),
                                             "closed_by": instance_id()})
        closed.append(pk)
        log.warning("call %s closed: no media stream %.0f s after it was answered", pk,
                    (now - created_at).total_seconds())
        try:
            call_finished.send(sender=Call, call_id=pk)
        except Exception:  # a receiver's failure must not keep the other calls open
            log.exception("call %s: post-call work after no-media failed to start", pk)
    return closed

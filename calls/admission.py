"""Admission control: a process takes no more calls than it can hold; the rest get a polite overflow at once.

Overload must show up as a refusal, never as delay for the calls already talking. The one decision lives here
and every entry point asks it:

- the voice webhooks (Twilio `<Connect>`, Telnyx TeXML and Call Control) call `admit()` before answering: beyond
  the limit the caller hears a short apology and the call ends, or is put through to `OVERFLOW_NUMBER` when one
  is configured (`overflow_number()`; the answer itself is the carriers', calls.carriers.voice_xml.overflow);
- the media consumer calls `admit_stream()` when a stream starts: a stream that lands on a process already
  holding its limit of sessions (the webhook was answered by another process, or a burst slipped past) is closed
  with code 1013 "Try Again Later" before any session is built.

What a process holds is `settings.MAX_CONCURRENT_CALLS` live sessions (`LIVE_SESSIONS`: the media consumer
registers each session it builds and unregisters it when it ends; each server process holds its own sockets, so
the count is per process) plus the calls this process admitted at the
webhook in the last `RESERVATION_S` whose stream has not started yet — without those, a burst of webhooks would
all be admitted before the first stream arrives. A reservation whose stream lands on another process simply
expires; the media socket counts sessions only. Per-process counting is approximate when webhooks and streams
are spread over processes independently (a load balancer, SO_REUSEPORT): the media check is the exact guard.
Every refusal is counted (`REFUSED`) and stored: the Call row with status "rejected" and a CallEvent of kind
"overflow".
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from voicebot.env import env_str

from .telemetry import metrics

log = logging.getLogger("calls.admission")

RESERVATION_S = 15.0  # a carrier opens the stream within a second or two of our answer; tokens live 60 s
CLOSE_TRY_AGAIN_LATER = 1013  # RFC 6455 §7.4.1 / IANA: "Try Again Later" (the server is overloaded)

#: Process-wide count of refused calls, by where they were refused ("webhook" | "media").
REFUSED: Counter = Counter()

_lock = threading.Lock()  # webhooks run in Django's sync thread, streams on the event loop
_reserved: dict[str, float] = {}  # call id -> monotonic expiry
_starting: set[str] = set()  # streams admitted, session not yet live (its start does database work)

_draining = False  # the process is shutting down (calls.shutdown): it admits nothing new

#: The live call sessions of this process (the consumer registers them; kept here so admission needs no consumer).
LIVE_SESSIONS: set = set()


@dataclass(frozen=True, slots=True)
class Decision:
    admit: bool
    live: int  # live sessions in this process
    reserved: int  # admitted at the webhook, stream not started yet
    limit: int

    @property
    def detail(self) -> dict:
        detail = {"live": self.live, "reserved": self.reserved, "limit": self.limit, "pid": _pid()}
        return {**detail, "draining": True} if _draining else detail


def limit() -> int:
    return int(settings.MAX_CONCURRENT_CALLS)


def overflow_number() -> str:
    """Where overflow calls are put through (E.164), or "" to apologise and hang up."""
    return (getattr(settings, "OVERFLOW_NUMBER", None) or env_str("OVERFLOW_NUMBER") or "").strip()


def register(session) -> None:
    """A session is live in this process: it counts against the limit until `unregister`."""
    if session not in LIVE_SESSIONS:
        LIVE_SESSIONS.add(session)
        metrics.LIVE_CALLS.inc()


def unregister(session) -> None:
    if session in LIVE_SESSIONS:
        LIVE_SESSIONS.discard(session)
        metrics.LIVE_CALLS.dec()


def start_draining() -> None:
    """From now on every call is refused with the overflow answer (the process is shutting down)."""
    global _draining
    _draining = True


def draining() -> bool:
    return _draining


def live_sessions() -> int:
    return len(LIVE_SESSIONS)


def _pid() -> int:
    import os

    return os.getpid()


def _expire(now: float) -> None:
    for call_id in [c for c, until in _reserved.items() if until <= now]:
        del _reserved[call_id]


def admit(call_id: str) -> Decision:
    """Webhook: may this process answer `call_id`? If so, its place is held until its stream starts."""
    now = time.monotonic()
    cap = limit()
    with _lock:
        _expire(now)
        live, reserved = live_sessions(), len(_reserved)
        if call_id in _reserved:  # a carrier retry of a call already admitted
            return Decision(True, live, reserved, cap)
        ok = live + reserved < cap and not _draining
        if ok:
            _reserved[call_id] = now + RESERVATION_S
    if ok:
        metrics.ADMITTED.labels("webhook").inc()
    return Decision(ok, live, reserved, cap)


def admit_stream(call_id: str) -> Decision:
    """Media socket: may this stream become a live session here? Consumes the call's reservation if it has one.

    Only sessions count here, not reservations: with several processes a stream often lands on another process
    than the one that answered its webhook, and must not be refused for places held by calls that will start
    elsewhere. An admitted stream counts as live from here on; call `settled(call_id)` once its session is in
    LIVE_SESSIONS (or its start failed), so a burst of streams cannot all pass before the first session exists.
    """
    cap = limit()
    with _lock:
        _expire(time.monotonic())
        _reserved.pop(call_id, None)
        live, reserved = live_sessions() + len(_starting), len(_reserved)
        ok = live < cap and not _draining
        if ok:
            _starting.add(call_id)
    if ok:
        metrics.ADMITTED.labels("media").inc()
    return Decision(ok, live, reserved, cap)


def settled(call_id: str) -> None:
    """The admitted stream's session is live (now counted in LIVE_SESSIONS), or never will be."""
    with _lock:
        _starting.discard(call_id)


def reset() -> None:
    """Tests: forget every reservation and count."""
    global _draining
    _draining = False
    with _lock:
        _reserved.clear()
        _starting.clear()
    REFUSED.clear()


# ---------------------------------------------------------------- the record of a refusal


def record_overflow(carrier: str, number, call_id: str, from_number: str, decision: Decision, where: str,
                    direction: str = "inbound") -> None:
    """Store a refused call (status "rejected") and its "overflow" CallEvent. Sync: call via run_db on the loop."""
    from .models import Call, CallEvent

    REFUSED[where] += 1
    metrics.REFUSED.labels(where, "draining" if _draining else "limit").inc()
    action = "dial" if where == "webhook" and overflow_number() else ("hangup" if where == "webhook" else "close-1013")
    if _draining:
        log.warning("%s call %s refused at the %s: this process is shutting down (%s)", carrier, call_id or "?", where,
                    action)
    else:
        log.warning("%s call %s refused at the %s: %d live + %d reserved >= limit %d (%s)", carrier, call_id or "?",
                    where, decision.live, decision.reserved, decision.limit, action)
    now = timezone.now()
    fields = {"status": Call.Status.REJECTED, "end_reason": "overflow", "ended_at": now}
    call = Call.objects.filter(carrier=carrier, carrier_call_id=call_id).first() if call_id else None
    if call is None:
        if number is None:
            return
        call = Call.objects.create(carrier=carrier, carrier_call_id=call_id, workspace=number.workspace,
                                   agent=number.agent, from_number=from_number, to_number=number.e164,
                                   direction=direction, **fields)
    else:
        # Only a call that never got going is marked rejected (not a live call whose webhook was retried).
        Call.objects.filter(pk=call.pk, status=Call.Status.RINGING).update(stream_nonce="", **fields)
    CallEvent.objects.create(call=call, workspace_id=call.workspace_id, kind=CallEvent.Kind.OVERFLOW,
                             detail={"where": where, "action": action, **decision.detail})

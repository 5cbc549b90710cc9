"""Reconnecting a dropped media stream while the phone call itself is still up.

The carrier keeps the call when only our socket dies (a proxy restart, a network blip): we reopen the Call row,
issue a fresh single-use token and ask the carrier, over REST, to stream again — Twilio by replacing the call's
TwiML with a new `<Connect><Stream>` (the TwiML after the old one pauses, see twilio/twiml.py), Telnyx by
`start_streaming`. The new socket may reach any process: the session is rebuilt from the database (turns, and the
brain state written with every agent turn), continues the turn indices and skips the greeting.

Needs REST credentials. Without them nobody can ask the carrier, so the call is finished as before.

How to ask is the carrier's (`CarrierKit.resume`, found in calls.carriers.registry); when and how often, and what
the row says meanwhile, is decided here once for all carriers. The carrier folders never import this module.
"""

from __future__ import annotations

import logging

from django.utils import timezone

from .carriers import registry
from .carriers.common import grant_stream
from .carriers.rest_errors import CarrierRestError, NotConfigured
from .models import Call, CallEvent

log = logging.getLogger("calls.resume")

MAX_RESUMES = 3  # a stream that keeps dropping is not worth chasing forever


def resume_stream(call_pk: int) -> bool:
    """Ask the carrier to reconnect the call's stream. True when asked; False when the call is to be finished."""
    call = Call.objects.select_related("agent").filter(pk=call_pk).first()
    kit = registry.kit(call.carrier) if call is not None else None
    if kit is None or kit.resume is None:
        return False
    try:
        kit.resume.check_configured()
    except NotConfigured as exc:
        log.info("call %s: stream dropped; cannot resume: %s", call.carrier_call_id, exc)
        _note(call, "resume_unavailable", str(exc))
        return False
    resumes = CallEvent.objects.filter(call=call, kind=CallEvent.Kind.INFO, detail__stream="resume_requested").count()
    if resumes >= MAX_RESUMES:
        _note(call, "resume_refused", f"already resumed {resumes} times")
        return False
    ended_at = call.ended_at
    # Reopen before asking: the new stream may reach another process before the REST request even returns.
    Call.objects.filter(pk=call.pk).update(status=Call.Status.IN_PROGRESS, ended_at=None, end_reason="")
    try:
        kit.resume.reconnect(call, grant_stream(call))
    except CarrierRestError as exc:
        log.warning("call %s: stream dropped and not resumed: %s", call.carrier_call_id, exc)
        Call.objects.filter(pk=call.pk).update(status=Call.Status.COMPLETED, ended_at=ended_at or timezone.now(),
                                               end_reason="stream-dropped", stream_nonce="")
        _note(call, "resume_failed", str(exc))
        return False
    log.info("call %s: stream dropped; carrier asked to reconnect", call.carrier_call_id)
    _note(call, "resume_requested")
    return True


def _note(call: Call, what: str, error: str = "") -> None:
    detail = {"stream": what, **({"error": error[:300]} if error else {})}
    CallEvent.objects.create(call=call, workspace_id=call.workspace_id, kind=CallEvent.Kind.INFO, detail=detail)

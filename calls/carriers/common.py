"""Helpers shared by the carriers' webhooks: URLs as the carrier sees them, call admission, status callbacks."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from .. import admission, stream_tokens
from ..db import run_db
from ..models import Call, CallEvent, PhoneNumber

log = logging.getLogger("calls.carriers")

# The status words (TwiML's; TeXML and our Telnyx mapping use them too) that mean the call is over.
TERMINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


def public_url(path: str) -> str:
    """The absolute URL a carrier uses for `path` (what it signs)."""
    return settings.PUBLIC_BASE_URL + path


def stream_url(carrier: str) -> str:
    """The media WebSocket URL for a carrier, derived from PUBLIC_BASE_URL (https → wss)."""
    base = settings.PUBLIC_BASE_URL
    if base.startswith("https://"):
        base = "wss://" + base[len("https://") :]
    elif base.startswith("http://"):
        base = "ws://" + base[len("http://") :]
    return f"{base}/media/{carrier}"


def find_number(carrier: str, to_number: str) -> PhoneNumber | None:
    return PhoneNumber.objects.select_related("agent", "workspace").filter(carrier=carrier, e164=to_number).first()


def open_call(carrier: str, number: PhoneNumber, call_id: str, from_number: str, direction: str) -> str:
    """Create (or re-open, on a carrier retry) the Call and return a fresh stream token for it."""
    token, nonce = stream_tokens.issue(call_id)
    fields = dict(carrier=carrier, carrier_call_id=call_id, workspace=number.workspace, agent=number.agent,
                  from_number=from_number, to_number=number.e164, direction=direction, stream_nonce=nonce)
    try:
        # A new call is the common case: one INSERT (get_or_create would SELECT first and wrap it in savepoints).
        if connection.get_autocommit():
            Call.objects.create(**fields)  # one statement: a failed INSERT leaves nothing to roll back
        else:
            with transaction.atomic():  # inside a caller's transaction: the savepoint keeps it usable
                Call.objects.create(**fields)
    except IntegrityError:
        # The carrier retried the webhook: the newest token wins, older ones stop working.
        Call.objects.filter(carrier=carrier, carrier_call_id=call_id).update(stream_nonce=nonce)
    return token


@dataclass(frozen=True, slots=True)
class Answer:
    """What a voice webhook learned from the database: whose number, and whether the call may stream."""

    number: PhoneNumber | None  # None: not one of our numbers
    token: str = ""  # the stream token, when admitted
    overflow: bool = False  # beyond this process's capacity (already recorded)


async def answer_voice_webhook(carrier: str, form) -> Answer:
    """A carrier's voice webhook form (TwiML and TeXML share the field names) → `answer_call` on the DB thread."""
    direction = "outbound" if form.get("Direction", "").startswith("outbound") else "inbound"
    return await run_db(answer_call, carrier, form.get("CallSid", ""), form.get("From", ""), form.get("To", ""),
                        direction)


def answer_call(carrier: str, call_id: str, from_number: str, to_number: str, direction: str) -> Answer:
    """The database half of a voice webhook: the number, admission, the Call row and its stream token.

    Synchronous, for the async webhook views to run on the DB thread (`calls.db.run_db`): one long-lived
    connection instead of a request thread and a new connection per webhook (≈ 40 % of a webhook's cost on SQLite).
    """
    number = find_number(carrier, to_number) if call_id else None
    if number is None:
        record_unknown_number(carrier, call_id, from_number, to_number)
        return Answer(None)
    decision = admission.admit(call_id)
    if not decision.admit:
        admission.record_overflow(carrier, number, call_id, from_number, decision, "webhook", direction)
        return Answer(number, overflow=True)
    return Answer(number, token=open_call(carrier, number, call_id, from_number, direction))


def grant_stream(call: Call) -> str:
    """A fresh stream token for an existing call (outbound answer, stream resume); older tokens stop working."""
    token, nonce = stream_tokens.issue(call.carrier_call_id)
    Call.objects.filter(pk=call.pk).update(stream_nonce=nonce)
    return token


def record_unknown_number(carrier: str, call_id: str, from_number: str, to_number: str) -> None:
    log.warning("%s call %s to unknown number %s from %s: apologising and hanging up", carrier, call_id, to_number, from_number)


def status_callback(carrier: str, form) -> None:
    """A TwiML/TeXML status callback form (CallSid, CallStatus, CallDuration) → `update_status`."""
    update_status(carrier, form.get("CallSid", ""), form.get("CallStatus", ""), form.get("CallDuration"))


def update_status(carrier: str, call_id: str, status: str, duration_s: str | None = None) -> None:
    """Apply a carrier status callback. Unknown calls are ignored (the carrier still gets a 200)."""
    terminal = TERMINAL_STATUSES
    call = Call.objects.filter(carrier=carrier, carrier_call_id=call_id).first()
    if call is None:
        log.info("%s status %r for unknown call %s ignored", carrier, status, call_id)
        return
    fields = {}
    if status in terminal:
        if call.status not in (Call.Status.COMPLETED, Call.Status.FAILED):
            fields["status"] = Call.Status.COMPLETED if status == "completed" else Call.Status.FAILED
        if not call.ended_at:
            fields["ended_at"] = timezone.now()
        if not call.end_reason:
            fields["end_reason"] = f"carrier:{status}"
    if fields:
        Call.objects.filter(pk=call.pk).update(**fields)
    if status in terminal and status != "completed":
        CallEvent.objects.create(call=call, workspace_id=call.workspace_id, kind=CallEvent.Kind.HANGUP,
                                 detail={"carrier_status": status, "duration_s": duration_s})

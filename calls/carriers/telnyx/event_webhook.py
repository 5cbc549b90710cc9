"""The envelope of Telnyx's Call Control webhooks, read the same way for the calls we answer (webhooks.events) and
the calls we dial (outbound_hooks.events): the Ed25519 signature, then `{"data": {"event_type", "payload"}}`."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..base import MAX_NESTING, too_deep
from .signature import verified

log = logging.getLogger("calls.carriers.telnyx")

# Telnyx hangup causes -> the status words common.update_status knows (TwiML's, which TeXML also uses).
HANGUP_STATUS = {
    "normal_clearing": "completed",
    "user_busy": "busy",
    "timeout": "no-answer",
    "no_answer": "no-answer",
    "originator_cancel": "canceled",
    "call_rejected": "failed",
    "not_found": "failed",
    "unallocated_number": "failed",
}


def parse_event(body: bytes) -> tuple[str, dict]:
    """(event_type, payload); raises ValueError, KeyError, TypeError or RecursionError for anything else."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body  # UnicodeDecodeError is a ValueError
    if too_deep(text):
        raise ValueError(f"nested deeper than {MAX_NESTING} levels")
    data = json.loads(text)["data"]
    kind, payload = str(data["event_type"]), data["payload"]
    if not isinstance(payload, dict):
        raise TypeError("payload is not an object")
    return kind, payload


def call_control_webhook(label: str) -> Callable:
    """A Call Control endpoint around `handle(kind, payload)`: 403 unsigned, 400 not an event, else 204 — for
    unknown or late events too: a 2xx stops Telnyx retrying."""

    def decorate(handle: Callable[[str, dict], None]):
        @csrf_exempt
        @require_POST
        @wraps(handle)
        def view(request: HttpRequest) -> HttpResponse:
            if not verified(request):
                return HttpResponseForbidden("invalid signature")
            try:
                kind, payload = parse_event(request.body)
            except (ValueError, KeyError, TypeError, RecursionError) as exc:  # RecursionError: "[[[[…" too deep
                log.warning("%s rejected: not a Call Control event (%s)", label, str(exc)[:200])
                return HttpResponseBadRequest("not a call control event")
            handle(kind, payload)
            return HttpResponse(status=204)

        return view

    return decorate

"""Telnyx webhooks, both flavours, on the same media pipeline.

- TeXML (form-encoded, TwiML-like): `/telnyx/texml` answers with `<Connect><Stream>` to our media socket
  (texml.py), `/telnyx/status` takes status callbacks.
- Call Control (JSON events): `/telnyx/events` answers `call.initiated` through the SDK with the same stream
  (control.py) and records `call.hangup`.

Every request must carry a valid Ed25519 signature (signature.py); anything else gets a 403.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ... import admission
from ...models import Call, Carrier
from ...providers.base import ProviderError
from .. import common, voice_xml
from . import control
from .event_webhook import HANGUP_STATUS, call_control_webhook
from .signature import verified
from .stream_format import stream_format
from .texml import stream_texml

log = logging.getLogger("calls.carriers.telnyx")


# ---------------------------------------------------------------------------------------------------- TeXML


@csrf_exempt
@require_POST
async def texml(request: HttpRequest) -> HttpResponse:
    # Async, as Twilio's voice webhook: the database work runs on the DB thread (common.answer_call).
    if not verified(request):
        return HttpResponseForbidden("invalid signature")
    return await voice_xml.answer_voice(Carrier.TELNYX, request.POST, _connect)


def _connect(answer: common.Answer):
    return stream_texml(answer.token, stream_format(answer.number.agent))  # the agent's codec and rate


@csrf_exempt
@require_POST
def status(request: HttpRequest) -> HttpResponse:
    if not verified(request):
        return HttpResponseForbidden("invalid signature")
    common.status_callback(Carrier.TELNYX, request.POST)
    return HttpResponse(status=204)


# ------------------------------------------------------------------------------------------------ Call Control


@call_control_webhook("telnyx event")
def events(kind: str, payload: dict) -> None:
    call_id = str(payload.get("call_control_id") or "")
    if kind == "call.initiated":
        _initiated(call_id, payload)
    elif kind == "call.hangup":
        cause = str(payload.get("hangup_cause") or "")
        common.update_status(Carrier.TELNYX, call_id, HANGUP_STATUS.get(cause, "completed"))
    elif kind == "streaming.failed":
        log.warning("telnyx call %s: media stream failed: %s", call_id, str(payload.get("failure_reason", ""))[:200])
    # Everything else (call.answered, streaming.started/stopped, ...) needs no action.


def _initiated(call_id: str, payload: dict) -> None:
    if payload.get("direction") != "incoming":
        return  # our own outbound legs: dialled with their stream already
    to_number, from_number = str(payload.get("to") or ""), str(payload.get("from") or "")
    if Call.objects.filter(carrier=Carrier.TELNYX, carrier_call_id=call_id).exists():
        # A redelivered webhook. Answering again would issue a new token and kill the one already on its way.
        log.info("telnyx call %s: duplicate call.initiated ignored", call_id)
        return
    number = common.find_number(Carrier.TELNYX, to_number) if call_id else None
    if not settings.TELNYX_API_KEY:
        log.error("telnyx call %s: Call Control needs TELNYX_API_KEY to answer; call left ringing", call_id)
        return
    if number is None:
        common.record_unknown_number(Carrier.TELNYX, call_id, from_number, to_number)
        _reject(call_id)
        return
    decision = admission.admit(call_id)
    if not decision.admit:
        # Call Control has no TwiML to answer with: the overflow is a reject (the carrier plays busy).
        admission.record_overflow(Carrier.TELNYX, number, call_id, from_number, decision, "webhook")
        _reject(call_id)
        return
    token = common.open_call(Carrier.TELNYX, number, call_id, from_number, "inbound")
    try:
        control.answer_with_stream(call_id, token, stream_format(number.agent))
    except ProviderError as exc:
        log.error("telnyx call %s not answered: %s", call_id, exc)
        common.update_status(Carrier.TELNYX, call_id, "failed")


def _reject(call_id: str) -> None:
    try:
        control.reject(call_id)
    except ProviderError as exc:
        log.warning("telnyx call %s: %s", call_id, exc)

"""Telnyx webhooks, both flavours, on the same media pipeline.

- TeXML (form-encoded, TwiML-like): `/telnyx/texml` answers with `<Connect><Stream>` to our media socket,
  `/telnyx/status` takes status callbacks.
- Call Control (JSON events): `/telnyx/events` answers `call.initiated` through the SDK with the same stream and
  records `call.hangup`.

Every request must carry a valid Ed25519 signature (telnyx_signature); anything else gets a 403.

TeXML is built with xml.etree rather than twilio's VoiceResponse: the attributes that matter here
(`bidirectionalMode`, `bidirectionalCodec`, `bidirectionalSamplingRate`) are Telnyx's, not TwiML's, and a
dozen lines of ElementTree keep Telnyx output independent of how the Twilio SDK camel-cases keyword names.
"""

from __future__ import annotations

import json
import logging
import xml.etree.ElementTree as ET

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .. import admission
from ..models import Call, Carrier
from ..providers.base import ProviderError
from . import common, telnyx_signature
from .telnyx_format import stream_format

log = logging.getLogger("calls.carriers.telnyx")

APOLOGY = "Sorry, this number is not in service. Goodbye."
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


def _texml(root: ET.Element) -> HttpResponse:
    body = b'<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return HttpResponse(body, content_type="application/xml")


# ---------------------------------------------------------------------------------------------------- TeXML


@csrf_exempt
@require_POST
async def texml(request: HttpRequest) -> HttpResponse:
    # Async, as Twilio's voice webhook: the database work runs on the DB thread (common.answer_call).
    if not telnyx_signature.verified(request):
        return HttpResponseForbidden("invalid signature")
    answer = await common.answer_voice_webhook(Carrier.TELNYX, request.POST)
    root = ET.Element("Response")
    if answer.number is None:
        ET.SubElement(root, "Say").text = APOLOGY
        ET.SubElement(root, "Hangup")
        return _texml(root)
    if answer.overflow:
        return HttpResponse(admission.overflow_twiml(), content_type="application/xml")
    number, token = answer.number, answer.token
    fmt = stream_format(number.agent)
    stream = ET.SubElement(ET.SubElement(root, "Connect"), "Stream", {
        "url": common.stream_url(Carrier.TELNYX),
        "track": "inbound_track",
        "codec": fmt.codec,
        # Telnyx plays audio sent back as mp3 unless told otherwise; rtp takes raw frames in bidirectionalCodec.
        "bidirectionalMode": "rtp",
        "bidirectionalCodec": fmt.codec,
        "bidirectionalSamplingRate": str(fmt.sample_rate),
    })
    # TeXML is TwiML-compatible and Telnyx delivers stream parameters as `start.custom_parameters`; that TeXML
    # accepts `<Parameter>` inside `<Stream>` is not confirmed in Telnyx's reference (PROTOCOLS.md: not
    # verified), and TeXML offers no other per-stream field. L16 as a TeXML codec is likewise unverified; the
    # Call Control API lists it (use /telnyx/events for wideband if TeXML refuses it).
    ET.SubElement(stream, "Parameter", {"name": "token", "value": token})
    # Reached only when our server closes the stream: that is how a TeXML call ends without REST credentials.
    ET.SubElement(root, "Hangup")
    return _texml(root)


@csrf_exempt
@require_POST
def status(request: HttpRequest) -> HttpResponse:
    if not telnyx_signature.verified(request):
        return HttpResponseForbidden("invalid signature")
    common.update_status(
        Carrier.TELNYX, request.POST.get("CallSid", ""), request.POST.get("CallStatus", ""),
        request.POST.get("CallDuration"),
    )
    return HttpResponse(status=204)


# ------------------------------------------------------------------------------------------------ Call Control


@csrf_exempt
@require_POST
def events(request: HttpRequest) -> HttpResponse:
    if not telnyx_signature.verified(request):
        return HttpResponseForbidden("invalid signature")
    try:
        data = json.loads(request.body)["data"]
        kind = str(data["event_type"])
        payload = data["payload"]
        if not isinstance(payload, dict):
            raise TypeError("payload is not an object")
    except (ValueError, KeyError, TypeError, RecursionError) as exc:  # RecursionError: "[[[[…" nested too deep
        log.warning("telnyx event rejected: not a Call Control event (%s)", str(exc)[:200])
        return HttpResponseBadRequest("not a call control event")
    call_id = str(payload.get("call_control_id") or "")
    if kind == "call.initiated":
        _initiated(call_id, payload)
    elif kind == "call.hangup":
        cause = str(payload.get("hangup_cause") or "")
        common.update_status(Carrier.TELNYX, call_id, HANGUP_STATUS.get(cause, "completed"))
    elif kind == "streaming.failed":
        log.warning("telnyx call %s: media stream failed: %s", call_id, str(payload.get("failure_reason", ""))[:200])
    # Everything else (call.answered, streaming.started/stopped, ...) needs no action; a 2xx stops retries.
    return HttpResponse(status=204)


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
    from . import telnyx_control

    if number is None:
        common.record_unknown_number(Carrier.TELNYX, call_id, from_number, to_number)
        try:
            telnyx_control.reject(call_id)
        except ProviderError as exc:
            log.warning("telnyx call %s: %s", call_id, exc)
        return
    decision = admission.admit(call_id)
    if not decision.admit:
        # Call Control has no TwiML to answer with: the overflow is a reject (the carrier plays busy).
        admission.record_overflow(Carrier.TELNYX, number, call_id, from_number, decision, "webhook")
        try:
            telnyx_control.reject(call_id)
        except ProviderError as exc:
            log.warning("telnyx call %s: %s", call_id, exc)
        return
    token = common.open_call(Carrier.TELNYX, number, call_id, from_number, "inbound")
    try:
        telnyx_control.answer_with_stream(call_id, token, stream_format(number.agent))
    except ProviderError as exc:
        log.error("telnyx call %s not answered: %s", call_id, exc)
        common.update_status(Carrier.TELNYX, call_id, "failed")

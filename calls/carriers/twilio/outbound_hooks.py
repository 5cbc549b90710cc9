"""Twilio's callbacks for the calls we dial: the answer (TwiML, with the AMD verdict) and status changes.

Both URLs carry `?call=<pk>` (Twilio signs the full URL, query included), so a callback finds its row even if it
overtakes `place_call` storing the CallSid.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.twiml.voice_response import VoiceResponse

from ...models import Call, Carrier
from .. import common, dialled
from ..voice_xml import xml_response
from .signature import verified
from .twiml import stream_twiml

log = logging.getLogger("calls.carriers.twilio")

def answered_by(value: str) -> str:
    """Twilio's AnsweredBy (human, machine_start, machine_end_beep|silence|other, fax, unknown) in our three words."""
    if not value:
        return ""
    if value.startswith("machine") or value == "fax":
        return "machine"
    return "human" if value == "human" else "unknown"


def _outbound_call(request: HttpRequest) -> Call | None:
    pk = request.GET.get("call", "")
    call = Call.objects.select_related("agent").filter(
        pk=int(pk) if pk.isdigit() else 0, carrier=Carrier.TWILIO, direction=Call.Direction.OUTBOUND).first()
    if call is None or not dialled.adopt_carrier_id(call, request.POST.get("CallSid", "")):
        log.warning("twilio outbound callback for unknown call %r (CallSid %s)", pk, request.POST.get("CallSid"))
        return None
    return call


@csrf_exempt
@require_POST
def answer(request: HttpRequest) -> HttpResponse:
    if not verified(request):
        return HttpResponseForbidden("invalid signature")
    call = _outbound_call(request)
    response = VoiceResponse()
    if call is None:
        response.hangup()
        return xml_response(response)
    action = dialled.record_answer(call, answered_by(request.POST.get("AnsweredBy", "")) or "unknown")
    if action == "stream":
        return xml_response(stream_twiml(common.grant_stream(call)))
    if action == "message":
        response.say(call.agent.voicemail_message, language=call.agent.language)  # Twilio's voice for it
    response.hangup()
    return xml_response(response)


@csrf_exempt
@require_POST
def status(request: HttpRequest) -> HttpResponse:
    if not verified(request):
        return HttpResponseForbidden("invalid signature")
    call = _outbound_call(request)
    if call is None:
        return HttpResponse(status=204)  # a 2xx all the same: the carrier must stop retrying
    who = answered_by(request.POST.get("AnsweredBy", ""))
    if who and not call.answered_by:
        Call.objects.filter(pk=call.pk).update(answered_by=who)
    state = request.POST.get("CallStatus", "")
    common.update_status(Carrier.TWILIO, call.carrier_call_id, state, request.POST.get("CallDuration"))
    if state in common.TERMINAL_STATUSES:
        dialled.announce_end(call)
    return HttpResponse(status=204)

"""Twilio voice webhooks: signature check, then TwiML that opens a bidirectional media stream."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ...models import Carrier
from .. import common, voice_xml
from .signature import verified
from .twiml import stream_twiml


@csrf_exempt
@require_POST
async def voice(request: HttpRequest) -> HttpResponse:
    # Async: the signature check needs no thread, and the database work runs on the DB thread (common.answer_call).
    if not verified(request):
        return HttpResponseForbidden("invalid signature")
    answer = await common.answer_voice_webhook(Carrier.TWILIO, request.POST)
    if answer.number is None:
        return voice_xml.xml_response(voice_xml.not_in_service())
    if answer.overflow:
        return voice_xml.xml_response(voice_xml.overflow())
    return voice_xml.xml_response(stream_twiml(answer.token))


@csrf_exempt
@require_POST
def status(request: HttpRequest) -> HttpResponse:
    if not verified(request):
        return HttpResponseForbidden("invalid signature")
    common.update_status(
        Carrier.TWILIO, request.POST.get("CallSid", ""), request.POST.get("CallStatus", ""),
        request.POST.get("CallDuration"),
    )
    return HttpResponse(status=204)

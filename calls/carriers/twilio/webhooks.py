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
    return await voice_xml.answer_voice(Carrier.TWILIO, request.POST, lambda answer: stream_twiml(answer.token))


@csrf_exempt
@require_POST
def status(request: HttpRequest) -> HttpResponse:
    if not verified(request):
        return HttpResponseForbidden("invalid signature")
    common.status_callback(Carrier.TWILIO, request.POST)
    return HttpResponse(status=204)

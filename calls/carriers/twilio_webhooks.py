"""Twilio voice webhooks: signature check, then TwiML that opens a bidirectional media stream."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

from .. import admission
from ..models import Carrier
from . import common
from .twilio_twiml import stream_twiml

log = logging.getLogger("calls.carriers.twilio")

APOLOGY = "Sorry, this number is not in service. Goodbye."


def signature_is_valid(url: str, params, signature: str) -> bool:
    """Twilio's HMAC-SHA1 over the URL it called plus the sorted POST params."""
    return bool(signature) and RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(url, params, signature)


def verified(request: HttpRequest) -> bool:
    # Rebuilt from PUBLIC_BASE_URL, not from the Host header: behind a proxy the Host we see is not what Twilio
    # signed, and trusting it would let a caller choose the URL being checked.
    url = common.public_url(request.get_full_path())
    if signature_is_valid(url, request.POST, request.headers.get("X-Twilio-Signature", "")):
        return True
    log.warning("twilio webhook %s rejected: bad or missing X-Twilio-Signature (checked against %s)", request.path, url)
    return False


def twiml(response: VoiceResponse) -> HttpResponse:
    return HttpResponse(str(response), content_type="application/xml")


@csrf_exempt
@require_POST
async def voice(request: HttpRequest) -> HttpResponse:
    # Async: the signature check needs no thread, and the database work runs on the DB thread (common.answer_call).
    if not verified(request):
        return HttpResponseForbidden("invalid signature")
    answer = await common.answer_voice_webhook(Carrier.TWILIO, request.POST)
    if answer.number is None:
        response = VoiceResponse()
        response.say(APOLOGY)
        response.hangup()
        return twiml(response)
    if answer.overflow:
        return HttpResponse(admission.overflow_twiml(), content_type="application/xml")
    return twiml(stream_twiml(answer.token))


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

"""Twilio's half of a warm transfer: the signed URL `<Number>`/`<Sip>` points at, and the TwiML it answers with
(`<Say>` the summary to the callee; when it ends, Twilio bridges the caller). See ../warm_transfer.py."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from twilio.twiml.voice_response import VoiceResponse

from ..common import public_url
from ..voice_xml import xml_response
from ..warm_transfer import read_summary, sign_summary, whisper_text
from .signature import verified

log = logging.getLogger("calls.carriers.warm_transfer")


def whisper_url(summary: str) -> str:
    return public_url(f"{reverse('twilio-whisper')}?t={sign_summary(summary)}")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def whisper(request: HttpRequest) -> HttpResponse:
    if not verified(request):
        return HttpResponseForbidden("invalid signature")
    summary = read_summary(request.GET.get("t", ""))
    if summary is None:
        log.warning("twilio whisper refused: bad or expired token")
        return HttpResponseForbidden("invalid token")
    response = VoiceResponse()
    response.say(whisper_text(summary))
    return xml_response(response)  # when this TwiML ends, Twilio bridges the callee to the caller

"""Signed endpoints for warm transfers: what the person answering hears before the caller is connected.

The summary travels inside the URL, signed with SECRET_KEY and time-limited (`MAX_AGE_S`), so nobody can make
our number say arbitrary text and nothing needs storing. Twilio's request is also checked against its
X-Twilio-Signature; Telnyx does not sign media fetches, so there the signed token is the whole gate.
"""

from __future__ import annotations

import io
import logging
import wave

from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from twilio.twiml.voice_response import VoiceResponse

from . import common
from .transfer import whisper_text

log = logging.getLogger("calls.carriers.whisper")

SALT = "voicebot.transfer.whisper"
MAX_AGE_S = 15 * 60  # the callee may take a while to answer; a leaked URL stops working soon after


def sign_summary(summary: str) -> str:
    return signing.dumps({"s": summary}, salt=SALT, compress=True)


def read_summary(token: str) -> str | None:
    try:
        return str(signing.loads(token, salt=SALT, max_age=MAX_AGE_S).get("s", ""))
    except (signing.BadSignature, AttributeError):
        return None


def twilio_whisper_url(summary: str) -> str:
    return common.public_url(f"{reverse('twilio-whisper')}?t={sign_summary(summary)}")


def telnyx_whisper_audio_url(summary: str) -> str:
    return common.public_url(f"{reverse('telnyx-whisper')}?t={sign_summary(summary)}")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def twilio_whisper(request: HttpRequest) -> HttpResponse:
    from .twilio_webhooks import twiml, verified

    if not verified(request):
        return HttpResponseForbidden("invalid signature")
    summary = read_summary(request.GET.get("t", ""))
    if summary is None:
        log.warning("twilio whisper refused: bad or expired token")
        return HttpResponseForbidden("invalid token")
    response = VoiceResponse()
    response.say(whisper_text(summary))
    return twiml(response)  # when this TwiML ends, Twilio bridges the callee to the caller


@require_http_methods(["GET"])
def telnyx_whisper(request: HttpRequest) -> HttpResponse:
    summary = read_summary(request.GET.get("t", ""))
    if summary is None:
        log.warning("telnyx whisper refused: bad or expired token")
        return HttpResponseForbidden("invalid token")
    from ..providers.tts.espeak_engine import get_espeak

    pcm, rate = get_espeak().synthesize(whisper_text(summary), voice="en-us")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)
    return HttpResponse(buffer.getvalue(), content_type="audio/wav")

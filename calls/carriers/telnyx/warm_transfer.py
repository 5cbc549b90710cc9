"""Telnyx's half of a warm transfer: the signed `audio_url` of the `transfer` command, and the WAV it serves (the
summary spoken by the local TTS, played to the callee before bridging). Telnyx does not sign media fetches, so the
signed token is the whole gate. See ../warm_transfer.py."""

from __future__ import annotations

import io
import logging
import wave

from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from ...providers.tts.espeak_engine import get_espeak
from ..common import public_url
from ..warm_transfer import read_summary, sign_summary, whisper_text

log = logging.getLogger("calls.carriers.warm_transfer")


def audio_url(summary: str) -> str:
    return public_url(f"{reverse('telnyx-whisper')}?t={sign_summary(summary)}")


@require_http_methods(["GET"])
def whisper_wav(request: HttpRequest) -> HttpResponse:
    summary = read_summary(request.GET.get("t", ""))
    if summary is None:
        log.warning("telnyx whisper refused: bad or expired token")
        return HttpResponseForbidden("invalid token")
    pcm, rate = get_espeak().synthesize(whisper_text(summary), voice="en-us")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)
    return HttpResponse(buffer.getvalue(), content_type="audio/wav")

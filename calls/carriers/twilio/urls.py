"""Twilio's routes, under /twilio/ (voicebot.urls; voicebot.carrier_http serves them without browser middleware)."""

from django.urls import path

from . import outbound_hooks, warm_transfer, webhooks

urlpatterns = [
    path("voice", webhooks.voice, name="twilio-voice"),
    path("status", webhooks.status, name="twilio-status"),
    # Callbacks of the calls we dial (calls.outbound).
    path("outbound/answer", outbound_hooks.answer, name="twilio-outbound-answer"),
    path("outbound/status", outbound_hooks.status, name="twilio-outbound-status"),
    # Warm transfers: what the person answering hears first (signed, short-lived URLs).
    path("whisper", warm_transfer.whisper, name="twilio-whisper"),
]

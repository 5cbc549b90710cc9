"""Telnyx's routes, under /telnyx/ (voicebot.urls; voicebot.carrier_http serves them without browser middleware)."""

from django.urls import path

from . import outbound_hooks, warm_transfer, webhooks

urlpatterns = [
    path("texml", webhooks.texml, name="telnyx-texml"),
    path("status", webhooks.status, name="telnyx-status"),
    path("events", webhooks.events, name="telnyx-events"),
    # Call Control events of the calls we dial (calls.outbound).
    path("outbound/events", outbound_hooks.events, name="telnyx-outbound-events"),
    # Warm transfers: what the person answering hears first (signed, short-lived URLs).
    path("whisper.wav", warm_transfer.whisper_wav, name="telnyx-whisper"),
]

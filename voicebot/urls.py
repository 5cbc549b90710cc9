from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path

from calls.carriers import outbound_telnyx_hooks, outbound_twilio_hooks, telnyx_webhooks, twilio_webhooks, whisper


def healthz(request):
    from django.conf import settings

    from calls.live import health
    from calls.warmup import READY

    # A degraded live layer (Redis gone) is reported, not failed: calls are still served, so the instance stays in.
    return JsonResponse({"ok": True, "warm": READY.is_set() or not settings.VOICEBOT_WARM_UP, "live": health()})


urlpatterns = [
    path("twilio/voice", twilio_webhooks.voice, name="twilio-voice"),
    path("twilio/status", twilio_webhooks.status, name="twilio-status"),
    path("telnyx/texml", telnyx_webhooks.texml, name="telnyx-texml"),
    path("telnyx/status", telnyx_webhooks.status, name="telnyx-status"),
    path("telnyx/events", telnyx_webhooks.events, name="telnyx-events"),
    # Callbacks of the calls we dial (calls.outbound).
    path("twilio/outbound/answer", outbound_twilio_hooks.answer, name="twilio-outbound-answer"),
    path("twilio/outbound/status", outbound_twilio_hooks.status, name="twilio-outbound-status"),
    path("telnyx/outbound/events", outbound_telnyx_hooks.events, name="telnyx-outbound-events"),
    # Warm transfers: what the person answering hears first (signed, short-lived URLs; calls.carriers.whisper).
    path("twilio/whisper", whisper.twilio_whisper, name="twilio-whisper"),
    path("telnyx/whisper.wav", whisper.telnyx_whisper, name="telnyx-whisper"),
    path("healthz", healthz),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("dashboard.api_urls")),
    path("", include("dashboard.urls")),
]

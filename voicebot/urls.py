from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path

from calls.carriers.telnyx import urls as telnyx_urls
from calls.carriers.twilio import urls as twilio_urls


def healthz(request):
    from django.conf import settings

    from calls.live import health
    from calls.warmup import READY

    # A degraded live layer (Redis gone) is reported, not failed: calls are still served, so the instance stays in.
    return JsonResponse({"ok": True, "warm": READY.is_set() or not settings.VOICEBOT_WARM_UP, "live": health()})


urlpatterns = [
    # Each carrier's webhooks, callbacks and warm-transfer endpoints (calls/carriers/<carrier>/urls.py). The
    # browser carrier has none: its calls open from the dashboard, its audio on the media socket.
    path("twilio/", include(twilio_urls)),
    path("telnyx/", include(telnyx_urls)),
    path("healthz", healthz),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("dashboard.api.urls")),
    path("", include("dashboard.urls")),
]

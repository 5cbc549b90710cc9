from django.contrib import admin
from django.urls import include, path

from calls.carriers.telnyx import urls as telnyx_urls
from calls.carriers.twilio import urls as twilio_urls

from .ops import healthz, metrics_view, readyz


urlpatterns = [
    # Each carrier's webhooks, callbacks and warm-transfer endpoints (calls/carriers/<carrier>/urls.py). The
    # browser carrier has none: its calls open from the dashboard, its audio on the media socket.
    path("twilio/", include(twilio_urls)),
    path("telnyx/", include(telnyx_urls)),
    path("healthz", healthz),
    path("readyz", readyz),
    path("metrics", metrics_view),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("dashboard.api.urls")),
    path("", include("dashboard.urls")),
]

from django.contrib import admin
from django.urls import include, path

from calls.carriers import twilio_webhooks

urlpatterns = [
    path("twilio/voice", twilio_webhooks.voice, name="twilio-voice"),
    path("twilio/status", twilio_webhooks.status, name="twilio-status"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
]

"""Mounted at /api/ by voicebot.urls, in the `api` namespace (the one the OpenAPI view reverses)."""

from __future__ import annotations

from .app import api

app_name = "api"
urlpatterns = api.urls[0]

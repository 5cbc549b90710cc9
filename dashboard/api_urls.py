"""JSON API routes, mounted at /api/ (described by dashboard/openapi.py)."""

from __future__ import annotations

from django.urls import path

from .openapi import openapi_json
from .views import api, api_outbound

app_name = "api"

urlpatterns = [
    path("calls", api.calls_list, name="calls"),
    path("calls/outbound", api_outbound.outbound_call, name="outbound-call"),
    path("calls/<int:pk>", api.call_detail, name="call"),
    path("metrics", api.metrics, name="metrics"),
    path("openapi.json", openapi_json, name="openapi"),
]

"""Dashboard WebSocket routes (mounted by voicebot/asgi.py behind AuthMiddlewareStack)."""

from __future__ import annotations

from django.urls import path

from .consumers import LiveCallsConsumer

websocket_urlpatterns = [
    path("ws/live/<int:workspace_id>", LiveCallsConsumer.as_asgi()),
]

"""Helpers shared by the cloud providers: API keys and base URLs from settings, and latency arithmetic."""

from __future__ import annotations

import time

from django.conf import settings

from .base import ProviderError


def require_key(setting: str, provider: str) -> str:
    """The API key in `settings.<setting>`; a missing key is permanent, so the fallback takes over at once."""
    key = getattr(settings, setting, "") or ""
    if not key:
        raise ProviderError(f"{setting} is not set", provider=provider, permanent=True)
    return key


def base_url(options: dict, setting: str, default: str = "") -> str:
    """The provider's base URL: the agent's `base_url` option, else the setting, else `default`; no trailing /."""
    return (options.get("base_url") or getattr(settings, setting, "") or default).rstrip("/")


def websocket_url(url: str) -> str:
    """The ws(s):// form of an http(s):// base URL (vendors serve REST and sockets from one host)."""
    if url.startswith("https://"):
        return "wss://" + url[len("https://") :]
    if url.startswith("http://"):
        return "ws://" + url[len("http://") :]
    return url


def ms_since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)

"""The browser's media WebSocket upgrade: refuse sockets opened by another site's page."""

from __future__ import annotations

from urllib.parse import urlsplit


def check_upgrade(scope: dict) -> str | None:
    """Refuse sockets opened by another site's page (the token is the real gate; this is defence in depth)."""
    headers = dict(scope.get("headers") or [])
    origin = headers.get(b"origin", b"").decode("latin-1")
    if not origin:
        return None  # not a browser: the token decides
    host = headers.get(b"host", b"").decode("latin-1")
    if urlsplit(origin).netloc.lower() != host.lower():
        return f"cross-origin browser stream from {origin[:80]}"
    return None

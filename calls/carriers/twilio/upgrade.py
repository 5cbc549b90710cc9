"""Twilio signs the media WebSocket upgrade too; when the header is present it must be right."""

from __future__ import annotations

import logging

from ..common import stream_url
from .signature import signature_is_valid

log = logging.getLogger("calls.carriers.twilio")


def check_upgrade(scope: dict) -> str | None:
    headers = dict(scope.get("headers") or [])
    signature = headers.get(b"x-twilio-signature", b"").decode("latin-1")
    if not signature:
        return None  # the single-use stream token is the gate; the header is an extra check when sent
    # Twilio signs the exact wss:// URL it opened, with no POST params.
    url = stream_url("twilio")
    if signature_is_valid(url, {}, signature):
        return None
    log.warning("twilio media upgrade rejected: bad X-Twilio-Signature for %s", url)
    return "bad upgrade signature"

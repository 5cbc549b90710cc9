"""Twilio signs every request it makes to us (X-Twilio-Signature): HMAC-SHA1 over the URL plus the POST params."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest
from twilio.request_validator import RequestValidator

from ..common import public_url

log = logging.getLogger("calls.carriers.twilio")


def signature_is_valid(url: str, params, signature: str) -> bool:
    """Twilio's HMAC-SHA1 over the URL it called plus the sorted POST params."""
    return bool(signature) and RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(url, params, signature)


def verified(request: HttpRequest) -> bool:
    # Rebuilt from PUBLIC_BASE_URL, not from the Host header: behind a proxy the Host we see is not what Twilio
    # signed, and trusting it would let a caller choose the URL being checked.
    url = public_url(request.get_full_path())
    if signature_is_valid(url, request.POST, request.headers.get("X-Twilio-Signature", "")):
        return True
    log.warning("twilio webhook %s rejected: bad or missing X-Twilio-Signature (checked against %s)", request.path, url)
    return False

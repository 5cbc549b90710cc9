"""Signed webhook requests: the signature scheme, and one delivery attempt classified for retrying.

`X-Voicebot-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` — the timestamp is signed with
the body so a receiver can refuse replays (`verify` allows 5 minutes). Retryable: connection errors, timeouts,
429 and 5xx. Any other non-2xx (4xx, and 3xx: redirects are not followed) is the receiver's answer and is final.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

import httpx

SIGNATURE_HEADER = "X-Voicebot-Signature"
EVENT_ID_HEADER = "X-Voicebot-Event-Id"
TOLERANCE_S = 300


def signature(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, body: bytes, header: str, now: float | None = None) -> bool:
    """What a receiver does (and what the tests do): check the HMAC and that the timestamp is recent."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (ValueError, KeyError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > TOLERANCE_S:
        return False
    return hmac.compare_digest(signature(secret, body, timestamp), header)


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    retryable: bool
    status_code: int | None
    error: str
    duration_ms: float


def post(url: str, body: bytes, secret: str, event_id: str, timeout_s: float) -> Outcome:
    headers = {"Content-Type": "application/json", "User-Agent": "voicebot-webhooks/1", EVENT_ID_HEADER: event_id}
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, body, int(time.time()))
    started = time.monotonic()
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=timeout_s, follow_redirects=False)
    except httpx.TransportError as exc:
        return Outcome(False, True, None, f"{type(exc).__name__}: {exc}"[:300], _ms(started))
    code = response.status_code
    if 200 <= code < 300:
        return Outcome(True, False, code, "", _ms(started))
    retryable = code == 429 or code >= 500
    return Outcome(False, retryable, code, f"HTTP {code}: {response.text[:200]}", _ms(started))


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)

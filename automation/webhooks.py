"""Signed webhook requests: one delivery attempt classified for retrying (the signature: `calls.signing`).

Retryable: connection errors, timeouts,
429 and 5xx. Any other non-2xx (4xx, and 3xx: redirects are not followed) is the receiver's answer and is final.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from calls.signing import SIGNATURE_HEADER, TOLERANCE_S, signature, verify

__all__ = ["SIGNATURE_HEADER", "EVENT_ID_HEADER", "TOLERANCE_S", "signature", "verify", "Outcome", "post"]

EVENT_ID_HEADER = "X-Voicebot-Event-Id"


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

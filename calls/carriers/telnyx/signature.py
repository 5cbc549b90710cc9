"""Telnyx webhook signatures: Ed25519 over `"{telnyx-timestamp}|{raw body}"`, checked with the account's public key.

Checked here with PyNaCl over the raw body bytes rather than with `telnyx.lib.webhook_verification`: that helper
decodes the body as UTF-8 first (a form body need not be) and accepts timestamps up to 300 s in the future too.
A signature only proves Telnyx sent these bytes once, so the timestamp bounds replay: older than
`MAX_AGE_S` is refused, and so is one from the future beyond a small clock skew (a signed request with a future
timestamp would otherwise stay replayable for longer).
"""

from __future__ import annotations

import base64
import binascii
import logging
import time

from django.conf import settings
from django.http import HttpRequest
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

log = logging.getLogger("calls.carriers.telnyx")

SIGNATURE_HEADER = "telnyx-signature-ed25519"
TIMESTAMP_HEADER = "telnyx-timestamp"
MAX_AGE_S = 300  # Telnyx's SDKs use the same tolerance
MAX_SKEW_S = 30  # clocks disagree a little; a timestamp further ahead than this is forged or broken


class SignatureError(Exception):
    """Why a webhook was refused; the message is safe to log."""


def verify(body: bytes, signature_b64: str, timestamp: str, public_key_b64: str, now: float | None = None) -> None:
    """Raise SignatureError unless `signature_b64` signs `timestamp|body` under `public_key_b64`, recently."""
    if not signature_b64:
        raise SignatureError(f"missing {SIGNATURE_HEADER}")
    if not timestamp:
        raise SignatureError(f"missing {TIMESTAMP_HEADER}")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise SignatureError(f"malformed {TIMESTAMP_HEADER} {timestamp[:20]!r}") from None
    age = (time.time() if now is None else now) - sent_at
    if age > MAX_AGE_S:
        raise SignatureError(f"stale timestamp ({age:.0f}s old): replay refused")
    if age < -MAX_SKEW_S:
        raise SignatureError(f"timestamp {-age:.0f}s in the future")
    try:
        key = VerifyKey(_b64(public_key_b64, 32))
    except (ValueError, TypeError) as exc:
        # Our configuration, not the caller's fault: say so loudly, still refuse.
        raise SignatureError(f"TELNYX_PUBLIC_KEY unusable: {exc}") from exc
    try:
        signature = _b64(signature_b64, 64)
    except ValueError as exc:
        raise SignatureError(f"malformed signature: {exc}") from None
    try:
        key.verify(timestamp.encode() + b"|" + body, signature)
    except BadSignatureError:
        raise SignatureError("signature does not match body and timestamp") from None


def verified(request: HttpRequest) -> bool:
    """True when the request is signed by Telnyx (or, without a portal key, by the local simulator); logs refusals."""
    try:
        verify(
            request.body,
            request.headers.get(SIGNATURE_HEADER, ""),
            request.headers.get(TIMESTAMP_HEADER, ""),
            settings.TELNYX_PUBLIC_KEY,
        )
    except SignatureError as exc:
        log.warning("telnyx webhook %s rejected: %s", request.path, exc)
        return False
    return True


def sign(body: bytes, private_seed_b64: str, timestamp: int | None = None) -> dict[str, str]:
    """Headers Telnyx would send with `body` (the simulator and tests play Telnyx with this)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signed = SigningKey(_b64(private_seed_b64, 32)).sign(stamp.encode() + b"|" + body)
    return {SIGNATURE_HEADER: base64.b64encode(signed.signature).decode(), TIMESTAMP_HEADER: stamp}


def _b64(value: str, size: int) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64") from exc
    if len(raw) != size:
        raise ValueError(f"expected {size} bytes, got {len(raw)}")
    return raw

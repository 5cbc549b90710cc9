"""Short-lived, single-use tokens that let a carrier's media stream in for exactly one call.

The token travels as a stream `<Parameter>` (Twilio forbids a query string on the Stream URL) and is checked
before the consumer does any work. HMAC binds it to the carrier call id and an expiry; the nonce, stored on the
Call row, makes it single use: consuming it is one conditional UPDATE, so two sockets racing with the same token
cannot both win, even in different processes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from django.conf import settings

from .db import run_db
from .models import Call


class TokenError(Exception):
    """The token is malformed, forged, expired or already used; the message says which."""


@dataclass(frozen=True, slots=True)
class StreamClaim:
    call_id: str
    expires_at: int
    nonce: str


def _sign(body: bytes) -> str:
    key = hashlib.sha256(b"voicebot-stream-token:" + settings.SECRET_KEY.encode()).digest()
    return base64.urlsafe_b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode().rstrip("=")


def issue(call_id: str, ttl_s: int | None = None, now: float | None = None) -> tuple[str, str]:
    """A new token for `call_id`; returns (token, nonce) — store the nonce on the Call."""
    ttl = settings.STREAM_TOKEN_TTL_S if ttl_s is None else ttl_s
    expires = int((now if now is not None else time.time()) + ttl)
    nonce = secrets.token_urlsafe(12)
    body = f"{call_id}|{expires}|{nonce}".encode()
    return f"{base64.urlsafe_b64encode(body).decode().rstrip('=')}.{_sign(body)}", nonce


def verify(token: str, now: float | None = None) -> StreamClaim:
    """Check signature and expiry (not single use: see `consume`)."""
    try:
        body_b64, signature = token.split(".", 1)
        body = base64.urlsafe_b64decode(body_b64 + "=" * (-len(body_b64) % 4))
        call_id, expires_s, nonce = body.decode().split("|")
        expires = int(expires_s)
    except (ValueError, UnicodeDecodeError) as exc:
        raise TokenError("malformed stream token") from exc
    if not hmac.compare_digest(_sign(body), signature):
        raise TokenError("stream token signature mismatch")
    if (now if now is not None else time.time()) > expires:
        raise TokenError("stream token expired")
    return StreamClaim(call_id, expires, nonce)


async def consume(token: str, carrier: str):
    """Verify the token and burn its nonce; returns the Call it opens. Raises TokenError.

    The UPDATE and the read run as one job on the DB thread (`calls.db.run_db`), as the call path's other database
    work does: Django's async ORM (`aupdate`/`aget`) would run them on asgiref's sync thread instead — two thread
    hops, and, its connection being closed at the end of each webhook request, a new SQLite connection per call
    start (open, PRAGMAs, functions) in a second writer thread, all contending for the GIL with the event loop
    while the other calls start and their greetings play."""
    claim = verify(token)
    call = await run_db(_burn, claim, carrier)
    if call is None:
        raise TokenError("stream token already used or unknown call")
    return call


def _burn(claim: StreamClaim, carrier: str) -> Call | None:
    burned = Call.objects.filter(
        carrier=carrier, carrier_call_id=claim.call_id, stream_nonce=claim.nonce
    ).exclude(stream_nonce="").update(stream_nonce="")
    if burned != 1:
        return None
    return Call.objects.select_related("agent", "workspace").get(carrier=carrier, carrier_call_id=claim.call_id)

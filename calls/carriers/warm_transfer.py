"""Warm transfers: what the person answering hears before the caller is put through (the "whisper").

Both carriers fetch it from us when the callee answers — Twilio runs the TwiML at the `url` of `<Number>`/`<Sip>`
for the callee only (twilio/warm_transfer.py `<Say>`s the summary); Telnyx's `transfer` plays an `audio_url` to the
callee before bridging (telnyx/warm_transfer.py renders the summary to a WAV with the local TTS; that path follows
Telnyx's API reference and the SDK's parameters but has not been tried against a real Telnyx account).

The summary travels inside the URL, signed with SECRET_KEY and time-limited (`MAX_AGE_S`), so nobody can make
our number say arbitrary text and nothing needs storing. Twilio's request is also checked against its
X-Twilio-Signature; Telnyx does not sign media fetches, so there the signed token is the whole gate.
"""

from __future__ import annotations

from django.core import signing

from .transfer import clean_value

SALT = "voicebot.transfer.whisper"
MAX_AGE_S = 15 * 60  # the callee may take a while to answer; a leaked URL stops working soon after


def sign_summary(summary: str) -> str:
    return signing.dumps({"s": summary}, salt=SALT, compress=True)


def read_summary(token: str) -> str | None:
    try:
        return str(signing.loads(token, salt=SALT, max_age=MAX_AGE_S).get("s", ""))
    except (signing.BadSignature, AttributeError):
        return None


def whisper_text(summary: str) -> str:
    """What the person answering a warm transfer hears before the caller is connected."""
    summary = clean_value(summary, 400)
    return f"Incoming transfer from the voice assistant. {summary}" if summary else (
        "Incoming transfer from the voice assistant."
    )

"""Transfers on Twilio: the TwiML a live call is redirected to, cold or warm, to a phone number or a SIP address.

The SIP header rules are carrier-neutral (../transfer.py); on Twilio the headers travel URL-encoded in the SIP
URI's query. A warm transfer adds the signed whisper URL (warm_transfer.py), which Twilio runs for the callee
before bridging.
"""

from __future__ import annotations

from twilio.twiml.voice_response import VoiceResponse

from ..transfer import TransferOptions, is_sip, sip_headers, sip_uri_with_headers
from . import warm_transfer


def build_twiml(target: str, summary: str, options: TransferOptions | None = None,
                whisper_url: str | None = None) -> str:
    """`<Dial><Number>` or `<Dial><Sip>` (headers in the URI); with `whisper_url` (warm), Twilio runs that TwiML
    for the callee before bridging."""
    options = options or TransferOptions()
    response = VoiceResponse()
    dial = response.dial()
    extra = {"url": whisper_url, "method": "POST"} if whisper_url else {}
    if is_sip(target):
        dial.sip(sip_uri_with_headers(target, sip_headers(summary, options)), **extra)
    else:
        dial.number(target.strip(), **extra)
    return str(response)


def twilio_transfer_twiml(target: str, summary: str, options: TransferOptions | None = None) -> str:
    warm = options is not None and options.mode == "warm"
    return build_twiml(target, summary, options, warm_transfer.whisper_url(summary) if warm else None)

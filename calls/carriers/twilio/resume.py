"""Reopening a dropped media stream on a live Twilio call (calls.resume decides when): the call's TwiML is replaced
over REST by a new `<Connect><Stream>` with a fresh token, which Twilio runs at once."""

from __future__ import annotations

from ...models import Call
from . import rest
from .twiml import stream_twiml


def reconnect(call: Call, token: str) -> None:
    update = rest.client().calls(call.carrier_call_id).update
    rest.rest("stream resume", update, twiml=str(stream_twiml(token)))

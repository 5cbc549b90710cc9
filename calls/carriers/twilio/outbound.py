"""Dialling out through Twilio's REST API (`client.calls.create`)."""

from __future__ import annotations

from ...models import Call
from ..common import public_url
from . import rest

STATUS_EVENTS = ["initiated", "ringing", "answered", "completed"]
# Beyond the agent's own limit: Twilio ends the call itself if our hang-up never arrives.
TIME_LIMIT_MARGIN_S = 60


def check_configured() -> None:
    rest.client()


def dial(call: Call) -> str:
    """Place the call; returns its CallSid. Twilio fetches the TwiML from `answer` once someone picks up."""
    client = rest.client()
    agent = call.agent
    options: dict = {}
    if agent.machine_detection != "off":
        # Synchronous AMD: Twilio asks for the TwiML only once it knows who answered and posts AnsweredBy with that
        # request. DetectMessageEnd waits for the greeting's end (the beep), so a left message lands on the tape.
        options["machine_detection"] = "DetectMessageEnd"
    created = rest.rest(
        "dial", client.calls.create,
        to=call.to_number, from_=call.from_number,
        url=public_url(f"/twilio/outbound/answer?call={call.pk}"), method="POST",
        status_callback=public_url(f"/twilio/outbound/status?call={call.pk}"), status_callback_method="POST",
        status_callback_event=STATUS_EVENTS, time_limit=agent.max_duration_s + TIME_LIMIT_MARGIN_S, **options,
    )
    return created.sid

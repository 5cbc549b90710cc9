"""The voice answers Twilio (TwiML) and Telnyx (TeXML) give alike, and how either is sent.

TeXML is Telnyx's copy of TwiML: the same verbs, nested the same way. Telnyx's SDK has no builder for it (checked
in telnyx 4.189: REST resources and webhook verification only), so both carriers build their documents with
twilio's `VoiceResponse` — one escaping, tested XML builder instead of hand-written XML. Its verbs take any extra
attribute as a keyword and write it in lowerCamelCase, which is how Telnyx names its own (`bidirectional_mode` ->
`bidirectionalMode`). The answers below do not depend on the carrier, so they are written once, here, with the
voice webhook both share (`answer_voice`); the carrier supplies only the document that connects the stream.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpResponse
from twilio.twiml.voice_response import VoiceResponse

from .. import admission
from .common import Answer, answer_voice_webhook

NOT_IN_SERVICE_LINE = "Sorry, this number is not in service. Goodbye."
OVERFLOW_LINE = "Sorry, all of our lines are busy right now. Please call again in a few minutes. Goodbye."


def xml_response(response: VoiceResponse) -> HttpResponse:
    return HttpResponse(str(response), content_type="application/xml")


def not_in_service() -> VoiceResponse:
    """A call to a number that is not ours: apologise and hang up."""
    response = VoiceResponse()
    response.say(NOT_IN_SERVICE_LINE)
    response.hangup()
    return response


def overflow() -> VoiceResponse:
    """A call admission refused (calls.admission decides): put it through to OVERFLOW_NUMBER, or apologise."""
    response = VoiceResponse()
    number = admission.overflow_number()
    if number:
        response.dial(number)
    else:
        response.say(OVERFLOW_LINE)
        response.hangup()
    return response


async def answer_voice(carrier: str, form, connect: Callable[[Answer], VoiceResponse]) -> HttpResponse:
    """A signed voice webhook's answer: not in service, overflow, or `connect(answer)` (the carrier's stream)."""
    answer = await answer_voice_webhook(carrier, form)
    if answer.number is None:
        return xml_response(not_in_service())
    if answer.overflow:
        return xml_response(overflow())
    return xml_response(connect(answer))

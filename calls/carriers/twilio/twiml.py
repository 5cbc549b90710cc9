"""The TwiML that connects a call to our media socket, shared by inbound answers, outbound answers and resumes.

Built with the SDK's `VoiceResponse`, as all our TwiML (the answers shared with Telnyx: ../voice_xml.py)."""

from __future__ import annotations

from django.conf import settings
from twilio.twiml.voice_response import VoiceResponse

from ...models import Carrier
from ..common import stream_url


def stream_twiml(token: str) -> VoiceResponse:
    response = VoiceResponse()
    stream = response.connect().stream(url=stream_url(Carrier.TWILIO))
    stream.parameter(name="token", value=token)
    if settings.TWILIO_CREDENTIALS_ARE_REAL:
        # A dropped socket makes Twilio go on to the next verb. The pause keeps the call up while calls.resume asks
        # Twilio, over REST, to reconnect (resume.py); without credentials nobody can ask, so there is nothing to
        # wait for.
        response.pause(length=settings.TWILIO_RESUME_GRACE_S)
    # Reached when our server closes the stream without hanging up over REST (no credentials, or REST failed).
    response.hangup()
    return response

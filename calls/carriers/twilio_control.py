"""Twilio REST on a live call: hang up and transfer. Only built when real credentials are configured."""

from __future__ import annotations

from django.conf import settings
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from ..providers.base import ProviderError
from .base import CallControl


class TwilioCallControl(CallControl):
    def __init__(self) -> None:
        self.client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)

    async def hang_up(self, call_id: str) -> None:
        try:
            await self.client.calls(call_id).update_async(status="completed")
        except TwilioRestException as exc:
            raise ProviderError(f"twilio hang-up failed: {exc.msg}", provider="twilio") from exc

    async def transfer(self, call_id: str, target: str, summary: str = "") -> None:
        response = VoiceResponse()
        dial = response.dial()
        if target.startswith("sip:"):
            dial.sip(target)
        else:
            dial.number(target)
        try:
            await self.client.calls(call_id).update_async(twiml=str(response))
        except TwilioRestException as exc:
            raise ProviderError(f"twilio transfer failed: {exc.msg}", provider="twilio") from exc


def twilio_control() -> CallControl | None:
    return TwilioCallControl() if settings.TWILIO_CREDENTIALS_ARE_REAL else None

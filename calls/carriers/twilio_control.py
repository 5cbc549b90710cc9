"""Twilio REST on a live call: hang up and transfer. Only built when real credentials are configured.

twilio-python's `*_async` methods need its aiohttp client (`AsyncTwilioHttpClient`); with the default client they
raise RuntimeError. The synchronous client in a worker thread is simpler and shares `twilio_rest.client()` (and
its TWILIO_BASE_URL) with outbound calls and stream resumes.
"""

from __future__ import annotations

import asyncio

from django.conf import settings
from twilio.base.exceptions import TwilioRestException
from twilio.twiml.voice_response import VoiceResponse

from ..providers.base import ProviderError
from . import twilio_rest
from .base import CallControl


class TwilioCallControl(CallControl):
    def __init__(self) -> None:
        self.client = twilio_rest.client()

    async def _update(self, action: str, call_id: str, **fields) -> None:
        try:
            await asyncio.to_thread(self.client.calls(call_id).update, **fields)
        except TwilioRestException as exc:
            raise ProviderError(f"twilio {action} failed: {exc.msg}", provider="twilio") from exc

    async def hang_up(self, call_id: str) -> None:
        await self._update("hang-up", call_id, status="completed")

    async def transfer(self, call_id: str, target: str, summary: str = "") -> None:
        response = VoiceResponse()
        dial = response.dial()
        if target.startswith("sip:"):
            dial.sip(target)
        else:
            dial.number(target)
        await self._update("transfer", call_id, twiml=str(response))


def twilio_control() -> CallControl | None:
    return TwilioCallControl() if settings.TWILIO_CREDENTIALS_ARE_REAL else None

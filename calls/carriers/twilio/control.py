"""Twilio REST on a live call: hang up and transfer. Only built when real credentials are configured.

twilio-python's `*_async` methods need its aiohttp client (`AsyncTwilioHttpClient`); with the default client they
raise RuntimeError. The synchronous client in a worker thread is simpler and shares `rest.client()` (and
its TWILIO_BASE_URL) with outbound calls and stream resumes.
"""

from __future__ import annotations

import asyncio

from django.conf import settings
from requests.exceptions import RequestException
from twilio.base.exceptions import TwilioRestException

from ...providers.base import ProviderError
from ..base import CallControl
from . import rest
from .transfer import twilio_transfer_twiml


class TwilioCallControl(CallControl):
    def __init__(self) -> None:
        self.client = rest.client()

    async def _update(self, action: str, call_id: str, **fields) -> None:
        try:
            await asyncio.to_thread(self.client.calls(call_id).update, **fields)
        except TwilioRestException as exc:
            raise ProviderError(f"twilio {action} failed: {exc.msg}", provider="twilio") from exc
        except RequestException as exc:  # Twilio unreachable: connection refused, reset, timed out
            raise ProviderError(f"twilio {action} failed: {type(exc).__name__}: {exc}"[:300], provider="twilio") from exc

    async def hang_up(self, call_id: str) -> None:
        await self._update("hang-up", call_id, status="completed")

    async def transfer(self, call_id: str, target: str, summary: str = "", options=None) -> None:
        twiml = twilio_transfer_twiml(target, summary, options)  # cold/warm, SIP headers: see transfer.py
        await self._update("transfer", call_id, twiml=twiml)


def twilio_control() -> CallControl | None:
    return TwilioCallControl() if settings.TWILIO_CREDENTIALS_ARE_REAL else None

"""Carrier webhooks reach their views through the real ASGI app without the browser middleware; pages keep it."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from channels.testing import HttpCommunicator
from django.conf import settings
from twilio.request_validator import RequestValidator

from calls.models import Agent, Call, PhoneNumber, Workspace


@pytest.fixture
def number(transactional_db):
    ws = Workspace.objects.create(name="W", slug="w")
    agent = Agent.objects.create(workspace=ws, name="A", greeting="Hi")
    return PhoneNumber.objects.create(workspace=ws, e164="+15550100000", carrier="twilio", agent=agent)


async def request(method: str, path: str, body: bytes = b"", headers: dict | None = None) -> dict:
    from voicebot.asgi import application

    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return await HttpCommunicator(application, method, path, body=body, headers=raw).get_response()


def _headers(response: dict) -> dict:
    return {k.decode().lower(): v.decode() for k, v in response["headers"]}


@pytest.mark.asyncio
async def test_signed_voice_webhook_through_the_asgi_app_skips_browser_middleware(number):
    data = {"CallSid": "CA" + "7" * 32, "From": "+15557654321", "To": "+15550100000", "Direction": "inbound"}
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(
        settings.PUBLIC_BASE_URL + "/twilio/voice", data)
    response = await request("POST", "/twilio/voice", urlencode(data).encode(), {
        "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})
    headers = _headers(response)
    assert response["status"] == 200, response["body"][:300]
    assert b"<Connect><Stream" in response["body"]
    assert headers["content-length"] == str(len(response["body"]))  # kept from CommonMiddleware: never chunked
    assert "x-frame-options" not in headers and "set-cookie" not in headers  # no clickjacking/session middleware
    assert await Call.objects.filter(carrier_call_id=data["CallSid"]).aexists()


@pytest.mark.asyncio
async def test_forged_webhook_through_the_asgi_app_is_forbidden(number):
    response = await request("POST", "/twilio/voice", b"CallSid=CA1&To=%2B15550100000",
                             {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "forged"})
    assert response["status"] == 403
    assert not await Call.objects.aexists()


@pytest.mark.asyncio
async def test_dashboard_pages_keep_the_full_middleware(transactional_db):
    response = await request("GET", "/accounts/login/")
    assert response["status"] == 200
    assert _headers(response).get("x-frame-options") == "DENY"

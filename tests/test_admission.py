"""Admission control: the limit per process, reservations between webhook and stream, the overflow answers of
both carriers' webhooks, the refusal at the media socket (close 1013), and what is stored for a refused call."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings
from nacl.signing import SigningKey
from twilio.request_validator import RequestValidator

from calls import admission, stream_tokens
from calls.carriers import voice_xml
from calls.carriers.telnyx.signature import sign as telnyx_sign
from calls.models import Agent, Call, CallEvent, PhoneNumber, Workspace

KEY = SigningKey.generate()


@pytest.fixture(autouse=True)
def clean(settings, monkeypatch):
    admission.reset()
    settings.MAX_CONCURRENT_CALLS = 2
    settings.OVERFLOW_NUMBER = ""
    settings.TELNYX_PUBLIC_KEY = base64.b64encode(bytes(KEY.verify_key)).decode()
    monkeypatch.setattr(admission, "LIVE_SESSIONS", set())
    yield
    admission.reset()


def hold(n: int) -> None:
    """Pretend `n` sessions are live in this process."""
    for _ in range(n):
        admission.register(object())


@pytest.fixture
def number(transactional_db):
    ws = Workspace.objects.create(name="W", slug="w")
    agent = Agent.objects.create(workspace=ws, name="A", greeting="Hi")
    PhoneNumber.objects.create(workspace=ws, e164="+15550100000", carrier="telnyx", agent=agent)
    return PhoneNumber.objects.create(workspace=ws, e164="+15550100000", carrier="twilio", agent=agent)


# ---------------------------------------------------------------- the decision


def test_calls_are_admitted_up_to_the_limit_counting_reservations():
    assert admission.admit("CA1").admit
    assert admission.admit("CA2").admit
    third = admission.admit("CA3")
    assert not third.admit and (third.live, third.reserved, third.limit) == (0, 2, 2)


def test_a_retried_webhook_of_an_admitted_call_is_admitted_again():
    assert admission.admit("CA1").admit
    assert admission.admit("CA2").admit
    assert admission.admit("CA1").admit


def test_live_sessions_count_against_the_limit():
    hold(1)
    assert admission.admit("CA1").admit
    assert not admission.admit("CA2").admit


def test_reservations_expire(monkeypatch):
    assert admission.admit("CA1").admit
    assert admission.admit("CA2").admit
    later = time.monotonic() + admission.RESERVATION_S + 1
    monkeypatch.setattr(admission.time, "monotonic", lambda: later)
    assert admission.admit("CA3").admit


def test_streams_count_sessions_only_and_consume_their_reservation():
    assert admission.admit("CA1").admit
    assert admission.admit("CA2").admit
    assert admission.admit_stream("CA1").admit  # its place was held at the webhook; the reservation is used up
    hold(1)
    admission.settled("CA1")
    # A stream answered by another process is not refused for CA2's reservation here: only sessions count.
    assert admission.admit_stream("CA9").admit
    hold(1)
    admission.settled("CA9")
    assert not admission.admit_stream("CA2").admit  # two live sessions: full
    assert not admission.admit("CA3").admit  # and the webhook sees CA2's reservation gone, the sessions not


def test_streams_still_starting_count_as_live():
    assert admission.admit_stream("CA1").admit
    assert admission.admit_stream("CA2").admit
    assert not admission.admit_stream("CA3").admit
    admission.settled("CA1")  # its start failed: the place is free again
    assert admission.admit_stream("CA3").admit


def test_overflow_twiml_says_sorry_and_hangs_up_or_dials_the_overflow_number(settings):
    root = ET.fromstring(str(voice_xml.overflow()))
    assert root.find("Say").text == voice_xml.OVERFLOW_LINE and root.find("Hangup") is not None
    settings.OVERFLOW_NUMBER = "+15550109999"
    root = ET.fromstring(str(voice_xml.overflow()))
    assert root.find("Dial").text == "+15550109999" and root.find("Say") is None


# ---------------------------------------------------------------- the webhooks


def twilio_post(client, sid: str):
    data = {"CallSid": sid, "AccountSid": "AC" + "0" * 32, "From": "+15557654321", "To": "+15550100000",
            "CallStatus": "ringing", "Direction": "inbound"}
    url = settings.PUBLIC_BASE_URL + "/twilio/voice"
    sig = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(url, data)
    return client.post("/twilio/voice", data, HTTP_X_TWILIO_SIGNATURE=sig)


def test_twilio_webhook_beyond_the_limit_answers_overflow_and_stores_a_rejected_call(client, number):
    hold(2)
    resp = twilio_post(client, "CA" + "7" * 32)
    assert resp.status_code == 200
    root = ET.fromstring(resp.content)
    assert root.find("./Connect") is None
    assert root.find("Say") is not None and root.find("Hangup") is not None
    call = Call.objects.get(carrier_call_id="CA" + "7" * 32)
    assert call.status == "rejected" and call.end_reason == "overflow" and call.ended_at is not None
    event = CallEvent.objects.get(call=call)
    assert event.kind == "overflow"
    assert event.detail["where"] == "webhook" and event.detail["limit"] == 2 and event.detail["live"] == 2
    assert admission.REFUSED["webhook"] == 1


def test_twilio_webhook_dials_the_overflow_number_when_configured(client, number, settings):
    settings.OVERFLOW_NUMBER = "+15550109999"
    hold(2)
    root = ET.fromstring(twilio_post(client, "CA" + "8" * 32).content)
    assert root.find("Dial").text == "+15550109999"
    assert CallEvent.objects.get(kind="overflow").detail["action"] == "dial"


def test_twilio_webhook_within_the_limit_still_opens_the_stream(client, number):
    hold(1)
    root = ET.fromstring(twilio_post(client, "CA" + "1" * 32).content)
    assert root.find("./Connect/Stream") is not None
    refused = ET.fromstring(twilio_post(client, "CA" + "2" * 32).content)  # the first one holds the last place
    assert refused.find("./Connect") is None
    assert Call.objects.get(carrier_call_id="CA" + "1" * 32).status == "ringing"


def test_telnyx_texml_beyond_the_limit_answers_overflow(client, number):
    hold(2)
    body = urlencode({"AccountSid": "acc", "CallSid": "v3:over", "CallStatus": "ringing", "Direction": "inbound",
                      "From": "+15557654321", "To": "+15550100000"}).encode()
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v
               for k, v in telnyx_sign(body, base64.b64encode(bytes(KEY)).decode()).items()}
    resp = client.post("/telnyx/texml", body, content_type="application/x-www-form-urlencoded", **headers)
    assert resp.status_code == 200
    root = ET.fromstring(resp.content)
    assert root.find("./Connect") is None and root.find("Say") is not None
    call = Call.objects.get(carrier="telnyx", carrier_call_id="v3:over")
    assert call.status == "rejected"
    assert CallEvent.objects.filter(call=call, kind="overflow").exists()


# ---------------------------------------------------------------- the media socket


def start_msg(token: str, call_id: str) -> str:
    return json.dumps({"event": "start", "sequenceNumber": "1", "streamSid": "MZ1", "start": {
        "streamSid": "MZ1", "callSid": call_id, "accountSid": "AC1", "tracks": ["inbound"],
        "customParameters": {"token": token},
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}})


@pytest.mark.django_db(transaction=True)
def test_a_stream_beyond_the_limit_is_closed_1013_and_the_call_stored_as_rejected(number):
    token, nonce = stream_tokens.issue("CA5")
    call = Call.objects.create(workspace=number.workspace, agent=number.agent, carrier="twilio",
                               carrier_call_id="CA5", stream_nonce=nonce)
    hold(2)

    async def go():
        from voicebot.asgi import application

        comm = WebsocketCommunicator(application, "/media/twilio")
        connected, _ = await comm.connect()
        assert connected
        await comm.send_to(text_data=start_msg(token, "CA5"))
        out = await comm.receive_output(timeout=3)
        await comm.disconnect()
        return out

    assert asyncio.run(go()) == {"type": "websocket.close", "code": 1013}
    call.refresh_from_db()
    assert call.status == "rejected" and call.end_reason == "overflow"
    event = CallEvent.objects.get(call=call)
    assert event.kind == "overflow" and event.detail["where"] == "media" and event.detail["action"] == "close-1013"
    assert admission.REFUSED["media"] == 1

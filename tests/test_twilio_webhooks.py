"""The Twilio voice webhook: signatures checked, TwiML that opens a stream with a token, apology otherwise."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from django.conf import settings
from twilio.request_validator import RequestValidator

from calls import stream_tokens
from calls.models import Agent, Call, PhoneNumber, Workspace

URL = "/twilio/voice"


def params(to="+15550100000", sid="CA" + "1" * 32):
    return {"CallSid": sid, "AccountSid": "AC" + "0" * 32, "From": "+15557654321", "To": to,
            "CallStatus": "ringing", "Direction": "inbound"}


def sign(path, data, token=None):
    return RequestValidator(token or settings.TWILIO_AUTH_TOKEN).compute_signature(settings.PUBLIC_BASE_URL + path, data)


@pytest.fixture
def number(transactional_db):
    ws = Workspace.objects.create(name="W", slug="w")
    agent = Agent.objects.create(workspace=ws, name="A", greeting="Hi")
    return PhoneNumber.objects.create(workspace=ws, e164="+15550100000", carrier="twilio", agent=agent)


def test_unsigned_request_is_forbidden(client, number, caplog):
    resp = client.post(URL, params())
    assert resp.status_code == 403
    assert "X-Twilio-Signature" in caplog.text
    assert not Call.objects.exists()


def test_wrongly_signed_request_is_forbidden(client, number):
    data = params()
    resp = client.post(URL, data, HTTP_X_TWILIO_SIGNATURE=sign(URL, data, token="not-the-token"))
    assert resp.status_code == 403


def test_signature_over_other_params_is_forbidden(client, number):
    data = params()
    signature = sign(URL, data)
    data["To"] = "+15550000000"
    assert client.post(URL, data, HTTP_X_TWILIO_SIGNATURE=signature).status_code == 403


def test_known_number_gets_a_bidirectional_stream_with_a_call_bound_token(client, number):
    data = params()
    resp = client.post(URL, data, HTTP_X_TWILIO_SIGNATURE=sign(URL, data))
    assert resp.status_code == 200
    root = ET.fromstring(resp.content)
    stream = root.find("./Connect/Stream")
    assert stream is not None and stream.get("url").endswith("/media/twilio")
    assert "?" not in stream.get("url")  # Twilio refuses query strings on Stream URLs (error 31922)
    token = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}["token"]
    claim = stream_tokens.verify(token)
    call = Call.objects.get(carrier_call_id=data["CallSid"])
    assert claim.call_id == call.carrier_call_id and claim.nonce == call.stream_nonce
    assert (call.from_number, call.to_number, call.agent_id) == ("+15557654321", "+15550100000", number.agent_id)


def test_unknown_number_gets_an_apology_and_a_hang_up(client, number, caplog):
    data = params(to="+15559999999")
    resp = client.post(URL, data, HTTP_X_TWILIO_SIGNATURE=sign(URL, data))
    root = ET.fromstring(resp.content)
    assert root.find("Say") is not None and root.find("Hangup") is not None
    assert root.find("Connect") is None
    assert "unknown number" in caplog.text
    assert not Call.objects.exists()


def test_status_callback_completes_the_call(client, number):
    data = params()
    client.post(URL, data, HTTP_X_TWILIO_SIGNATURE=sign(URL, data))
    status = {"CallSid": data["CallSid"], "CallStatus": "completed", "CallDuration": "12"}
    resp = client.post("/twilio/status", status, HTTP_X_TWILIO_SIGNATURE=sign("/twilio/status", status))
    assert resp.status_code == 204
    call = Call.objects.get(carrier_call_id=data["CallSid"])
    assert call.status == "completed" and call.ended_at is not None


def test_status_callback_for_unknown_call_is_accepted_and_ignored(client, db):
    status = {"CallSid": "CAnope", "CallStatus": "completed"}
    resp = client.post("/twilio/status", status, HTTP_X_TWILIO_SIGNATURE=sign("/twilio/status", status))
    assert resp.status_code == 204

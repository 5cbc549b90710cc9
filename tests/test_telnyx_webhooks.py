"""Telnyx webhooks: signatures, TeXML that opens an rtp stream with a token, status; Call Control answered
through the real SDK against a fake Telnyx REST server; hang-up and transfer through the SDK too."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlencode

import pytest
from nacl.signing import SigningKey

from calls import stream_tokens
from calls.carriers.telnyx.client_state import decode_token
from calls.carriers.telnyx.control import TelnyxCallControl, telnyx_control
from calls.carriers.telnyx.signature import sign
from calls.models import Agent, Call, CallEvent, PhoneNumber, Workspace
from calls.providers.base import ProviderError
from voicebot.testing.vendors.telnyx_rest import FakeTelnyx

FIXTURES = Path(__file__).parent / "fixtures" / "telnyx"
CCID = "v3:T02llQxIyaRkhfRKxgAP8nY511EhFLizdvdUKJiSw8d6A9BborherQ"
KEY = SigningKey.generate()
PRIVATE = base64.b64encode(bytes(KEY)).decode()
PUBLIC = base64.b64encode(bytes(KEY.verify_key)).decode()


@pytest.fixture(autouse=True)
def telnyx_key(settings):
    settings.TELNYX_PUBLIC_KEY = PUBLIC
    settings.TELNYX_API_KEY = ""
    settings.TELNYX_STREAM_CODEC, settings.TELNYX_STREAM_RATE = "PCMU", 8000


@pytest.fixture
def number(transactional_db):
    ws = Workspace.objects.create(name="W", slug="w")
    agent = Agent.objects.create(workspace=ws, name="A", greeting="Hi")
    return PhoneNumber.objects.create(workspace=ws, e164="+15550100000", carrier="telnyx", agent=agent)


@pytest.fixture
def fake(settings):
    with FakeTelnyx() as server:
        settings.TELNYX_API_KEY = "KEY0123456789"
        settings.TELNYX_BASE_URL = server.base_url
        yield server


def form(to="+15550100000", sid="v3:abc123") -> bytes:
    return urlencode({"AccountSid": "acc-1", "CallSid": sid, "CallSidLegacy": sid, "CallStatus": "ringing",
                      "ConnectionId": "1494404757140276705", "Direction": "inbound", "From": "+15557654321",
                      "To": to}).encode()


def post(client, path: str, body: bytes, content_type="application/x-www-form-urlencoded", key=PRIVATE,
         at: float | None = None, signed: bool = True):
    headers = {}
    if signed:
        for name, value in sign(body, key, None if at is None else int(at)).items():
            headers["HTTP_" + name.upper().replace("-", "_")] = value
    return client.generic("POST", path, body, content_type=content_type, **headers)


# ---------------------------------------------------------------- signatures on every endpoint


@pytest.mark.parametrize("path", ["/telnyx/texml", "/telnyx/status", "/telnyx/events"])
def test_unsigned_request_is_forbidden_and_logged(client, number, path, caplog):
    resp = post(client, path, form(), signed=False)
    assert resp.status_code == 403
    assert "telnyx webhook" in caplog.text and "missing telnyx-signature-ed25519" in caplog.text
    assert not Call.objects.exists()


def test_signature_by_another_key_is_forbidden(client, number):
    other = base64.b64encode(bytes(SigningKey.generate())).decode()
    assert post(client, "/telnyx/texml", form(), key=other).status_code == 403


def test_stale_signed_request_is_a_replay_and_forbidden(client, number, caplog):
    assert post(client, "/telnyx/texml", form(), at=time.time() - 600).status_code == 403
    assert "replay" in caplog.text


def test_tampered_body_is_forbidden(client, number):
    body = form()
    headers = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in sign(body, PRIVATE).items()}
    resp = client.generic("POST", "/telnyx/texml", form(to="+15550000001"),
                          content_type="application/x-www-form-urlencoded", **headers)
    assert resp.status_code == 403


# ---------------------------------------------------------------- TeXML


def stream_of(resp) -> ET.Element:
    assert resp.status_code == 200 and resp["Content-Type"] == "application/xml"
    stream = ET.fromstring(resp.content).find("./Connect/Stream")
    assert stream is not None
    return stream


def test_known_number_gets_a_bidirectional_rtp_stream_with_a_call_bound_token(client, number):
    resp = post(client, "/telnyx/texml", form())
    root = ET.fromstring(resp.content)
    stream = stream_of(resp)
    assert stream.get("url").endswith("/media/telnyx")
    assert stream.get("bidirectionalMode") == "rtp"
    assert (stream.get("bidirectionalCodec"), stream.get("bidirectionalSamplingRate")) == ("PCMU", "8000")
    assert stream.get("track") == "inbound_track"
    token = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}["token"]
    claim = stream_tokens.verify(token)
    call = Call.objects.get(carrier="telnyx", carrier_call_id="v3:abc123")
    assert claim.call_id == call.carrier_call_id and claim.nonce == call.stream_nonce
    assert (call.from_number, call.to_number, call.agent_id) == ("+15557654321", "+15550100000", number.agent_id)
    assert root[-1].tag == "Hangup"  # after the stream: the call ends when we close it


def test_wideband_agent_is_offered_l16_16khz(client, number):
    number.agent.provider_options = {"telephony": {"codec": "L16", "sample_rate": 16000}}
    number.agent.save()
    stream = stream_of(post(client, "/telnyx/texml", form()))
    assert (stream.get("codec"), stream.get("bidirectionalCodec"), stream.get("bidirectionalSamplingRate")) == \
        ("L16", "L16", "16000")


def test_wideband_setting_and_a_bad_choice_falls_back_to_pcmu(client, number, settings, caplog):
    settings.TELNYX_STREAM_CODEC, settings.TELNYX_STREAM_RATE = "L16", 16000
    assert stream_of(post(client, "/telnyx/texml", form(sid="v3:a"))).get("bidirectionalSamplingRate") == "16000"
    settings.TELNYX_STREAM_CODEC = "PCMU"  # μ-law at 16 kHz does not exist
    stream = stream_of(post(client, "/telnyx/texml", form(sid="v3:b")))
    assert (stream.get("bidirectionalCodec"), stream.get("bidirectionalSamplingRate")) == ("PCMU", "8000")
    assert "not supported" in caplog.text


def test_unknown_number_gets_an_apology_and_a_hang_up(client, number, caplog):
    resp = post(client, "/telnyx/texml", form(to="+15559999999"))
    root = ET.fromstring(resp.content)
    assert resp.status_code == 200
    assert root.find("Say").text and root.find("Hangup") is not None and root.find("Connect") is None
    assert "unknown number" in caplog.text
    assert not Call.objects.exists()


def test_status_callback_completes_the_call(client, number):
    post(client, "/telnyx/texml", form())
    body = urlencode({"CallSid": "v3:abc123", "CallStatus": "completed", "CallDuration": "12"}).encode()
    assert post(client, "/telnyx/status", body).status_code == 204
    call = Call.objects.get(carrier_call_id="v3:abc123")
    assert call.status == "completed" and call.ended_at is not None


def test_status_callback_for_unknown_call_is_accepted_and_ignored(client, db):
    body = urlencode({"CallSid": "v3:nope", "CallStatus": "completed"}).encode()
    assert post(client, "/telnyx/status", body).status_code == 204


# ---------------------------------------------------------------- Call Control through the SDK


def event(name: str, **payload) -> bytes:
    body = json.loads((FIXTURES / f"{name}.json").read_text())
    body["data"]["payload"].update(payload)
    return json.dumps(body).encode()


def test_call_initiated_is_answered_through_the_sdk_with_an_rtp_stream_and_the_token(client, number, fake):
    resp = post(client, "/telnyx/events", event("call_initiated"), content_type="application/json")
    assert resp.status_code == 204
    [(ccid, action, body)] = fake.commands()
    assert (ccid, action) == (CCID, "answer")
    assert fake.requests[0].headers["Authorization"] == "Bearer KEY0123456789"
    assert body["stream_url"].endswith("/media/telnyx")
    assert body["stream_track"] == "inbound_track"
    assert body["stream_bidirectional_mode"] == "rtp"
    assert (body["stream_codec"], body["stream_bidirectional_codec"]) == ("PCMU", "PCMU")
    assert body["stream_bidirectional_sampling_rate"] == 8000
    claim = stream_tokens.verify(decode_token(body["client_state"]))
    call = Call.objects.get(carrier="telnyx", carrier_call_id=CCID)
    assert claim.call_id == CCID and claim.nonce == call.stream_nonce


def test_call_control_wideband_answer_asks_for_l16_16khz(client, number, fake):
    number.agent.provider_options = {"telephony": {"codec": "L16", "sample_rate": 16000}}
    number.agent.save()
    post(client, "/telnyx/events", event("call_initiated"), content_type="application/json")
    [(_, _, body)] = fake.commands()
    assert (body["stream_bidirectional_codec"], body["stream_bidirectional_sampling_rate"]) == ("L16", 16000)


def test_redelivered_call_initiated_does_not_answer_twice(client, number, fake):
    for _ in range(2):
        post(client, "/telnyx/events", event("call_initiated"), content_type="application/json")
    assert len(fake.commands()) == 1


def test_call_initiated_for_an_unknown_number_is_rejected(client, number, fake):
    post(client, "/telnyx/events", event("call_initiated", to="+15559999999"), content_type="application/json")
    [(_, action, body)] = fake.commands()
    assert action == "reject" and body["cause"] == "CALL_REJECTED"
    assert not Call.objects.exists()


def test_a_failed_answer_marks_the_call_failed(client, number, settings, caplog):
    with FakeTelnyx(status=422) as refusing:
        settings.TELNYX_API_KEY, settings.TELNYX_BASE_URL = "KEY", refusing.base_url
        resp = post(client, "/telnyx/events", event("call_initiated"), content_type="application/json")
    assert resp.status_code == 204  # our failure, not Telnyx's: no redelivery wanted
    assert Call.objects.get(carrier_call_id=CCID).status == "failed"
    assert "not answered" in caplog.text and "422" in caplog.text


def test_call_initiated_without_an_api_key_is_logged_and_left_alone(client, number, caplog):
    assert post(client, "/telnyx/events", event("call_initiated"), content_type="application/json").status_code == 204
    assert "TELNYX_API_KEY" in caplog.text


def test_outgoing_call_initiated_needs_nothing(client, number, fake):
    post(client, "/telnyx/events", event("call_initiated", direction="outgoing"), content_type="application/json")
    assert fake.commands() == [] and not Call.objects.exists()


def test_call_hangup_updates_the_status(client, number, fake):
    post(client, "/telnyx/events", event("call_initiated"), content_type="application/json")
    post(client, "/telnyx/events", event("call_hangup"), content_type="application/json")
    call = Call.objects.get(carrier_call_id=CCID)
    assert call.status == "completed" and call.end_reason == "carrier:completed"


def test_call_hangup_busy_is_a_failed_call_with_a_hangup_event(client, number, fake):
    post(client, "/telnyx/events", event("call_initiated"), content_type="application/json")
    post(client, "/telnyx/events", event("call_hangup", hangup_cause="user_busy"), content_type="application/json")
    call = Call.objects.get(carrier_call_id=CCID)
    assert call.status == "failed"
    assert CallEvent.objects.filter(call=call, kind="hangup", detail__carrier_status="busy").exists()


@pytest.mark.parametrize("body", [b"{nope", b"[]", b'{"data": {"event_type": "call.initiated"}}'])
def test_malformed_event_is_a_400_not_a_crash(client, number, body):
    assert post(client, "/telnyx/events", body, content_type="application/json").status_code == 400


def test_other_events_are_acknowledged(client, number):
    body = event("call_initiated")
    data = json.loads(body)
    data["data"]["event_type"] = "streaming.started"
    assert post(client, "/telnyx/events", json.dumps(data).encode(), content_type="application/json").status_code == 204


# ---------------------------------------------------------------- TelnyxCallControl


def test_call_control_exists_only_with_an_api_key(settings):
    settings.TELNYX_API_KEY = ""
    assert telnyx_control() is None
    settings.TELNYX_API_KEY = "KEY"
    assert isinstance(telnyx_control(), TelnyxCallControl)


def test_hang_up_and_transfer_go_through_the_sdk(fake):
    control = TelnyxCallControl()

    async def go():
        await control.hang_up(CCID)
        await control.transfer(CCID, "+15551230000")
        await control.transfer(CCID, "sip:desk@pbx.example", summary="wants an appointment")

    asyncio.run(go())
    hang, phone, sip = fake.commands()
    assert hang[:2] == (CCID, "hangup")
    assert phone[1] == "transfer" and phone[2]["to"] == "+15551230000" and "custom_headers" not in phone[2]
    assert sip[2]["to"] == "sip:desk@pbx.example"
    assert sip[2]["custom_headers"] == [{"name": "X-Summary", "value": "wants an appointment"}]


def test_a_refused_command_is_a_provider_error(settings):
    with FakeTelnyx(status=422) as refusing:
        settings.TELNYX_API_KEY, settings.TELNYX_BASE_URL = "KEY", refusing.base_url
        with pytest.raises(ProviderError, match="hang-up failed: HTTP 422"):
            asyncio.run(TelnyxCallControl().hang_up(CCID))

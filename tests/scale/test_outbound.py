"""Outbound calls through the real Twilio and Telnyx SDKs pointed at local fakes: the Call row before the dial,
answering-machine detection, the stream opened on answer; and the API endpoint and dashboard pages around them."""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse
from nacl.signing import SigningKey
from twilio.request_validator import RequestValidator

from automation.models import Campaign, Contact, WebhookDelivery
from calls import stream_tokens
from calls.carriers.rest_errors import CarrierRestError
from calls.carriers.telnyx import client_state
from calls.carriers.telnyx.signature import sign
from calls.models import Agent, Call, PhoneNumber, Workspace
from calls.outbound import place_call
from dashboard.models import ApiToken
from voicebot.testing.vendors.telnyx_rest import FakeTelnyx
from voicebot.testing.vendors.twilio_rest import ACCOUNT_SID, FakeTwilio

pytestmark = pytest.mark.django_db
PUBLIC = "https://voicebot.test"
TOKEN = "twilio-test-token"
KEY = SigningKey.generate()


@pytest.fixture
def twilio(settings):
    fake = FakeTwilio(TOKEN).start()
    settings.PUBLIC_BASE_URL = PUBLIC
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = ACCOUNT_SID, TOKEN
    settings.TWILIO_CREDENTIALS_ARE_REAL = True
    settings.TWILIO_BASE_URL = fake.base_url
    yield fake
    fake.stop()


@pytest.fixture
def telnyx(settings):
    fake = FakeTelnyx().start()
    settings.PUBLIC_BASE_URL = PUBLIC
    settings.TELNYX_API_KEY, settings.TELNYX_CONNECTION_ID = "KEY0123", "conn-1"
    settings.TELNYX_BASE_URL = fake.base_url
    settings.TELNYX_PUBLIC_KEY = base64.b64encode(bytes(KEY.verify_key)).decode()
    settings.TELNYX_STREAM_CODEC, settings.TELNYX_STREAM_RATE = "PCMU", 8000
    yield fake
    fake.stop()


@pytest.fixture
def workspace():
    return Workspace.objects.create(name="W", slug="w")


def make_agent(workspace, **fields) -> Agent:
    return Agent.objects.create(workspace=workspace, name=fields.pop("name", "Caller"), greeting="Hi {name}.",
                                voicemail_message="Please call us back.", **fields)


def twilio_post(client, path: str, params: dict):
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + path, params)
    return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)


def telnyx_event(client, kind: str, call: Call, **payload):
    body = json.dumps({"data": {"event_type": kind, "payload": {
        "call_control_id": call.carrier_call_id, "client_state": client_state.encode_call(call.pk), **payload}}})
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v
               for k, v in sign(body.encode(), base64.b64encode(bytes(KEY)).decode()).items()}
    return client.post("/telnyx/outbound/events", body, content_type="application/json", **headers)


# ---------------------------------------------------------------------------------------------------- Twilio


def test_twilio_call_row_exists_before_the_dial_and_amd_is_requested(twilio, workspace):
    agent = make_agent(workspace, machine_detection="hangup")
    call = place_call(agent, "twilio", "+15550100000", "+15557770001", {"name": "Ada"})
    dialled, = twilio.dialled
    assert call.carrier_call_id == dialled.sid and Call.objects.get(pk=call.pk).carrier_call_id == dialled.sid
    assert call.direction == "outbound" and call.status == "ringing" and call.variables == {"name": "Ada"}
    assert (dialled.to, dialled.from_) == ("+15557770001", "+15550100000")
    assert dialled.url == f"{PUBLIC}/twilio/outbound/answer?call={call.pk}"
    assert dialled.status_callback == f"{PUBLIC}/twilio/outbound/status?call={call.pk}"
    assert dialled.machine_detection == "DetectMessageEnd"


def test_a_human_answer_gets_a_stream_with_a_token_for_this_call(twilio, workspace, client):
    call = place_call(make_agent(workspace), "twilio", "+15550100000", "+15557770001")
    path = f"/twilio/outbound/answer?call={call.pk}"
    response = twilio_post(client, path, {"CallSid": call.carrier_call_id, "AnsweredBy": "human"})
    stream = ET.fromstring(response.content).find("./Connect/Stream")
    assert stream.get("url") == "wss://voicebot.test/media/twilio"
    token = stream.find("Parameter").get("value")
    assert stream_tokens.verify(token).call_id == call.carrier_call_id
    assert Call.objects.get(pk=call.pk).answered_by == "human"
    assert twilio_post(client, path, {"CallSid": "CA-someone-else"}).status_code == 200  # refused politely
    assert client.post(path, {"CallSid": call.carrier_call_id}).status_code == 403  # unsigned


@pytest.mark.parametrize("mode, verbs", [("hangup", ["Hangup"]), ("message", ["Say", "Hangup"])])
def test_a_machine_answer_hangs_up_or_leaves_the_voicemail_message(twilio, workspace, client, mode, verbs):
    call = place_call(make_agent(workspace, machine_detection=mode, language="de-DE"), "twilio", "+15550100000",
                      "+15557770001")
    response = twilio_post(client, f"/twilio/outbound/answer?call={call.pk}",
                           {"CallSid": call.carrier_call_id, "AnsweredBy": "machine_end_beep"})
    root = ET.fromstring(response.content)
    assert [child.tag for child in root] == verbs
    if mode == "message":
        assert root.find("Say").text == "Please call us back." and root.find("Say").get("language") == "de-DE"
    stored = Call.objects.get(pk=call.pk)
    assert (stored.answered_by, stored.end_reason) == ("machine", f"machine:{mode}")


def test_the_status_callback_ends_the_call_and_queues_the_post_call_work(twilio, workspace, client,
                                                                          django_capture_on_commit_callbacks):
    call = place_call(make_agent(workspace), "twilio", "+15550100000", "+15557770001")
    with django_capture_on_commit_callbacks(execute=True):
        twilio_post(client, f"/twilio/outbound/status?call={call.pk}",
                    {"CallSid": call.carrier_call_id, "CallStatus": "busy"})
    stored = Call.objects.get(pk=call.pk)
    assert (stored.status, stored.end_reason) == ("failed", "carrier:busy")
    assert stored.summary  # post_call ran (eagerly: no broker in the test settings)


def test_a_dial_that_cannot_reach_the_carrier_leaves_a_failed_call(twilio, settings, workspace):
    settings.TWILIO_BASE_URL = "http://127.0.0.1:9"  # nothing listens there
    with pytest.raises(CarrierRestError):
        place_call(make_agent(workspace), "twilio", "+15550100000", "+15557770001")
    call = Call.objects.get()
    assert call.status == "failed" and call.end_reason.startswith("dial-failed")


# ---------------------------------------------------------------------------------------------------- Telnyx


def test_telnyx_dial_then_the_stream_starts_when_a_human_answers(telnyx, workspace, client):
    call = place_call(make_agent(workspace), "telnyx", "+15550100000", "+15557770001")
    (path, body), = telnyx.bodies()
    assert path == "/v2/calls" and call.carrier_call_id == "v3:dialled-call"
    assert body["connection_id"] == "conn-1" and body["to"] == "+15557770001" and body["from"] == "+15550100000"
    assert body["webhook_url"] == f"{PUBLIC}/telnyx/outbound/events"
    assert client_state.decode_call(body["client_state"]) == call.pk
    assert "answering_machine_detection" not in body and "stream_url" not in body
    assert telnyx_event(client, "call.answered", call).status_code == 204
    (action, streaming), = telnyx.actions()
    assert action == "streaming_start"
    assert streaming["stream_url"] == "wss://voicebot.test/media/telnyx"
    assert streaming["stream_bidirectional_mode"] == "rtp"
    token = {p["name"]: p["value"] for p in streaming["custom_parameters"]}["token"]
    assert stream_tokens.verify(token).call_id == "v3:dialled-call"


def test_telnyx_voicemail_is_spoken_after_the_greeting_then_the_call_is_hung_up(telnyx, workspace, client):
    call = place_call(make_agent(workspace, machine_detection="message", language="fr-FR"), "telnyx", "+15550100000",
                      "+15557770001")
    assert telnyx.bodies()[0][1]["answering_machine_detection"] == "detect_beep"
    telnyx_event(client, "call.answered", call)
    telnyx_event(client, "call.machine.detection.ended", call, result="machine")
    assert telnyx.actions() == []  # wait for the beep
    telnyx_event(client, "call.machine.greeting.ended", call, result="beep_detected")
    telnyx_event(client, "call.speak.ended", call)
    assert [a for a, _ in telnyx.actions()] == ["speak", "hangup"]
    assert telnyx.actions()[0][1]["payload"] == "Please call us back."
    assert telnyx.actions()[0][1]["language"] == "fr-FR"  # the carrier's voice speaks the agent's language
    assert Call.objects.get(pk=call.pk).answered_by == "machine"


# ---------------------------------------------------------------------------------------------------- API and pages


@pytest.fixture
def number(workspace):
    return PhoneNumber.objects.create(workspace=workspace, e164="+15550100000", carrier="twilio",
                                      agent=make_agent(workspace))


def test_api_places_an_outbound_call(twilio, number, client):
    key = ApiToken.issue(number.workspace, "t")[1]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    payload = {"agent": number.agent_id, "to": "+1 (555) 777-0001", "variables": {"name": "Ada"}}
    response = client.post("/api/calls/outbound", json.dumps(payload), content_type="application/json", **auth)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["direction"] == "outbound" and data["to"] == "+15557770001" and data["from"] == "+15550100000"
    assert Call.objects.get(pk=data["id"]).variables == {"name": "Ada"}
    bad = client.post("/api/calls/outbound", json.dumps({**payload, "to": "12"}), content_type="application/json",
                      **auth)
    assert bad.status_code == 400 and "to" in bad.json()["fields"]
    assert client.post("/api/calls/outbound", "{}", content_type="application/json").status_code == 401


def test_api_says_when_the_carrier_is_not_configured(settings, number, client):
    settings.TWILIO_CREDENTIALS_ARE_REAL = False
    key = ApiToken.issue(number.workspace, "t")[1]
    response = client.post("/api/calls/outbound", json.dumps({"agent": number.agent_id, "to": "+15557770001"}),
                           content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 503 and response.json()["error"] == "carrier_not_configured"
    assert not Call.objects.exists()


@pytest.fixture
def member(number, client, settings):
    from django.contrib.auth import get_user_model

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = get_user_model().objects.create_user("m", password="x")
    number.workspace.members.add(user)
    client.force_login(user)
    return client


def test_a_campaign_is_created_from_a_csv_and_reports_progress(member, number):
    from django.core.files.uploadedfile import SimpleUploadedFile

    csv = b"number,name\n+15557770001,Ada\n+1 555 777 0002,Grace\n+15557770001,Ada again\n"
    response = member.post(reverse("dashboard:outbound"), {
        "action": "campaign", "name": "Spring", "agent": number.agent_id, "number": number.pk,
        "concurrency_cap": 2, "max_attempts": 3, "retry_delay_s": 60,
        "contacts": SimpleUploadedFile("c.csv", csv, content_type="text/csv")})
    campaign = Campaign.objects.get()
    assert response.status_code == 302 and response.url == reverse("dashboard:campaign", args=[campaign.pk])
    assert (campaign.from_number, campaign.carrier, campaign.status) == ("+15550100000", "twilio", "draft")
    assert list(campaign.contacts.values_list("number", "variables")) == [
        ("+15557770001", {"name": "Ada"}), ("+15557770002", {"name": "Grace"})]
    progress = member.get(reverse("dashboard:campaign-progress", args=[campaign.pk])).json()
    assert progress == {"status": "draft", "total": 2, "pending": 2, "dialing": 0, "done": 0, "failed": 0,
                        "percent": 0.0}
    assert b"role=\"progressbar\"" in member.get(reverse("dashboard:campaign", args=[campaign.pk])).content
    bad = member.post(reverse("dashboard:outbound"), {
        "action": "campaign", "name": "Bad", "agent": number.agent_id, "number": number.pk, "concurrency_cap": 1,
        "max_attempts": 1, "retry_delay_s": 60, "contacts": SimpleUploadedFile("c.csv", b"name\nAda\n")})
    assert bad.status_code == 400 and b"number" in bad.content


def test_the_call_form_dials_and_the_webhooks_page_lists_attempts(twilio, member, number):
    response = member.post(reverse("dashboard:outbound"), {"action": "call", "agent": number.agent_id,
                                                           "to": "+15557770009", "variables": ""})
    call = Call.objects.get(direction="outbound")
    assert response.status_code == 302 and response.url == reverse("dashboard:call-detail", args=[call.pk])
    WebhookDelivery.objects.create(workspace=number.workspace, call=call, event="call.completed", event_id="e",
                                   url="https://hooks.example/x", attempt=1, status="retrying", status_code=503)
    page = member.get(reverse("dashboard:webhooks")).content.decode()
    assert "https://hooks.example/x" in page and "retrying" in page and "503" in page
    assert Contact.objects.count() == 0

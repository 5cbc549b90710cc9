"""The API's calls: detail with variables and every recorded field, placing needs calls:write, hanging up a
live call through the carrier's REST API (the real Twilio SDK against the local fake)."""

from __future__ import annotations

import pytest

from calls.models import Call, CallEvent
from tests.scale.test_outbound import twilio  # noqa: F401 (the fixture: the Twilio REST fake, credentials set)

from .api_client import ApiClient
from .conftest import make_call

pytestmark = pytest.mark.django_db


@pytest.fixture
def caller(client, ws_a):
    return ApiClient.issue(client, ws_a, "read", "calls:write")


@pytest.fixture
def live_call(ws_a, agent_a):
    return make_call(ws_a, agent_a, "CA" + "1" * 32, status=Call.Status.IN_PROGRESS)


def test_call_detail_has_variables_and_the_models_fields_but_no_internals(caller, ws_a, agent_a, call_a):
    Call.objects.filter(pk=call_a.pk).update(variables={"customer_name": "Ada"}, summary="Booked a cleaning.",
                                             stream_nonce="secret-nonce", brain_state={"slots": {"x": 1}})
    body = caller.get(f"/api/calls/{call_a.pk}").json()
    assert body["variables"] == {"customer_name": "Ada"} and body["summary"] == "Booked a cleaning."
    assert body["agent"] == "Receptionist" and body["agent_id"] == agent_a.pk and body["from"] == "+15550111111"
    assert [e["kind"] for e in body["events"]] == ["dtmf", "provider_failure"]
    assert body["turns"][2]["heard_text"] == "Sure. Which day works for you?"
    assert "stream_nonce" not in body and "brain_state" not in body and "secret-nonce" not in str(body)
    assert "served_by" not in body  # the server process holding the stream (calls/instances.py): internal
    # Every other field of the Call model is there: fields added later (analysis, cost...) appear unedited.
    hidden = {"workspace", "stream_nonce", "brain_state", "recording", "from_number", "to_number", "agent", "served_by"}
    assert {f.name for f in Call._meta.concrete_fields} - hidden <= set(body)


def test_list_filters_and_pages(caller, ws_a, agent_a):
    for i in range(5):
        make_call(ws_a, agent_a, f"CA-{i}", minutes_ago=10 + i, direction="outbound" if i % 2 else "inbound")
    page = caller.get("/api/calls", {"page_size": 2, "page": 2}).json()
    assert (page["count"], page["page"], page["pages"]) == (5, 2, 3)
    assert [c["carrier_call_id"] for c in page["results"]] == ["CA-2", "CA-3"]
    assert caller.get("/api/calls", {"direction": "outbound"}).json()["count"] == 2
    assert caller.get("/api/calls", {"page_size": 1000}).status_code == 400
    bad = caller.get("/api/calls", {"since": "yesterday"})
    assert bad.status_code == 400 and "since" in bad.json()["fields"]


def test_a_live_call_is_hung_up_through_the_carrier(twilio, caller, live_call):
    response = caller.post(f"/api/calls/{live_call.pk}/hangup")
    assert response.status_code == 202, response.content
    assert response.json() == {"id": live_call.pk, "status": "in-progress", "hangup_requested": True}
    assert twilio.updates == [(live_call.carrier_call_id, {"Status": "completed"})]
    assert CallEvent.objects.get(call=live_call).detail == {"by": "api"}


def test_hanging_up_what_cannot_be_hung_up_is_a_409(settings, twilio, caller, call_a, live_call):
    finished = caller.post(f"/api/calls/{call_a.pk}/hangup")
    assert finished.status_code == 409 and finished.json()["error"] == "call_not_live"
    settings.TWILIO_CREDENTIALS_ARE_REAL = False
    unsupported = caller.post(f"/api/calls/{live_call.pk}/hangup")
    assert unsupported.status_code == 409 and unsupported.json()["error"] == "hangup_unsupported"
    assert twilio.updates == []


def test_hanging_up_needs_calls_write_and_an_own_call(client, twilio, ws_a, ws_b, agent_b, live_call):
    reader = ApiClient.issue(client, ws_a, "read")
    denied = reader.post(f"/api/calls/{live_call.pk}/hangup")
    assert denied.status_code == 403 and denied.json()["error"] == "insufficient_scope"
    theirs = make_call(ws_b, agent_b, "CB" + "2" * 32, status=Call.Status.IN_PROGRESS)
    caller = ApiClient.issue(client, ws_a, "calls:write")
    assert caller.post(f"/api/calls/{theirs.pk}/hangup").status_code == 404
    assert twilio.updates == []


def test_placing_a_call_needs_calls_write(client, ws_a, number_a):
    reader = ApiClient.issue(client, ws_a, "read")
    response = reader.post("/api/calls/outbound", {"agent": number_a.agent_id, "to": "+15557770001"})
    assert response.status_code == 403 and response.json()["error"] == "insufficient_scope"
    assert not Call.objects.exists()

"""The API's agents and numbers: CRUD with the dashboard's checks, scopes, workspace isolation, nothing
half-written."""

from __future__ import annotations

import pytest

from calls.models import Agent, PhoneNumber

from .api_client import ApiClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def writer(client, ws_a):
    return ApiClient.issue(client, ws_a, "read", "agents:write")


@pytest.fixture
def reader(client, ws_a):
    return ApiClient.issue(client, ws_a, "read")


def test_an_agent_is_created_with_only_a_name_and_answers_with_the_starter_flow(writer, ws_a):
    response = writer.post("/api/agents", {"name": "Front desk"})
    assert response.status_code == 201, response.content
    body = response.json()
    agent = Agent.objects.get(pk=body["id"], workspace=ws_a)
    assert agent.name == "Front desk" and agent.flow["start"] == "welcome"
    assert body["flow"] == agent.flow and body["llm_provider"] == "flow" and body["flow_version"] == 1
    assert "workspace" not in body and "post_call_webhook_secret" not in body


def test_the_agent_schema_follows_the_model(client):
    # Every model field is in the API's agent unless it is internal or a secret: new fields appear unedited.
    spec = client.get("/api/openapi.json").json()
    shown = set(spec["components"]["schemas"]["AgentOut"]["properties"])
    model = {f.name for f in Agent._meta.concrete_fields} - {"workspace"}
    assert shown == {f for f in model if not f.endswith("_secret")}
    writable = set(spec["components"]["schemas"]["AgentIn"]["properties"])
    assert "post_call_webhook_secret" in writable and not {"id", "workspace", "flow_version"} & writable


def test_a_secret_is_written_but_never_read_back(writer, agent_a):
    response = writer.patch(f"/api/agents/{agent_a.pk}", {"post_call_webhook_url": "https://crm.example/hook",
                                                          "post_call_webhook_secret": "s3cret"})
    assert response.status_code == 200, response.content
    assert "s3cret" not in response.content.decode()
    agent_a.refresh_from_db()
    assert agent_a.post_call_webhook_secret == "s3cret"


def test_patch_changes_only_what_is_sent_and_bumps_the_flow_version(writer, agent_a):
    flow = {"start": "hi", "nodes": {"hi": {"type": "end", "text": "Bye now."}}}
    response = writer.patch(f"/api/agents/{agent_a.pk}", {"flow": flow, "barge_in_min_ms": 300})
    assert response.status_code == 200, response.content
    agent_a.refresh_from_db()
    assert agent_a.flow == flow and agent_a.barge_in_min_ms == 300 and agent_a.flow_version == 2
    assert agent_a.greeting == "Hello!"  # not sent, not touched


@pytest.mark.parametrize(("change", "field"), [
    ({"flow": {"start": "nowhere", "nodes": {}}}, "flow"),  # the dashboard's flow check
    ({"stt_provider": "no-such-stt"}, "stt_provider"),  # the provider registry's names
    ({"barge_in_min_ms": 10}, "barge_in_min_ms"),  # the page's bounds
    ({"provider_options": {"bogus": {}}}, "provider_options"),
    ({"retention_days": -3}, "retention_days"),  # not on the page: the model's own validators (full_clean)
    ({"barge_in_min_ms": "soon"}, "barge_in_min_ms"),  # wrong type
    ({"max_reprompts": False}, "max_reprompts"),  # a boolean is no count (pydantic would read it as 0)
    ({"end_of_turn_max_silence_ms": True}, "end_of_turn_max_silence_ms"),
    ({"max_reprompts": "3"}, "max_reprompts"),  # JSON has numbers: a string is no count either
    ({"colour": "blue"}, "colour"),  # unknown field
    ({"language": "es"}, "language"),  # a tag of the language table, exactly
    ({"provider_options": {"tts": {"speed": 9}}}, "provider_options"),  # a voice knob out of its range
])
def test_a_bad_change_is_a_400_naming_the_field_and_saves_nothing(writer, agent_a, change, field):
    before = Agent.objects.filter(pk=agent_a.pk).values().get()
    response = writer.patch(f"/api/agents/{agent_a.pk}", {"name": "Renamed", **change})
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "validation_error" and field in body["fields"], body
    assert Agent.objects.filter(pk=agent_a.pk).values().get() == before


def test_an_agent_speaks_the_language_it_is_given(writer, ws_a):
    response = writer.post("/api/agents", {"name": "Recepción", "language": "es-MX"})
    assert response.status_code == 201, response.content
    assert response.json()["language"] == "es-MX" and Agent.objects.get(name="Recepción").language == "es-MX"
    assert writer.post("/api/agents", {"name": "Plain"}).json()["language"] == "en-US"


def test_names_are_unique_per_workspace(writer, agent_a, agent_b):
    assert writer.post("/api/agents", {"name": agent_a.name}).status_code == 400
    assert writer.post("/api/agents", {"name": agent_b.name}).status_code == 201  # B's name is free in A


def test_clone_and_delete(writer, agent_a, number_a):
    response = writer.post(f"/api/agents/{agent_a.pk}/clone")
    assert response.status_code == 201 and response.json()["name"] == "Receptionist (copy)"
    clone_id = response.json()["id"]
    assert not PhoneNumber.objects.filter(agent_id=clone_id).exists()
    # The original still answers a number: deleting it would strand the number.
    conflict = writer.delete(f"/api/agents/{agent_a.pk}")
    assert conflict.status_code == 409 and conflict.json()["error"] == "conflict"
    assert writer.delete(f"/api/agents/{clone_id}").status_code == 204
    assert not Agent.objects.filter(pk=clone_id).exists()


def test_another_workspaces_agent_is_404_for_every_operation(writer, agent_b):
    path = f"/api/agents/{agent_b.pk}"
    for response in (writer.get(path), writer.patch(path, {"name": "mine"}), writer.delete(path),
                     writer.post(path + "/clone")):
        assert response.status_code == 404 and response.json()["error"] == "not_found"
    assert Agent.objects.get(pk=agent_b.pk).name == "Bolt bot"


def test_reading_needs_read_and_writing_needs_agents_write(client, ws_a, reader, agent_a):
    assert reader.get("/api/agents").json()["count"] == 1
    denied = reader.post("/api/agents", {"name": "Nope"})
    assert denied.status_code == 403 and denied.json()["error"] == "insufficient_scope"
    assert reader.patch(f"/api/agents/{agent_a.pk}", {"name": "x"}).status_code == 403
    assert not Agent.objects.filter(name="Nope").exists()
    writer_only = ApiClient.issue(client, ws_a, "agents:write")
    assert writer_only.get("/api/agents").status_code == 403
    admin = ApiClient.issue(client, ws_a, "admin")
    assert admin.get("/api/agents").status_code == 200
    assert admin.post("/api/agents", {"name": "By admin"}).status_code == 201


def test_numbers_are_bound_rebound_and_unbound(writer, ws_a, agent_a):
    other = writer.post("/api/agents", {"name": "Night shift"}).json()
    response = writer.post("/api/numbers", {"e164": "+1 (415) 555-0100", "carrier": "twilio", "agent": agent_a.pk})
    assert response.status_code == 201, response.content
    number = response.json()
    assert number["e164"] == "+14155550100" and number["agent"] == agent_a.pk
    rebound = writer.patch(f"/api/numbers/{number['id']}", {"agent": other["id"]})
    assert rebound.status_code == 200 and rebound.json()["agent"] == other["id"]
    listed = writer.get("/api/numbers", {"agent": other["id"]}).json()
    assert [n["id"] for n in listed["results"]] == [number["id"]]
    assert writer.delete(f"/api/numbers/{number['id']}").status_code == 204
    assert not PhoneNumber.objects.filter(workspace=ws_a).exists()


def test_a_number_cannot_point_at_another_workspaces_agent_or_be_taken_twice(writer, agent_a, agent_b, number_b):
    response = writer.post("/api/numbers", {"e164": "+14155550100", "carrier": "twilio", "agent": agent_b.pk})
    assert response.status_code == 400 and "agent" in response.json()["fields"]
    taken = writer.post("/api/numbers", {"e164": number_b.e164, "carrier": number_b.carrier, "agent": agent_a.pk})
    assert taken.status_code == 400 and "e164" in taken.json()["fields"]
    assert "Bolt" not in taken.content.decode()  # says it is bound, not whose it is
    bad = writer.post("/api/numbers", {"e164": "12", "carrier": "fax", "agent": agent_a.pk})
    assert bad.status_code == 400 and {"e164", "carrier"} <= set(bad.json()["fields"])
    assert writer.get(f"/api/numbers/{number_b.pk}").status_code == 404
    assert writer.patch(f"/api/numbers/{number_b.pk}", {"agent": agent_a.pk}).status_code == 404
    assert PhoneNumber.objects.get(pk=number_b.pk).agent_id == agent_b.pk

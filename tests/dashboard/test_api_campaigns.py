"""The API's campaigns (from a CSV, progress, start/pause/cancel), knowledge documents and webhook deliveries."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from automation.models import Campaign, Contact, WebhookDelivery
from knowledge.models import Chunk, Document

from .api_client import ApiClient

pytestmark = pytest.mark.django_db
CSV = b"number,customer_name\n+15557770001,Ada\n+1 555 777 0002,Grace\n"


@pytest.fixture
def caller(client, ws_a):
    return ApiClient.issue(client, ws_a, "read", "calls:write")


@pytest.fixture
def editor(client, ws_a):
    return ApiClient.issue(client, ws_a, "read", "agents:write")


def campaign_form(number, csv: bytes = CSV, **fields) -> dict:
    return {"name": "Spring", "agent": number.agent_id, "number": number.pk, "concurrency_cap": 2,
            "contacts": SimpleUploadedFile("contacts.csv", csv, content_type="text/csv"), **fields}


def test_a_campaign_is_created_from_a_csv_and_canceled(caller, number_a):
    response = caller.upload("/api/campaigns", campaign_form(number_a))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft" and body["agent"] == number_a.agent_id and body["from_number"] == number_a.e164
    assert body["progress"] == {"status": "draft", "total": 2, "pending": 2, "dialing": 0, "done": 0, "failed": 0,
                                "percent": 0.0}
    contacts = caller.get(f"/api/campaigns/{body['id']}/contacts").json()
    assert [(c["number"], c["variables"]) for c in contacts["results"]] == [
        ("+15557770001", {"customer_name": "Ada"}), ("+15557770002", {"customer_name": "Grace"})]
    paused = caller.post(f"/api/campaigns/{body['id']}/pause")
    assert paused.status_code == 409 and paused.json()["error"] == "campaign_not_running"
    canceled = caller.post(f"/api/campaigns/{body['id']}/cancel")
    assert canceled.status_code == 200 and canceled.json()["status"] == "completed"
    assert canceled.json()["progress"]["done"] == 2
    assert set(Contact.objects.values_list("status", "result")) == {("done", "canceled")}
    assert caller.post(f"/api/campaigns/{body['id']}/cancel").status_code == 409
    assert caller.post(f"/api/campaigns/{body['id']}/start").status_code == 409


def test_a_started_campaign_without_carrier_credentials_pauses_and_calls_nobody(settings, caller, number_a):
    settings.TWILIO_CREDENTIALS_ARE_REAL = False
    response = caller.upload("/api/campaigns", campaign_form(number_a, start="true"))
    assert response.status_code == 201, response.content
    campaign = Campaign.objects.get()
    assert campaign.status == "paused" and not campaign.contacts.exclude(status="pending").exists()


@pytest.mark.parametrize(("csv", "fields", "field"), [
    (b"name\nAda\n", {}, "contacts"),  # no number column
    (b"number\n12\n", {}, "contacts"),  # not E.164
    (CSV, {"concurrency_cap": "lots"}, "concurrency_cap"),  # wrong type
    (CSV, {"concurrency_cap": 500}, "concurrency_cap"),  # over the page's bound
])
def test_a_bad_campaign_is_a_400_and_writes_nothing(caller, number_a, csv, fields, field):
    response = caller.upload("/api/campaigns", campaign_form(number_a, csv, **fields))
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]
    assert not Campaign.objects.exists() and not Contact.objects.exists()


def test_campaigns_need_calls_write_and_stay_in_their_workspace(client, ws_a, ws_b, number_a, number_b, caller):
    reader = ApiClient.issue(client, ws_a, "read")
    assert reader.upload("/api/campaigns", campaign_form(number_a)).status_code == 403
    # Another workspace's agent or number cannot be used, and its campaigns are 404.
    theirs = caller.upload("/api/campaigns", campaign_form(number_b))
    assert theirs.status_code == 400 and {"agent", "number"} <= set(theirs.json()["fields"])
    other = ApiClient.issue(client, ws_b, "read", "calls:write")
    created = other.upload("/api/campaigns", campaign_form(number_b)).json()
    for path in (f"/api/campaigns/{created['id']}", f"/api/campaigns/{created['id']}/contacts"):
        assert caller.get(path).status_code == 404
    assert caller.post(f"/api/campaigns/{created['id']}/cancel").status_code == 404
    assert Campaign.objects.get(pk=created["id"]).status == "draft"


def test_documents_are_uploaded_listed_and_deleted(editor, agent_a):
    text = b"# Opening hours\nWe are open Monday to Saturday, nine to five.\n"
    response = editor.upload(f"/api/agents/{agent_a.pk}/documents",
                             {"file": SimpleUploadedFile("hours.md", text), "title": "Hours"})
    assert response.status_code == 201, response.content
    document = response.json()
    assert document["title"] == "Hours" and document["kind"] == "markdown" and document["chunks"] >= 1
    assert "Monday to Saturday" in document["text"]
    listed = editor.get("/api/documents", {"agent": agent_a.pk}).json()
    assert [d["id"] for d in listed["results"]] == [document["id"]] and "text" not in listed["results"][0]
    assert editor.delete(f"/api/documents/{document['id']}").status_code == 204
    assert not Document.objects.exists() and not Chunk.objects.exists()


def test_a_bad_document_is_a_400_and_another_workspace_is_404(client, editor, ws_a, agent_a, agent_b):
    empty = editor.upload(f"/api/agents/{agent_a.pk}/documents", {"file": SimpleUploadedFile("e.txt", b"   ")})
    assert empty.status_code == 400 and "file" in empty.json()["fields"]
    missing = editor.upload(f"/api/agents/{agent_a.pk}/documents", {"title": "no file"})
    assert missing.status_code == 400 and "file" in missing.json()["fields"]
    theirs = editor.upload(f"/api/agents/{agent_b.pk}/documents", {"file": SimpleUploadedFile("a.txt", b"hello")})
    assert theirs.status_code == 404
    reader = ApiClient.issue(client, ws_a, "read")
    assert reader.upload(f"/api/agents/{agent_a.pk}/documents",
                         {"file": SimpleUploadedFile("a.txt", b"hello")}).status_code == 403
    assert not Document.objects.exists()


def test_webhook_deliveries_are_listed_filtered_and_isolated(client, ws_a, ws_b, call_a):
    def delivery(workspace, status, **fields):
        return WebhookDelivery.objects.create(workspace=workspace, event="call.completed", event_id="e",
                                              url="https://hooks.example/x", attempt=1, status=status,
                                              task_id="celery-task", **fields)

    failed = delivery(ws_a, "failed", call=call_a, status_code=500, error="HTTP 500: boom")
    delivery(ws_a, "delivered", status_code=200)
    theirs = delivery(ws_b, "failed")
    reader = ApiClient.issue(client, ws_a, "read")
    listed = reader.get("/api/webhook-deliveries", {"status": "failed"}).json()
    assert [d["id"] for d in listed["results"]] == [failed.pk]
    assert listed["results"][0]["call"] == call_a.pk and listed["results"][0]["error"] == "HTTP 500: boom"
    assert "task_id" not in listed["results"][0]
    assert reader.get("/api/webhook-deliveries").json()["count"] == 2
    assert reader.get(f"/api/webhook-deliveries/{failed.pk}").json()["status_code"] == 500
    assert reader.get(f"/api/webhook-deliveries/{theirs.pk}").status_code == 404

"""The webhook event catalogue: every event is documented with its schema (docs/webhooks.md), and each one is sent
— signed, matching its schema — when it happens: call.started and call.ended on a real call through the media
consumer, transfer.started / transfer.failed when the session records them, campaign.finished when the last
contact of a campaign settles."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from automation import campaigns
from automation.events import CATALOGUE
from automation.models import Campaign, Contact
from calls import stream_tokens
from calls.models import Agent, Call, CallEvent, Workspace
from calls.signing import verify
from tests.scale.test_resume_session import open_stream, talk
from tests.test_media_consumer import fakes  # noqa: F401 (a fixture)

from .schema_check import problems

pytestmark = pytest.mark.django_db(transaction=True)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
FLOW = {"start": "hi", "nodes": {"hi": {"type": "ask", "text": "How can I help?", "routes": []}}}


@pytest.fixture
def agent(receiver):
    ws = Workspace.objects.create(name="W", slug="w")
    return Agent.objects.create(workspace=ws, name="A", greeting="Hello.", flow=FLOW, stt_provider="scripted",
                                tts_provider="tone", silence_timeout_s=30,
                                post_call_webhook_url=receiver.url + "/hook", post_call_webhook_secret="k")


def sent(receiver, event: str) -> list[dict]:
    bodies = []
    for request in receiver.at("/hook"):
        body = json.loads(request.body)
        if body["event"] == event:
            assert verify("k", request.body, request.headers["X-Voicebot-Signature"])
            assert request.headers["X-Voicebot-Event-Id"] == body["event_id"]
            assert problems(CATALOGUE[event].schema, body) == [], body
            bodies.append(body)
    return bodies


def test_every_event_is_documented_with_its_schema():
    text = DOCS.read_text()
    for event in CATALOGUE.values():
        assert f"### `{event.name}`" in text and json.dumps(event.schema, indent=2) in text
    assert set(CATALOGUE) == {"call.started", "call.ended", "call.analyzed", "transfer.started", "transfer.failed",
                              "campaign.finished"}


def test_a_call_sends_call_started_then_call_ended(agent, receiver, fakes):  # noqa: F811
    token, nonce = stream_tokens.issue("CA1")
    call = Call.objects.create(workspace=agent.workspace, agent=agent, carrier="twilio", carrier_call_id="CA1",
                               stream_nonce=nonce, from_number="+15550111111", variables={"customer_name": "Ada"})
    fakes.script = ["Hello there"]

    async def go():
        comm, carrier = await open_stream(token)
        await talk(carrier, say=False)
        await talk(carrier)
        await comm.send_to(text_data=json.dumps({"event": "stop", "stop": {"callSid": "CA1"}}))
        await comm.wait(timeout=3)

    asyncio.run(go())
    [started] = sent(receiver, "call.started")
    assert started["call"]["id"] == call.pk and started["call"]["variables"] == {"customer_name": "Ada"}
    [ended] = sent(receiver, "call.ended")
    assert ended["call"]["carrier_call_id"] == "CA1" and ended["call"]["turns"] and "cost" in ended["call"]
    order = [json.loads(r.body)["event"] for r in receiver.at("/hook")]
    assert order.index("call.started") < order.index("call.ended")


@pytest.mark.parametrize("kind, detail, event", [
    ("transfer", {"target": "+15550100", "summary": "Wants sales", "via": "carrier"}, "transfer.started"),
    ("action_failed", {"action": "transfer", "error": "carrier refused", "target": "+15550100"}, "transfer.failed"),
])  # fmt: skip
def test_transfers_are_announced_when_the_session_records_them(agent, receiver, kind, detail, event):
    call = Call.objects.create(workspace=agent.workspace, agent=agent, carrier="twilio", carrier_call_id="CA2",
                               status="in-progress")
    CallEvent.objects.create(call=call, workspace=agent.workspace, kind=kind, detail=detail)  # as the recorder does
    CallEvent.objects.create(call=call, workspace=agent.workspace, kind="barge_in", detail={})  # not an event
    [body] = sent(receiver, event)
    assert body["transfer"]["target"] == "+15550100" and body["call"]["id"] == call.pk
    if event == "transfer.failed":
        assert body["transfer"]["error"] == "carrier refused"
    assert len(receiver.at("/hook")) == 1


def test_campaign_finished_goes_out_when_the_last_contact_settles(agent, receiver):
    campaign = Campaign.objects.create(workspace=agent.workspace, agent=agent, name="Spring",
                                       from_number="+15550100000", carrier="twilio", status=Campaign.Status.RUNNING)
    Contact.objects.create(campaign=campaign, number="+15550000001", status=Contact.Status.DONE)
    Contact.objects.create(campaign=campaign, number="+15550000002", status=Contact.Status.FAILED)
    assert campaigns.dial_due(campaign.pk) == 0
    [body] = sent(receiver, "campaign.finished")
    assert body["campaign"]["name"] == "Spring" and body["campaign"]["contacts"]["done"] == 1
    assert body["campaign"]["contacts"]["failed"] == 1
    campaigns.dial_due(campaign.pk)  # already completed: nothing more is sent
    assert len(sent(receiver, "campaign.finished")) == 1

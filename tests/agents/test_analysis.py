"""Post-call analysis: the model fills the agent's fields through structured output (the real openai SDK against
the OpenAI fake), wrong values become null and are named, the flow's slots fill them without an LLM (or when it
fails), the analysis runs once, its tokens join the call's cost, and `call.analyzed` goes out signed and matching
its schema. The call page shows the analysis; the calls list filters and exports it."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from automation import analysis, events
from automation.models import WebhookDelivery
from calls.agent_templates import BY_KEY
from calls.models import Agent, Call, CallEvent, Turn, Workspace
from calls.signing import verify
from voicebot.testing.vendors.openai import ScriptedReply

from .schema_check import problems

pytestmark = pytest.mark.django_db(transaction=True)

ANSWER = {"fields": {"interested": True, "timeline": "next decade", "budget": 5000, "follow_up_date": "2026-12-10"},
          "summary": "Ada wants a demo next week.", "success": True}


def finished_call(llm_provider: str = "openai", webhook: str = "", brain_variables: dict | None = None) -> Call:
    ws = Workspace.objects.create(name="W", slug="w")
    agent = Agent.objects.create(workspace=ws, **{**BY_KEY["lead_qualification"].fields, "llm_provider": llm_provider,
                                                  "post_call_webhook_url": webhook, "post_call_webhook_secret": "k"})
    now = timezone.now()
    call = Call.objects.create(workspace=ws, agent=agent, carrier="twilio", carrier_call_id="CA1", status="completed",
                               answered_at=now, ended_at=now, summary="Extractive summary.",
                               brain_state={"node": "done", "variables": brain_variables or {}})
    for i, (role, text) in enumerate([("agent", "Hi Ada, do you have two minutes?"),
                                      ("caller", "Yes, we want a demo next Thursday, budget five thousand.")]):
        Turn.objects.create(call=call, index=i, role=role, text=text, started_at=now, ended_at=now)
    return call


def test_the_model_fills_the_fields_and_a_wrong_value_becomes_null(cloud):
    cloud.cloud.openai.replies.append(ScriptedReply(text=json.dumps(ANSWER)))
    call = finished_call()
    assert analysis.run(call.pk) == "llm"
    call.refresh_from_db()
    result = call.analysis
    assert result["fields"] == {"interested": True, "timeline": None, "budget": 5000, "follow_up_date": "2026-12-10"}
    assert result["invalid"] == ["timeline"]  # "next decade" is none of the choices
    assert (result["summary"], result["success"], result["source"]) == ("Ada wants a demo next week.", True, "llm")
    request = cloud.cloud.openai.requests[-1]
    schema = request["response_format"]["json_schema"]
    assert request["response_format"]["type"] == "json_schema" and schema["strict"] is True
    fields = schema["schema"]["properties"]["fields"]
    assert fields["required"] == ["interested", "timeline", "budget", "follow_up_date"]
    assert fields["properties"]["timeline"]["enum"] == ["now", "this quarter", "this year", "no plans", None]
    assert "Success means: The prospect agreed to a follow-up call" in request["messages"][0]["content"]
    assert "caller: Yes, we want a demo next Thursday" in request["messages"][1]["content"]
    # Its tokens are part of the call's cost now.
    assert call.usage["analysis_llm"]["prompt_tokens"] > 0
    assert any(line["kind"] == "analysis_llm_prompt" for line in call.cost["lines"])
    assert analysis.run(call.pk) == "done already" and len(cloud.cloud.openai.requests) == 1


def test_without_an_llm_the_fields_come_from_the_flows_slots():
    call = finished_call(llm_provider="flow", brain_variables={"interested": "yes", "budget": "1200",
                                                              "follow_up_date": "not a date", "other": "x"})
    assert analysis.run(call.pk) == "slots"
    call.refresh_from_db()
    assert call.analysis["fields"] == {"interested": True, "timeline": None, "budget": 1200, "follow_up_date": None}
    assert call.analysis["invalid"] == ["follow_up_date"]
    assert (call.analysis["summary"], call.analysis["success"]) == ("Extractive summary.", None)


def test_a_failing_model_falls_back_to_the_slots_and_says_why(cloud):
    cloud.cloud.openai.replies.append(ScriptedReply(status=500))
    call = finished_call(brain_variables={"interested": True})
    assert analysis.run(call.pk) == "slots"
    call.refresh_from_db()
    assert call.analysis["fields"]["interested"] is True and "500" in call.analysis["error"]
    assert CallEvent.objects.get(call=call, kind="analysis").detail["fallback"] == "slots"


def test_junk_from_the_model_falls_back_too(cloud):
    cloud.cloud.openai.replies.append(ScriptedReply(text="Sure! Here is the analysis: interested."))
    call = finished_call()
    assert analysis.run(call.pk) == "slots"
    assert "JSONDecodeError" in Call.objects.get(pk=call.pk).analysis["error"]


def test_call_analyzed_is_sent_signed_and_matches_its_schema(cloud, receiver):
    cloud.cloud.openai.replies.append(ScriptedReply(text=json.dumps(ANSWER)))
    call = finished_call(webhook=receiver.url + "/hook")
    analysis.run(call.pk)  # eager Celery: the webhook task runs on commit
    [sent] = [r for r in receiver.at("/hook") if json.loads(r.body)["event"] == "call.analyzed"]
    assert verify("k", sent.body, sent.headers["X-Voicebot-Signature"])
    body = json.loads(sent.body)
    assert problems(events.CATALOGUE["call.analyzed"].schema, body) == []
    assert body["analysis"]["fields"]["budget"] == 5000 and body["event_id"] == f"call.analyzed:{call.pk}"
    assert WebhookDelivery.objects.get(event="call.analyzed").status == "delivered"


def test_no_analysis_is_made_for_an_agent_that_asked_for_none():
    call = finished_call()
    Agent.objects.filter(pk=call.agent_id).update(analysis_schema=[], success_criterion="", summary_prompt="")
    assert analysis.run(call.pk) == "not wanted"

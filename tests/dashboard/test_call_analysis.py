"""A finished call's variables, analysis and cost on the call page; the calls list filtered by an analysis field
or by success, and exported as CSV with one column per analysis field; cost per day in analytics. The analysis and
cost come from the post-call work itself (no LLM: the flow's slots), not from rows written by the test."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from automation import analysis
from automation.post_call import run as post_call
from calls.models import Agent, Call

from .conftest import make_call

pytestmark = pytest.mark.django_db

SCHEMA = [{"name": "interested", "type": "boolean", "description": "Wants a demo?"},
          {"name": "budget", "type": "number", "description": "Budget in dollars."},
          {"name": "note", "type": "text", "description": "Anything else."}]


@pytest.fixture
def analysed(ws_a, settings):
    settings.OPENAI_API_KEY = ""  # no LLM: the fields come from the flow's slots
    agent = Agent.objects.create(workspace=ws_a, name="Leads", greeting="Hi!", analysis_schema=SCHEMA,
                                 success_criterion="The caller wants a demo.", stt_provider="deepgram",
                                 tts_provider="elevenlabs")
    calls = []
    for i, (interested, budget, note) in enumerate([(True, "5000", "=HYPERLINK(\"x\")"), (False, "0", "no")]):
        call = make_call(ws_a, agent, f"CA{i}", turns=[("agent", "Hello, this is Leads.", None, None)],
                         duration_s=61, variables={"customer_name": f"Ada {i}"},
                         brain_state={"node": "end", "variables": {"interested": interested, "budget": budget,
                                                                  "note": note,
                                                                  "usage": {"model": "gpt-4o-mini",
                                                                            "prompt_tokens": 1000,
                                                                            "completion_tokens": 100}}})
        post_call(call.pk)
        analysis.run(call.pk)
        calls.append(Call.objects.get(pk=call.pk))
    return calls


def test_the_call_page_shows_variables_analysis_and_cost(client_a, analysed):
    call = analysed[0]
    html = client_a.get(reverse("dashboard:call-detail", args=[call.pk])).content.decode()
    assert "Ada 0" in html and "customer_name" in html
    assert "from the flow's slots" in html and "<dt>interested</dt><dd>yes" in html and "5000" in html
    # 61 s: 2 carrier minutes, 61 s of Deepgram, 21 characters of ElevenLabs, 1000 + 100 gpt-4o-mini tokens.
    kinds = {line["kind"]: line for line in call.cost["lines"]}
    assert kinds["carrier"]["quantity"] == 2 and kinds["stt"]["provider"] == "deepgram"
    assert kinds["tts"]["quantity"] == 21 and kinds["llm_prompt"]["amount"] == pytest.approx(0.00015)
    expected = 2 * 0.014 + 61 / 60 * 0.0077 + 0.021 * 0.18 + 0.00015 + 0.00006
    assert call.cost["total"] == pytest.approx(expected, abs=1e-6)
    assert f"{call.cost['total']:.4f} USD" in html


def test_the_calls_list_filters_by_an_analysis_field_and_by_success(client_a, analysed):
    url = reverse("dashboard:calls")
    html = client_a.get(url, {"field": "interested", "value": "true"}).content.decode()
    assert "1 call match" in html
    assert f'href="{reverse("dashboard:call-detail", args=[analysed[0].pk])}"' in html
    assert f'href="{reverse("dashboard:call-detail", args=[analysed[1].pk])}"' not in html
    assert "1 call match" in client_a.get(url, {"field": "budget", "value": "5000"}).content.decode()
    assert "0 calls match" in client_a.get(url, {"field": "interested", "value": "maybe"}).content.decode()
    # Without an LLM nobody judged success: neither filter value matches.
    assert "0 calls match" in client_a.get(url, {"success": "yes"}).content.decode()
    assert "A field name" in client_a.get(url, {"field": "x'; drop"}).content.decode()


def test_the_csv_export_has_the_filtered_calls_with_their_analysis_columns(client_a, analysed):
    response = client_a.get(reverse("dashboard:calls-export"), {"field": "interested", "value": "true"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["call_id"] for r in rows] == [str(analysed[0].pk)]
    row = rows[0]
    assert (row["interested"], row["budget"], row["success"]) == ("true", "5000", "")
    assert row["note"] == "'=HYPERLINK(\"x\")"  # a caller's words never run as a spreadsheet formula
    assert float(row["cost_total"]) == pytest.approx(analysed[0].cost["total"])


def test_analytics_shows_the_cost_per_day(client_a, analysed):
    html = client_a.get(reverse("dashboard:analytics")).content.decode()
    total = sum(c.cost["total"] for c in analysed)
    assert 'data-testid="cost-per-day"' in html and f"{total:.4f} USD" in html

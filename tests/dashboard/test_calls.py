"""Calls list filters and transcript search; call page timeline, interruptions and waterfall data."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from calls.models import Call
from dashboard.transcript import split_heard

from .conftest import make_agent, make_call

pytestmark = pytest.mark.django_db


def listed(client, **params) -> set[str]:
    response = client.get(reverse("dashboard:calls"), params)
    assert response.status_code == 200
    return {c.carrier_call_id for c in response.context["page"].object_list}


@pytest.fixture
def several(ws_a, agent_a):
    other = make_agent(ws_a, "Sales")
    return {
        "short": make_call(
            ws_a, agent_a, "C-short", duration_s=5, turns=[("caller", "where is my parcel", None, None)]
        ),
        "long": make_call(
            ws_a,
            agent_a,
            "C-long",
            duration_s=300,
            minutes_ago=60 * 24 * 3,
            turns=[("caller", "I want to cancel my subscription", None, None)],
        ),
        "sales": make_call(
            ws_a, other, "C-sales", duration_s=60, direction=Call.Direction.OUTBOUND, to_number="+15550177777"
        ),
        "failed": make_call(ws_a, agent_a, "C-failed", status=Call.Status.FAILED),
        "agent": agent_a,
        "other": other,
    }


def test_filters(client_a, several):
    assert listed(client_a) == {"C-short", "C-long", "C-sales", "C-failed"}
    assert listed(client_a, agent=several["other"].pk) == {"C-sales"}
    assert listed(client_a, status="failed") == {"C-failed"}
    assert listed(client_a, direction="outbound") == {"C-sales"}
    assert listed(client_a, min_duration="30") == {"C-long", "C-sales"}
    assert listed(client_a, min_duration="30", max_duration="100") == {"C-sales"}
    today = timezone.localdate()
    assert listed(client_a, since=str(today - timedelta(days=1))) == {"C-short", "C-sales", "C-failed"}
    assert listed(client_a, until=str(today - timedelta(days=2))) == {"C-long"}


def test_number_filter_matches_either_end(client_a, several, number_a):
    assert listed(client_a, number="+15550100000") == {"C-short", "C-long", "C-failed"}


def test_transcript_search(client_a, several):
    assert listed(client_a, q="CANCEL my") == {"C-long"}
    assert listed(client_a, q="parcel", status="completed") == {"C-short"}
    assert listed(client_a, q="nothing like this") == set()


def test_invalid_filters_are_reported_not_fatal(client_a, several):
    response = client_a.get(
        reverse("dashboard:calls"), {"min_duration": "-3", "since": "2026-05-10", "until": "2026-05-01"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "The end date is before the start date." in html


def test_pagination_keeps_filters(client_a, ws_a, agent_a):
    for i in range(30):
        make_call(ws_a, agent_a, f"C-{i:02d}", minutes_ago=i)
    response = client_a.get(reverse("dashboard:calls"), {"status": "completed"})
    page = response.context["page"]
    assert len(page.object_list) == 25 and page.paginator.num_pages == 2
    assert "?status=completed&amp;page=2" in response.content.decode()
    second = client_a.get(reverse("dashboard:calls"), {"status": "completed", "page": 2}).context["page"]
    assert len(second.object_list) == 5


def test_detail_timeline(client_a, call_a):
    response = client_a.get(reverse("dashboard:call-detail", args=[call_a.pk]))
    html = response.content.decode()
    # Interrupted turn: the heard part plain, the rest struck through.
    assert '<span class="heard">Sure. Which day works for you?</span><span class="unheard"' in html
    assert "We are open Monday to Saturday.</span>" in html
    assert "✂ interrupted" in html
    assert "key <strong>5</strong>" in html  # DTMF event
    assert 'class="event-row alert provider_failure"' in html
    kinds = [item.kind for item in response.context["timeline"]]
    assert kinds == ["turn", "turn", "event", "turn", "event", "turn", "turn"]


def test_detail_waterfall_data(client_a, call_a):
    response = client_a.get(reverse("dashboard:call-detail", args=[call_a.pk]))
    html = response.content.decode()
    start = html.index('<script id="waterfall-data" type="application/json">') + len(
        '<script id="waterfall-data" type="application/json">'
    )
    chart = json.loads(html[start : html.index("</script>", start)])
    assert [d["label"] for d in chart["datasets"]] == ["Endpointing", "STT", "Brain", "TTS", "Transport"]
    assert chart["labels"][0] == ["Turn 2", "Sure. Which day works f…"]
    first_turn = [d["data"][0] for d in chart["datasets"]]
    assert first_turn == [120, 80, 60, 120, 70] and sum(first_turn) == 450  # stacks add up to end to end
    assert "chart.umd.min.js" in html


@pytest.mark.parametrize(
    "text, heard, expected",
    [
        ("One. Two. Three.", "One. Two.", ("One. Two.", " Three.")),
        ("One. Two.", "", ("", "One. Two.")),
        ("One  two three", "One two", ("One two", " three")),
        ("Hello there", "Goodbye", ("", "Hello there")),
    ],
)
def test_split_heard(text, heard, expected):
    assert split_heard(text, heard) == expected

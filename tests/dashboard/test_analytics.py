"""Percentiles, waterfall segments, the analytics page and its CSV export."""

from __future__ import annotations

import csv
import io
import random
from datetime import date

import pytest
from django.urls import reverse

from dashboard.analytics import Period, percentile, waterfall_segments

from .conftest import SAMPLE_TURNS, make_call, metrics


def test_percentile_matches_linear_interpolation():
    values = [15, 20, 35, 40, 50]
    assert percentile(values, 0) == 15 and percentile(values, 100) == 50
    assert percentile(values, 50) == 35
    assert percentile(values, 40) == 29.0  # rank 1.6 -> 20 + 0.6 * 15
    assert percentile(values, 95) == pytest.approx(48.0)
    assert percentile([7], 95) == 7
    assert percentile([], 50) is None and percentile([None, None], 50) is None
    assert percentile([3, None, 1, 2], 50) == 2  # None ignored, order irrelevant
    with pytest.raises(ValueError):
        percentile([1], 101)


def test_percentile_agrees_with_numpy():
    np = pytest.importorskip("numpy")
    rng = random.Random(5)
    for _ in range(50):
        values = [rng.uniform(0, 2000) for _ in range(rng.randint(1, 40))]
        for p in (50, 90, 95, 99):
            assert percentile(values, p) == pytest.approx(float(np.percentile(values, p)))


def test_waterfall_segments_stack_to_end_to_end():
    m = {
        "endpoint_ms": 100,
        "stt_final_ms": 180,
        "brain_first_text_ms": 250,
        "tts_first_audio_ms": 400,
        "first_frame_sent_ms": 430,
    }
    assert waterfall_segments(m) == [("Endpointing", 100), ("STT", 80), ("Brain", 70), ("TTS", 150), ("Transport", 30)]
    # A streaming STT can finalise before the endpoint decision: no negative bar, the total still holds.
    m["stt_final_ms"] = 60
    segments = waterfall_segments(m)
    assert dict(segments)["STT"] == 0 and sum(ms for _, ms in segments) == 430
    # Missing milestones add nothing.
    assert sum(ms for _, ms in waterfall_segments({"first_frame_sent_ms": 300})) == 300


def test_period_buckets():
    assert Period(date(2026, 1, 1), date(2026, 1, 1)).hourly
    day = Period(date(2026, 1, 1), date(2026, 1, 7))
    assert not day.hourly and len(day.buckets()) == 7
    assert len(Period(date(2026, 1, 1), date(2026, 1, 1)).buckets()) == 24


@pytest.mark.django_db
def test_page_and_numbers(client_a, ws_a, agent_a, agent_b, ws_b):
    for i, e2e in enumerate([400, 500, 600, 700, 2000]):
        make_call(
            ws_a,
            agent_a,
            f"C{i}",
            minutes_ago=i + 5,
            turns=[
                ("agent", "Hello", {"node": "ask_help"}, None),
                ("caller", "hi", None, None),
                ("agent", "Bye", {"node": "goodbye", "interrupted": i == 0, "heard_text": ""}, metrics(e2e)),
            ],
        )
    make_call(ws_b, agent_b, "B1", turns=[("agent", "x", {"node": "secret"}, metrics(99999))])
    response = client_a.get(reverse("dashboard:analytics"))
    assert response.status_code == 200
    latency, calls = response.context["latency"], response.context["calls"]
    assert latency["overall"]["end_to_end_ms"] == {"p50": 600, "p95": 1740.0, "n": 5}  # workspace B not counted
    assert calls["calls"] == 5 and calls["avg_duration_s"] == 42
    assert calls["interruption_rate"] == 0.1  # 1 of 10 agent turns
    assert calls["hangup_nodes"] == [("goodbye", 5)]
    assert 'id="analytics-data"' in response.content.decode()
    # Filtered to an agent with no calls.
    other = type(agent_a).objects.create(workspace=ws_a, name="Quiet", flow=agent_a.flow)
    empty = client_a.get(reverse("dashboard:analytics"), {"agent": other.pk}).context
    assert empty["calls"]["calls"] == 0 and empty["latency"]["overall"]["end_to_end_ms"]["p50"] is None
    # Another workspace's agent is not a valid choice.
    assert client_a.get(reverse("dashboard:analytics"), {"agent": agent_b.pk}).context["form"].errors


@pytest.mark.django_db
def test_csv_export(client_a, ws_a, agent_a, call_a, call_b):
    response = client_a.get(reverse("dashboard:analytics-export"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == len(SAMPLE_TURNS)
    assert {r["carrier_call_id"] for r in rows} == {"CA-alpha"}
    interrupted = [r for r in rows if r["interrupted"] == "1"]
    assert len(interrupted) == 1 and interrupted[0]["end_to_end_ms"] == "450.0"


@pytest.mark.django_db
def test_period_is_bounded(client_a, ws_a):
    from dashboard.models import ApiToken

    too_long = {"since": "2020-01-01", "until": "2026-01-01"}
    assert "since" in client_a.get(reverse("dashboard:analytics"), too_long).context["form"].errors
    key = ApiToken.issue(ws_a, "t")[1]
    assert client_a.get("/api/metrics", too_long, HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 400

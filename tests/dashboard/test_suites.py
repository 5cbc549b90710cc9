"""The agent's test-suite pages: scenarios edited as YAML (a malformed one is refused with its line and field), a
run started from the page, its results; and test calls kept out of analytics unless asked for."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from suites.models import Scenario, ScenarioResult, SuiteRun

from .conftest import SAMPLE_TURNS, make_call, metrics

GOOD = "name: hours\nlines:\n  - say: What are your hours?\nexpect:\n  - reply_contains: Monday\n"


@pytest.fixture
def scenario_a(agent_a):
    return Scenario.objects.create(agent=agent_a, name="hours", source=GOOD)


def test_the_suite_page_lists_the_agents_scenarios_and_needs_login(client, client_a, agent_a, agent_b, scenario_a):
    url = reverse("dashboard:agent-suite", args=[agent_a.pk])
    assert Client().get(url).status_code == 302  # to the login page
    page = client_a.get(url)
    assert page.status_code == 200
    assert 'data-scenario="hours"' in page.content.decode()
    assert "bind one" in page.content.decode()  # no number yet: it cannot be called
    assert client_a.get(reverse("dashboard:agent-suite", args=[agent_b.pk])).status_code == 404


def test_a_malformed_scenario_is_not_saved_and_the_error_names_line_and_field(client_a, agent_a, scenario_a):
    url = reverse("dashboard:agent-scenario", args=[agent_a.pk, scenario_a.pk])
    bad = GOOD.replace("  - say: What are your hours?\n", "  - say: What are your hours?\n  - dtmf: 12\n")
    page = client_a.post(url, {"source": bad})
    assert page.status_code == 400
    html = page.content.decode()
    assert "Not saved: line 4, field <code>lines[1].dtmf</code>: one key of 0-9, * or #, got &#x27;12&#x27;" in html
    assert bad.replace("'", "&#x27;") in html  # what was typed is kept for fixing
    scenario_a.refresh_from_db()
    assert scenario_a.source == GOOD


def test_a_scenario_is_saved_under_the_name_its_yaml_gives(client_a, agent_a, scenario_a):
    page = client_a.post(reverse("dashboard:agent-scenario-new", args=[agent_a.pk]),
                         {"source": GOOD.replace("name: hours", "name: opening times")})
    assert page.status_code == 302
    assert sorted(Scenario.objects.filter(agent=agent_a).values_list("name", flat=True)) == ["hours", "opening times"]
    again = client_a.post(reverse("dashboard:agent-scenario-new", args=[agent_a.pk]), {"source": GOOD})
    assert again.status_code == 400 and "already has a scenario named" in again.content.decode()


def test_running_from_the_page_stores_a_run_for_the_agents_version_and_starts_it(
        client_a, agent_a, scenario_a, monkeypatch):
    started = []
    monkeypatch.setattr("dashboard.views.suites.run_in_background", started.append)
    page = client_a.post(reverse("dashboard:agent-suite", args=[agent_a.pk]),
                         {"scenario": [scenario_a.pk], "concurrency": "9"})
    run = SuiteRun.objects.get()
    assert page.status_code == 302 and page["Location"] == reverse("dashboard:agent-suite-run",
                                                                  args=[agent_a.pk, run.pk])
    assert started == [run.pk]
    assert (run.agent, run.flow_version, run.agent_saved_at, run.trigger, run.concurrency) == (
        agent_a, agent_a.flow_version, agent_a.updated_at, "dashboard", 4)
    assert list(run.results.values_list("name", "status", "source")) == [("hours", "pending", GOOD)]
    running = client_a.get(page["Location"]).content.decode()
    nothing = client_a.post(reverse("dashboard:agent-suite", args=[agent_a.pk]), {"scenario": ["x", "-1"]}, follow=True)
    assert "Pick at least one scenario to run." in nothing.content.decode() and SuiteRun.objects.count() == 1
    assert "data-running" in running and 'data-status="pending"' in running


def test_the_run_page_shows_the_failing_expectation_the_transcript_and_the_call(client_a, ws_a, agent_a):
    call = make_call(ws_a, agent_a, "CA1", turns=SAMPLE_TURNS, is_test=True)
    earlier = SuiteRun.objects.create(agent=agent_a, flow_version=2, agent_saved_at=agent_a.updated_at, status="passed")
    ScenarioResult.objects.create(run=earlier, name="hours", source=GOOD, status="passed")
    run = SuiteRun.objects.create(agent=agent_a, flow_version=3, agent_saved_at=agent_a.updated_at, status="failed")
    ScenarioResult.objects.create(run=run, name="hours", source=GOOD, status="failed", call=call,
                                  failures=["reply_contains: no reply contains 'Monday'"],
                                  transcript=[{"role": "caller", "text": "What are your hours?", "heard": None}])
    html = client_a.get(reverse("dashboard:agent-suite-run", args=[agent_a.pk, run.pk])).content.decode()
    assert "reply_contains: no reply contains &#x27;Monday&#x27;" in html
    assert "What are your hours?" in html
    assert reverse("dashboard:call-detail", args=[call.pk]) in html
    assert "flow v3" in html and "data-running" not in html
    detail = client_a.get(reverse("dashboard:call-detail", args=[call.pk])).content.decode()
    assert 'data-testid="test-call">test call' in detail
    assert 'data-testid="new-failure">New failure: it passed on flow v2' in html
    history = client_a.get(reverse("dashboard:agent-suite", args=[agent_a.pk])).content.decode()
    assert "flow v3" in history and "✗ hours" in history


def test_test_calls_stay_out_of_analytics_unless_included(client_a, ws_a, agent_a):
    turns = [("caller", "hi", None, None), ("agent", "hello", None, metrics(500))]
    make_call(ws_a, agent_a, "CA-real", turns=turns)
    make_call(ws_a, agent_a, "CA-test", turns=[("caller", "hi", None, None), ("agent", "hello", None, metrics(9000))],
              is_test=True)
    plain = client_a.get(reverse("dashboard:analytics")).context
    assert plain["calls"]["calls"] == 1 and plain["latency"]["overall"]["end_to_end_ms"]["n"] == 1
    both = client_a.get(reverse("dashboard:analytics"), {"include_tests": "on"}).context
    assert both["calls"]["calls"] == 2 and both["latency"]["overall"]["end_to_end_ms"]["n"] == 2


def test_a_cloned_agent_takes_its_scenarios_along(client_a, agent_a, scenario_a):
    client_a.post(reverse("dashboard:agent-clone", args=[agent_a.pk]))
    clone = type(agent_a).objects.exclude(pk=agent_a.pk).get(workspace=agent_a.workspace)
    assert list(Scenario.objects.filter(agent=clone).values_list("name", "source")) == [("hours", GOOD)]
    assert Scenario.objects.filter(agent=agent_a).count() == 1


def test_a_run_left_running_by_a_stopped_server_is_closed_as_failed_not_shown_busy_forever(client_a, agent_a):
    now = timezone.now()
    fresh = SuiteRun.objects.create(agent=agent_a, flow_version=1, agent_saved_at=now, started_at=now)
    stale = SuiteRun.objects.create(agent=agent_a, flow_version=1, agent_saved_at=now,
                                    started_at=now - timedelta(hours=2))
    for run in (fresh, stale):
        ScenarioResult.objects.create(run=run, name="hours", source=GOOD, status="running")
    html = client_a.get(reverse("dashboard:agent-suite-run", args=[agent_a.pk, stale.pk])).content.decode()
    assert "data-running" not in html and "the run was interrupted" in html
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert (stale.status, fresh.status) == ("failed", "running")
    assert stale.results.get().status == "error" and fresh.results.get().status == "running"

"""The JUnit XML a CI system reads: one testcase per scenario, failures and errors told apart, the transcript."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from django.utils import timezone

from calls.models import Agent, Workspace
from suites.junit import junit_report
from suites.models import ScenarioResult, SuiteRun


def test_a_run_as_junit_xml(db):
    agent = Agent.objects.create(workspace=Workspace.objects.create(name="W", slug="w"), name="Desk")
    run = SuiteRun.objects.create(agent=agent, flow_version=4, agent_saved_at=timezone.now(), status="failed")
    made = [ScenarioResult.objects.create(run=run, name=name, source="", status=status, failures=failures,
                                          duration_s=duration, transcript=transcript)
            for name, status, failures, duration, transcript in [
                ("hours", "passed", [], 20.5, [{"role": "agent", "text": "We open at 8."}]),
                ("human", "failed", ["transferred_to: the call was not transferred", "end_reason: x"], 12.0, []),
                ("silent", "timed out", ["timed out after 9 s; so far:\nagent: Hello"], 9.0, []),
                ("keypad", "error", ["the agent has no twilio number to call"], None, []),
            ]]
    suite = ET.fromstring(junit_report(run, made))
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("time")) == ("4", "2", "1", "41.5")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert cases["hours"].find("failure") is None and cases["hours"].find("system-out").text == "agent: We open at 8."
    assert cases["human"].get("classname") == f"agent{agent.pk}.flow_v4"
    failure = cases["human"].find("failure")
    assert failure.get("message") == "transferred_to: the call was not transferred"
    assert failure.text == "transferred_to: the call was not transferred\nend_reason: x"
    assert cases["silent"].find("failure").get("message") == "timed out after 9 s; so far:"
    assert cases["keypad"].find("error").get("type") == "error"

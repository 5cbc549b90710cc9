"""The runner against the demo agent on a real server: daphne on loopback, the demo seeded (its six scenarios
come with it), `manage.py test_agent` calling it as Twilio would, a neural caller voice and the local Whisper."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET

import pytest

from voicebot.testing.server import ROOT
from voicebot.testing.vendors.openai import FakeOpenAI, ScriptedReply

pytestmark = pytest.mark.e2e

AGENT = "Bright Smile Dental"


def run_suite(server, *args: str, timeout: float = 600):
    # Scenario names and files first: argparse takes positionals before the options.
    return server.manage("test_agent", AGENT, *args, "--base-url", server.base_url, timeout=timeout)


def shell(server, code: str):
    done = server.manage("shell", "-v", "0", "-c", code)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_demo_agents_suite_passes_as_real_test_calls(server, tmp_path):
    report = tmp_path / "junit.xml"
    done = run_suite(server, "--concurrency", "3", "--junit-xml", str(report))
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr[-2000:]}\n{server.log.read_text()[-2000:]}"
    assert "6/6 passed" in done.stdout, done.stdout
    suite = ET.parse(report).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("6", "0", "0")
    assert {c.get("name") for c in suite.iter("testcase")} == {
        "booking by voice", "booking by keypad", "opening hours", "talk to a human", "caller goes silent",
        "caller interrupts"}
    stored = shell(server, "import json; from suites.models import ScenarioResult as R; "
                   "print(json.dumps([[r.status, r.call.is_test, r.call.agent.name, r.run.flow_version, "
                   "len(r.transcript)] for r in R.objects.select_related('call', 'run')]))")
    assert len(stored) == 6
    assert all(status == "passed" and is_test and agent == AGENT and version == 1 and turns > 0
               for status, is_test, agent, version, turns in stored), stored


def test_a_broken_flow_fails_the_scenario_it_breaks_with_the_right_message(server):
    assert run_suite(server, "talk to a human").returncode == 0
    # Someone edits the flow: the front desk's number gets a typo. Saving bumps the flow version.
    version = shell(server, "import json; from calls.models import Agent; a = Agent.objects.get(name=%r); "
                    "a.flow['nodes']['human']['target'] = '+15550100009'; a.save(); print(json.dumps(a.flow_version))"
                    % AGENT)
    done = run_suite(server, "talk to a human", "opening hours")
    assert done.returncode == 1, done.stdout
    assert "1/2 passed" in done.stdout, done.stdout
    assert "   FAILED  talk to a human" in done.stdout
    assert "transferred_to: transferred to +15550100009" in done.stdout
    assert "     PASS  opening hours" in done.stdout
    history = shell(server, "import json; from suites.models import SuiteRun; print(json.dumps([[r.flow_version, "
                    "r.status, sorted(x.name for x in r.results.exclude(status='passed'))] "
                    "for r in SuiteRun.objects.order_by('pk')]))")
    # The history says which version broke which scenario.
    assert history[-2:] == [[version - 1, "passed", []], [version, "failed", ["talk to a human"]]]


def test_a_hanging_scenario_is_stopped_at_its_time_limit_and_says_what_happened(server, tmp_path):
    scenario = tmp_path / "hangs.yaml"
    scenario.write_text("name: waits forever\ntime_limit_s: 12\nlines:\n  - pause_s: 300\n"
                        "expect:\n  - end_reason: completed\n")
    done = run_suite(server, str(scenario), timeout=120)
    assert done.returncode == 1, done.stdout
    assert "TIMED OUT  waits forever" in done.stdout
    assert "timed out after 12 s; so far:" in done.stdout
    assert "agent: Hello, and thank you for calling Bright Smile Dental." in done.stdout
    status = shell(server, "import json; from calls.models import Call; c = Call.objects.order_by('-pk')[0]; "
                   "print(json.dumps([c.status, c.is_test]))")
    assert status == ["completed", True]  # hung up, not left open


def test_a_scenario_calls_over_the_carrier_it_names(server, tmp_path):
    scenario = tmp_path / "telnyx.yaml"
    scenario.write_text("name: a person, over telnyx\ncarrier: telnyx\ntime_limit_s: 60\n"
                        "lines:\n  - dtmf: '0'\nexpect:\n  - end_reason: transferred\n")
    done = run_suite(server, str(scenario), timeout=120)
    assert done.returncode == 0, done.stdout
    carrier = shell(server, "import json; from suites.models import ScenarioResult as R; "
                    "r = R.objects.select_related('call').order_by('-pk')[0]; "
                    "print(json.dumps([r.name, r.call.carrier, r.call.is_test]))")
    assert carrier == ["a person, over telnyx", "telnyx", True]


def test_a_malformed_scenario_runs_nothing_and_names_line_and_field(server, tmp_path):
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text("name: fine\nlines:\n  - say: hello\nexpect:\n  - reply_contains: Hello\n")
    bad.write_text("name: broken\nlines:\n  - say: hello\n  - dtmf: 12\nexpect:\n  - reply_contains: Hello\n")
    before = shell(server, "import json; from calls.models import Call; from suites.models import SuiteRun; "
                   "print(json.dumps([Call.objects.count(), SuiteRun.objects.count()]))")
    done = run_suite(server, str(good), str(bad), timeout=60)
    assert done.returncode == 2
    assert f"malformed scenario, nothing was run: {bad}, line 4, field 'lines[1].dtmf': one key of 0-9" in done.stderr
    after = shell(server, "import json; from calls.models import Call; from suites.models import SuiteRun; "
                  "print(json.dumps([Call.objects.count(), SuiteRun.objects.count()]))")
    assert after == before


@pytest.fixture
def llm():
    """The OpenAI fake on its own loop in a thread: the runner (a subprocess) calls it while the test waits."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    fake = FakeOpenAI()
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(10)
    yield fake
    asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def test_a_persona_caller_talks_to_the_agent_from_what_it_hears(server, llm, tmp_path):
    llm.replies.extend([ScriptedReply(text="Hi, what are your opening hours?"), ScriptedReply(text="[hang up]")])
    scenario = tmp_path / "persona.yaml"
    scenario.write_text("name: persona asks the hours\ntime_limit_s: 90\n"
                        "persona: {goal: You want to know when the practice is open., max_turns: 3}\n"
                        "expect:\n  - reply_contains: Monday to Friday\n")
    done = subprocess.run(
        [sys.executable, "manage.py", "test_agent", AGENT, str(scenario), "--base-url", server.base_url],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
        env={**server.env, "OPENAI_API_KEY": llm.api_key, "OPENAI_BASE_URL": llm.base_url})
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr[-2000:]}"
    assert "1/1 passed" in done.stdout
    first, second = llm.requests
    assert "You want to know when the practice is open." in first["messages"][0]["content"]
    assert first["messages"][-1]["role"] == "user" and "How can I help you today?" in first["messages"][-1]["content"]
    # The second line was asked for with what the agent answered, as the transcript stored it.
    heard = [m["content"] for m in second["messages"] if m["role"] == "user"]
    assert any("Monday to Friday" in text for text in heard), second["messages"]


"""The shared test harnesses themselves (voicebot/testing/, bench/cloud/levels.py): caller speech, the Telnyx REST
fake's answers, a server's start-up wait, and what a benchmark ramp's figures say."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from bench.cloud.levels import capacity_of, collapsed, run_levels
from voicebot.testing.carrier.caller import Step
from voicebot.testing.pcm import peak
from voicebot.testing.server import wait_started
from voicebot.testing.speech import caller_speech
from voicebot.testing.vendors.telnyx_rest import FakeTelnyx

TEXT = "What are your opening hours?"


def test_caller_speech_is_pcm16_at_the_rate_asked():
    narrow, wide = caller_speech(TEXT, 8000), caller_speech(TEXT, 16000)
    assert len(narrow) % 2 == 0 and peak(narrow) > 1000
    # The same speech, twice the samples (espeak itself varies by a few ms between runs).
    assert abs(len(wide) / len(narrow) - 2) < 0.05


def test_trimmed_caller_speech_starts_and_ends_loud():
    trimmed = caller_speech(TEXT, 8000, trim=True)
    edge = 8000 * 2 * 40 // 1000  # 40 ms: the 30 ms of silence kept at each end, and a little voice
    assert peak(trimmed[:edge]) > 64 and peak(trimmed[-edge:]) > 64


def test_a_spoken_step_carries_its_text_and_speech():
    step = Step.spoken("Tomorrow please", 8000, barge_after_ms=700)
    assert (step.text, step.barge_after_ms, step.digit) == ("Tomorrow please", 700, "")
    assert peak(step.pcm) > 1000


def test_fake_telnyx_answers_a_dial_and_records_commands():
    with FakeTelnyx(call_control_id="v3:abc") as fake:
        dial = httpx.post(fake.base_url + "/calls", json={"to": "+1555"}).json()
        assert dial["data"]["call_control_id"] == "v3:abc"
        assert httpx.post(fake.base_url + "/calls/v3%3Aabc/actions/hangup", json={}).json() == {"data": {"result": "ok"}}
    assert fake.bodies() == [("/v2/calls", {"to": "+1555"}), ("/v2/calls/v3:abc/actions/hangup", {})]
    assert fake.commands() == [("v3:abc", "hangup", {})]
    assert fake.actions() == [("hangup", {})]


def test_fake_telnyx_refuses_everything_with_a_status():
    with FakeTelnyx(status=422) as fake:
        resp = httpx.post(fake.base_url + "/calls/v3:x/actions/speak", json={"payload": "hi"})
    assert resp.status_code == 422 and resp.json()["errors"][0]["code"] == "90018"


def test_wait_started_returns_once_ready_and_reports_a_process_that_died(tmp_path):
    log = tmp_path / "server.log"
    log.write_text("line 1\nboom: port in use\n")
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        wait_started(lambda: True, [alive], log, "server", timeout_s=5)
    finally:
        alive.kill()
        alive.wait()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with pytest.raises(RuntimeError, match="server did not start:\nline 1\nboom: port in use"):
        wait_started(lambda: False, [dead], log, "server", timeout_s=5, every_s=0.01)


def _level(calls: int, p99: float | None, why: str = "", lost: int = 0, n: int = 30) -> dict:
    return {"calls": calls, "overhead": {"p99": p99, "n": n}, "lost_turns": lost, "why_failed": why}


def test_capacity_is_the_last_level_that_held_before_the_first_that_failed():
    levels = [_level(50, 40), _level(100, 90), _level(150, 400, "overhead p99 400 ms > 300"), _level(200, 80)]
    cap = capacity_of(levels)
    assert cap["max_calls"] == 100 and cap["at_max"] is levels[1]
    assert cap["next_failed"] == "150 calls: overhead p99 400 ms > 300"


def test_a_collapsed_level_ends_the_ramp_and_the_rest_count_as_not_run():
    assert collapsed(_level(300, 6000.0)) and collapsed(_level(300, None)) and collapsed(_level(300, 200, lost=11))
    assert not collapsed(_level(300, 200, lost=10))
    levels = [_level(50, 40), {"calls": [100, 150], "not_run": "collapsed at 50 calls"}]
    assert run_levels(levels) == levels[:1] and capacity_of(levels)["max_calls"] == 50

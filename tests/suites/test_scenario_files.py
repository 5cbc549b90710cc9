"""Scenario files: what parses, and for what does not, an error that names the line and the field."""

from __future__ import annotations

import pytest

from suites.expectations import EndReason, ReplyContains, Slots
from suites.library import DEMO_DIR, files_in
from suites.scenario import parse_many, parse_scenario
from suites.yaml_lines import ScenarioError

GOOD = """\
name: booking
carrier: telnyx
time_limit_s: 45
caller: {voice: kokoro-jm_kumo, wpm: 150, noise: babble, snr_db: 15}
lines:
  - say: I would like to book
  - dtmf: "1"
  - barge_in: Actually, tomorrow
    after_ms: 500
    voice: {voice: espeak}
  - pause_s: 3
  - say: Thanks
    pause_s: 1.5
expect:
  - reply_contains: What day
  - slots: {day: tomorrow, name: ~}
  - end_reason: completed
"""


def error_of(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "s.yaml")
    return caught.value


def test_it_reads_caller_lines_voices_and_expectations():
    s = parse_scenario(GOOD)
    assert (s.name, s.carrier, s.time_limit_s) == ("booking", "telnyx", 45.0)
    assert s.caller.voice == "kokoro-jm_kumo" and s.caller.snr_db == 15.0 and s.caller.noise == "babble"
    say, key, barge, quiet, late = s.lines
    assert say.say == "I would like to book" and say.voice == s.caller and say.line == 6
    assert key.dtmf == "1" and not key.say
    assert barge.barge_in_after_ms == 500 and barge.voice.voice == "espeak" and barge.voice.wpm == 150
    assert quiet.pause_s == 3 and not quiet.say and not quiet.dtmf
    assert late.pause_s == 1.5 and late.say == "Thanks"
    assert s.expectations == (ReplyContains("What day"), Slots((("day", "tomorrow"), ("name", None))),
                              EndReason("completed"))


@pytest.mark.parametrize(("text", "line", "field", "words"), [
    (GOOD.replace("  - dtmf: \"1\"", "  - dtmf: \"12\""), 7, "lines[1].dtmf", "one key"),
    (GOOD.replace("reply_contains: What day", "reply_contain: What day"), 15, "expect[0].reply_contain",
     "unknown expectation"),
    (GOOD.replace("time_limit_s: 45", "time_limit_s: soon"), 3, "time_limit_s", "expected a number"),
    (GOOD.replace("carrier: telnyx", "carrier: vonage"), 2, "carrier", "unknown carrier"),
    (GOOD.replace("noise: babble", "noise: traffic"), 4, "caller.noise", "unknown noise"),
    (GOOD.replace("    after_ms: 500\n", "    after_ms: 500\n    volume: 3\n"), 10, "lines[2].volume",
     "unknown field"),
    (GOOD.replace("  - pause_s: 3\n", "  - {}\n"), 11, "lines[3]", "needs say, barge_in, dtmf or pause_s"),
    (GOOD.replace("  - say: Thanks\n", "  - say: Thanks\n    dtmf: '2'\n"), 13, "lines[4].dtmf", "either says"),
    (GOOD.replace("  - end_reason: completed\n", "  - end_reason: completed\n    slots: {}\n"), 17,
     "expect[2]", "one `kind: value` entry"),
    (GOOD.replace("expect:\n", "expect:\n  - max_dead_air_s: -1\n"), 15, "expect[0].max_dead_air_s",
     "at least 0.1"),
    (GOOD.replace("  - slots: {day: tomorrow, name: ~}", "  - events_at_least: {reprompt: two}"), 16,
     "expect[1].events_at_least.reprompt", "whole number"),
    (GOOD.replace("name: booking\n", ""), 1, "", "'name' is required"),
    (GOOD.replace("lines:\n", "lines: []\nx:\n"), 5, "lines", "at least one entry"),
    (GOOD.replace("  - say: I would like to book\n", "  - barge_in: Hi\n"), 6, "lines[0].barge_in",
     "first line cannot barge in"),
])
def test_a_malformed_scenario_names_its_line_and_field(text, line, field, words):
    error = error_of(text)
    assert (error.line, error.field) == (line, field), str(error)
    assert words in error.problem
    assert str(error).startswith(f"s.yaml, line {line}")


def test_bad_yaml_and_repeated_keys_name_their_line():
    assert error_of("name: a\nlines: [\n  - say: x\n").line is not None
    error = error_of("name: a\nname: b\nlines:\n  - say: x\nexpect:\n  - end_reason: x\n")
    assert (error.line, error.field) == (2, "name") and "twice" in error.problem
    assert "expected a mapping" in error_of("- just\n- a list\n").problem


def test_two_scenarios_with_one_name_are_refused_before_anything_runs():
    with pytest.raises(ScenarioError, match="also used by a.yaml"):
        parse_many([("a.yaml", GOOD), ("b.yaml", GOOD)])


def test_the_demo_scenarios_parse_and_cover_what_the_issue_asks_for():
    names = {s.name for s in parse_many(files_in(DEMO_DIR))}
    assert names == {"booking by voice", "booking by keypad", "opening hours", "talk to a human",
                     "caller goes silent", "caller interrupts"}

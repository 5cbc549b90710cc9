"""Each expectation on hand-made snapshots of calls: met, and not met with the message a person needs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from suites.scenario import parse_scenario
from suites.snapshot import CallSnapshot, SnapshotTurn
from voicebot.testing.vendors.openai import ScriptedReply

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


BOOKED = CallSnapshot(
    status="completed", end_reason="transferred", answered_at=T0,
    turns=(
        SnapshotTurn("agent", "Hello, thanks for calling.", started_at=at(0.8)),
        SnapshotTurn("caller", "I want to book for Friday"),
        SnapshotTurn("agent", "So that's Friday at 3 pm, right?", end_to_end_ms=900.0, started_at=at(4)),
        SnapshotTurn("caller", "Yes"),
        SnapshotTurn("agent", "Connecting you to our front desk now.", end_to_end_ms=1100.0, interrupted=True,
                     heard_text="Connecting you"),
    ),
    brain_state={"variables": {"day": "Friday", "time_value": "15:00", "name": "Peter Brown"},
                 "messages": [{"role": "assistant", "tool_calls": [
                     {"id": "c1", "type": "function",
                      "function": {"name": "book_slot", "arguments": '{"day": "friday", "time": "15:00"}'}}]}]},
    events=(("dtmf", {"digit": "1"}), ("transfer", {"target": "+15550100001", "summary": "intent: human"}),
            ("tool_call", {"name": "lookup_patient", "arguments": {"phone": "+15550199999"}}),
            ("reprompt", {"count": 1}), ("reprompt", {"count": 2})),
    analysis={"fields": {"booked": True, "day": "Friday"}, "summary": "The caller booked Friday at 3 pm.",
              "success": True},
)


def failures(expect_yaml: str, snap: CallSnapshot = BOOKED) -> list[str]:
    scenario = parse_scenario(f"name: t\nlines:\n  - say: hi\nexpect:\n{expect_yaml}")
    return [f for f in (e.check(snap) for e in scenario.expectations) if f]


def test_expectations_that_hold_on_the_call_pass():
    assert failures("""\
  - reply_contains: friday at 3 PM
  - reply_not_contains: Goodbye
  - slots: {day: friday, time_value: "15:00", name: ~}
  - tool_called: {name: book_slot, args: {day: Friday}}
  - tool_called: {name: lookup_patient, args: {phone: "+15550199999"}}
  - tool_called: book_slot
  - transferred_to: "+15550100001"
  - end_reason: transferred
  - events_at_least: {reprompt: 2, dtmf: 1}
  - analysis: {booked: true, day: ~, success: true, summary_contains: friday}
  - max_dead_air_s: 1.2
  - latency_p95_under_ms: 1200
""") == []


@pytest.mark.parametrize(("expect", "message"), [
    ("reply_contains: Goodbye", "reply_contains: no reply contains 'Goodbye'; replies: 'Hello, thanks for calling.'"),
    ("reply_not_contains: front desk", "reply_not_contains: the agent said 'front desk': 'Connecting you to our"),
    ("slots: {time_value: '16:00', email: ~}",
     "slots: time_value is '15:00', expected '16:00'; email was not collected"),
    ("tool_called: {name: book_slot, args: {day: monday}}",
     "tool_called: book_slot was called with [{'day': 'friday', 'time': '15:00'}], expected {'day': 'monday'}"),
    ("tool_called: cancel", "tool_called: cancel was not called (tools called: ['lookup_patient', 'book_slot'])"),
    ("transferred_to: '+15550100999'", "transferred_to: transferred to +15550100001"),
    ("end_reason: completed", "end_reason: the call ended with 'transferred'"),
    ("events_at_least: {barge_in: 1}", "events_at_least: 0 barge_in event(s), expected at least 1"),
    ("analysis: {booked: false, email: ~}", "analysis: booked is True, expected False; email is missing"),
    ("max_dead_air_s: 1.0", "max_dead_air_s: 1.1 s of dead air after the caller said 'Yes', more than 1 s"),
    ("latency_p95_under_ms: 1000", "latency_p95_under_ms: p95 1100 ms over 2 replies, not under 1000 ms"),
])
def test_an_expectation_not_met_says_what_happened_instead(expect, message):
    (failure,) = failures(f"  - {expect}\n")
    assert failure.startswith(message), failure


def test_a_call_without_analysis_or_replies_fails_those_expectations_plainly():
    silent = CallSnapshot(status="completed", end_reason="no_input")
    assert failures("  - analysis: {success: true}\n  - max_dead_air_s: 3\n  - latency_p95_under_ms: 900\n"
                    "  - transferred_to: '+1555'\n", silent) == [
        "analysis: the call has no post-call analysis (is analysis configured for this agent?)",
        "max_dead_air_s: the agent never spoke",
        "latency_p95_under_ms: no reply was measured",
        "transferred_to: the call was not transferred",
    ]


def test_a_slow_greeting_is_dead_air_too():
    late = CallSnapshot(answered_at=T0, turns=(SnapshotTurn("agent", "Hello", started_at=at(6.5)),))
    assert failures("  - max_dead_air_s: 5\n", late) == [
        "max_dead_air_s: 6.5 s of dead air after the answer (greeting), more than 5 s"]


def test_the_judge_without_an_llm_fails_and_says_why(settings):
    settings.OPENAI_API_KEY = ""
    assert failures("  - judge: The agent is polite\n") == [
        "judge: no LLM is configured (set OPENAI_API_KEY) to judge the rubric"]


@pytest.mark.asyncio
async def test_the_judge_asks_the_llm_with_the_rubric_and_transcript_and_follows_its_verdict(openai_fake):
    openai_fake.replies.extend([
        ScriptedReply(text='{"pass": true, "reason": "It confirmed the booking."}'),
        ScriptedReply(text='Verdict: {"pass": false, "reason": "It never said goodbye."}'),
        ScriptedReply(text="I think it went fine."),
    ])
    expect = "  - judge: {rubric: The agent confirms the booking and says goodbye, model: judge-model}\n"
    assert await asyncio.to_thread(failures, expect) == []
    request = openai_fake.requests[0]
    assert request["model"] == "judge-model"
    assert "Rubric: The agent confirms the booking and says goodbye" in request["messages"][1]["content"]
    assert "agent: So that's Friday at 3 pm, right?" in request["messages"][1]["content"]
    assert await asyncio.to_thread(failures, expect) == [
        "judge: 'The agent confirms the booking and says goodbye' not met: It never said goodbye."]
    (failure,) = await asyncio.to_thread(failures, expect)
    assert failure.startswith("judge: the LLM judge could not answer: not a JSON verdict")

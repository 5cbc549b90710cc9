"""`collect` nodes: slots by voice and keypad, validation with node-specific messages, confirmation, limits."""

from __future__ import annotations

from calls.flows.engine import FlowEngine
from calls.providers.base import EndCall

from .conftest import context, said


def flow(time: dict | None = None, **booking) -> dict:
    definition = {
        "start": "day",
        "timezone": "America/New_York",
        "global_routes": [{"intent": "goodbye", "keywords": ["goodbye"], "next": "bye"},
                          {"intent": "human", "keywords": ["person"], "dtmf": "0", "next": "bye"}],
        "nodes": {
            "day": {"type": "collect", "slot": "day", "kind": "date", "text": "Which day?",
                    "invalid": "Sorry, which day? For example, Monday.",
                    "out_of_range": "We book a month ahead at most.",
                    "max_days_ahead": 31, "next": "time", **booking},
            "time": {"type": "collect", "slot": "time", "kind": "time", "text": "What time?",
                     "min": "08:00", "max": "17:30", "confirm": "So that's {day} at {time}, right?",
                     "out_of_range": "We're open 8 to 6. What time?", "next": "code"},
            "code": {"type": "collect", "slot": "code", "kind": "digits", "text": "Your patient code?",
                     "max_digits": 4, "next": "name"},
            "name": {"type": "collect", "slot": "name", "kind": "name", "text": "Your name?", "next": "done"},
            "done": {"type": "say", "text": "Booked: {name}, {day} at {time}, code {code}.", "next": "bye"},
            "bye": {"type": "end", "text": "Goodbye!"},
        },
    }  # fmt: skip
    definition["nodes"]["time"].update(time or {})
    return definition


def engine(time: dict | None = None, **booking) -> FlowEngine:
    # Never mutate `e.flow`: compiled flows are cached by content and shared.
    e = FlowEngine(flow(time, **booking), context=context())
    assert said(e.start()) == "Which day?"
    return e


def test_voice_booking_with_confirmation():
    e = engine()
    assert said(e.on_text("Tuesday the 10th, please")) == "What time?"
    assert e.variables["day"] == "Tuesday the 10th" and e.variables["day_value"] == "2026-03-10"
    assert said(e.on_text("half past two")) == "So that's Tuesday the 10th at 2:30 pm, right?"
    assert e.state.node == "time" and e.variables["time_value"] == "14:30"
    assert said(e.on_text("Yes, that's right.")) == "Your patient code?"
    assert said(e.on_text("one two three four")) == "Your name?"
    actions = e.on_text("My name is Peter Brown.")
    assert said(actions) == "Booked: Peter Brown, Tuesday the 10th at 2:30 pm, code 1 2 3 4. Goodbye!"
    assert isinstance(actions[-1], EndCall)
    assert e.variables["code_value"] == "1234" and e.variables["name_value"] == "Peter Brown"


def test_invalid_and_out_of_range_use_the_node_messages():
    e = engine()
    assert said(e.on_text("the blue one")) == "Sorry, which day? For example, Monday."
    assert said(e.on_text("May 20th")) == "We book a month ahead at most."
    assert e.state.node == "day" and "day" not in e.variables
    e.on_text("tomorrow")
    assert said(e.on_text("at 7 in the evening")) == "We're open 8 to 6. What time?"


def test_default_invalid_message_repeats_the_question():
    definition = flow()
    del definition["nodes"]["day"]["invalid"]
    e = FlowEngine(definition, context=context())
    e.start()
    assert said(e.on_text("the blue one")) == "Sorry, I didn't catch that. Which day?"


def test_confirmation_no_and_a_new_value():
    e = engine()
    e.on_text("tomorrow")
    e.on_text("3 pm")
    # "No, 4 pm": the new value replaces the old one and is confirmed again.
    assert said(e.on_text("No, 4 pm")) == "So that's tomorrow at 4 pm, right?"
    # A plain no asks again (no on_deny set).
    assert said(e.on_text("no")) == "What time?"
    assert "time" not in e.variables and e.state.node == "time"
    # Neither yes nor no: the confirmation again.
    e.on_text("noon")
    assert said(e.on_text("hmm")) == "Sorry, I didn't catch that. So that's tomorrow at noon, right?"
    # Keypad 1 = yes.
    assert said(e.on_dtmf("1")) == "Your patient code?"


def test_on_deny_and_max_attempts():
    e = engine(max_attempts=2, on_fail="bye")
    assert said(e.on_text("purple")) == "Sorry, which day? For example, Monday."
    actions = e.on_text("green")
    assert said(actions) == "Goodbye!" and isinstance(actions[-1], EndCall)
    e = engine(time={"on_deny": "day"})
    e.on_text("tomorrow")
    e.on_text("3 pm")
    assert said(e.on_dtmf("2")) == "Which day?"


def test_keypad_digits_until_pound_or_length():
    e = engine()
    assert e.on_dtmf("1") == [] and e.on_dtmf("0") == []  # collecting quietly: "0" is a digit here, not a route
    assert said(e.on_dtmf("#")) == "What time?"
    assert e.variables["day_value"] == "2026-03-10"  # "10#": the 10th
    for key in "143":
        assert e.on_dtmf(key) == []
    assert said(e.on_dtmf("0")) == "So that's Tuesday the 10th at 2:30 pm, right?"  # 4 digits: HHMM, no # needed
    e.on_dtmf("1")
    e.on_dtmf("9")
    e.on_dtmf("*")  # start over
    for key in "123":
        assert e.on_dtmf(key) == []
    assert said(e.on_dtmf("4")) == "Your name?"  # max_digits 4
    assert e.variables["code_value"] == "1234"


def test_keypad_choices_and_global_routes():
    e = engine(dtmf_choices={"1": "tomorrow", "2": "Friday"})
    assert said(e.on_dtmf("2")) == "What time?" and e.variables["day"] == "Friday"
    e = engine(dtmf_choices={"1": "tomorrow"})
    assert said(e.on_dtmf("0")) == "Goodbye!"  # not a choice: the global route on 0
    e = engine(dtmf_choices={"1": "tomorrow"})
    assert said(e.on_dtmf("5")) == "Sorry, which day? For example, Monday."


def test_global_routes_before_greedy_slots_after_strict_ones():
    e = engine()
    assert said(e.on_text("goodbye")) == "Goodbye!"  # not a date: the route
    e = engine()
    e.on_text("tomorrow")
    e.on_text("3 pm")
    e.on_text("yes")
    e.on_text("1234")
    assert said(e.on_text("goodbye")) == "Goodbye!"  # a name slot would take anything: routes first


def test_silence_reprompts_confirmation_and_question():
    e = engine(reprompt="Which day would you like? Or press 1 for tomorrow.")
    assert said(e.on_silence(1, 3)) == "Which day would you like? Or press 1 for tomorrow."
    e.on_text("tomorrow")
    e.on_text("3 pm")
    assert said(e.on_silence(1, 3)) == "So that's tomorrow at 3 pm, right?"


def test_when_conditions_branch_on_the_value():
    e = engine(when=[{"var": "day", "equals": "Friday", "next": "bye"}])
    assert said(e.on_text("friday")) == "Goodbye!"
    e = engine(when=[{"var": "day", "equals": "Friday", "next": "bye"}])
    assert said(e.on_text("thursday")) == "What time?"


def test_state_survives_a_new_engine():
    e = engine()
    e.on_text("tomorrow")
    e.on_text("3 pm")
    resumed = FlowEngine(flow(), e.state, context=context())
    assert said(resumed.on_text("yes")) == "Your patient code?"


def test_silence_can_move_the_flow_on():
    e = engine(on_silence="time")
    assert said(e.on_silence(1, 3)) == "What time?"
    assert isinstance(e.on_silence(3, 3)[-1], EndCall)  # the session's maximum still ends the call

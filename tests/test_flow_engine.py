"""The embedded flow brain: schema validation, engine behaviour, the demo flow and the async Brain adapter.

Plain pytest, no Django: run with `pytest -p no:django tests/test_flow_engine.py`.
"""

from __future__ import annotations

import asyncio
import copy
import json
import timeit

import pytest

from calls.flows.brain import FlowBrain
from calls.flows.demo import DEMO_FLOW, DEMO_GREETING
from calls.flows.engine import FlowEngine, compile_flow
from calls.flows.schema import FlowError, normalize, validate_flow
from calls.providers.base import BrainState, Dtmf, EndCall, Silence, TextDelta, Transfer, UserTurn


def make_flow() -> dict:
    return {
        "start": "welcome",
        "global_routes": [
            {"intent": "goodbye", "keywords": ["bye", "goodbye"], "next": "bye"},
            {"intent": "human", "keywords": ["human", "talk to a person", "operator"], "dtmf": "0", "next": "human"},
        ],
        "nodes": {
            "welcome": {"type": "say", "text": "Welcome to Acme.", "next": "disclosure"},
            "disclosure": {
                "type": "say", "text": "This call is recorded.", "uninterruptible": True, "next": "ask_help"
            },
            "ask_help": {
                "type": "ask",
                "text": "How can I help you today?",
                "reprompt": "Sorry, I didn't catch that. How can I help?",
                "routes": [
                    {"intent": "booking", "keywords": ["book", "appointment", "schedule"], "dtmf": "1",
                     "next": "booking"},
                    {"intent": "hours", "keywords": ["opening hours", "open"], "dtmf": "2", "next": "hours"},
                ],
            },  # fmt: skip
            "booking": {
                "type": "ask",
                "text": "Which day, {name}?",
                "routes": [{"keywords": ["Monday", "tomorrow"], "capture": "day", "next": "confirm"}],
                "fallback": "not_understood",
            },
            "not_understood": {"type": "say", "text": "Let's try that again.", "next": "booking"},
            "confirm": {"type": "say", "text": "Booked for {day}.", "next": "ask_help"},
            "hours": {"type": "say", "text": "We open at nine.", "next": "ask_help"},
            "human": {"type": "transfer", "text": "Connecting you now.", "target": "+15550100001"},
            "bye": {"type": "end", "text": "Goodbye!"},
        },
    }


def texts(actions) -> list[str]:
    return [a.text.strip() for a in actions if isinstance(a, TextDelta)]


def said(actions) -> str:
    return "".join(a.text for a in actions if isinstance(a, TextDelta)).strip()


def started(flow=None, state=None) -> tuple[FlowEngine, list]:
    engine = FlowEngine(flow or make_flow(), state)
    return engine, engine.start()


# ---------------------------------------------------------------- validation


def broken(mutate) -> str:
    flow = make_flow()
    mutate(flow)
    with pytest.raises(FlowError) as info:
        validate_flow(flow)
    return str(info.value)


def test_valid_flows_pass():
    validate_flow(make_flow())
    validate_flow(DEMO_FLOW)


def test_flow_error_is_a_value_error():
    assert issubclass(FlowError, ValueError)


def test_unknown_next_names_node_route_and_target():
    def mutate(f):
        f["nodes"]["ask_help"]["routes"][1]["next"] = "bookng"

    assert broken(mutate) == "node 'ask_help': route 2 'next' points to unknown node 'bookng'"


def test_say_next_to_unknown_node():
    msg = broken(lambda f: f["nodes"]["welcome"].update(next="nowhere"))
    assert "node 'welcome'" in msg and "'next'" in msg and "'nowhere'" in msg


def test_missing_text():
    msg = broken(lambda f: f["nodes"]["ask_help"].pop("text"))
    assert "node 'ask_help'" in msg and "'text' is missing" in msg


def test_unknown_type():
    msg = broken(lambda f: f["nodes"]["hours"].update(type="dance"))
    assert "node 'hours'" in msg and "'type'" in msg and "'dance'" in msg


def test_missing_type():
    msg = broken(lambda f: f["nodes"]["hours"].pop("type"))
    assert "node 'hours': 'type' is missing" in msg


def test_no_start_and_bad_start():
    assert "'start' is missing" in broken(lambda f: f.pop("start"))
    assert "'start' points to unknown node 'nope'" in broken(lambda f: f.update(start="nope"))
    assert "'nodes'" in broken(lambda f: f.update(nodes={}))


@pytest.mark.parametrize(
    "route, fragment",
    [
        ({"keywords": ["x"]}, "route 1 'next' is missing"),
        ({"next": "hours"}, "route 1 needs 'keywords' or 'dtmf'"),
        ({"keywords": [], "next": "hours"}, "route 1 'keywords' must be a non-empty list"),
        ({"keywords": "book", "next": "hours"}, "route 1 'keywords' must be a non-empty list"),
        ({"keywords": ["?!"], "next": "hours"}, "route 1 keyword 1 ('?!') has no words"),
        ({"dtmf": "12", "next": "hours"}, "route 1 'dtmf' must be one key"),
        ({"keywords": ["x"], "nxt": "hours", "next": "hours"}, "route 1 has unknown field 'nxt'"),
        ({"dtmf": "5", "capture": "day", "next": "hours"}, "route 1 'capture' needs 'keywords'"),
        ("book", "route 1 must be an object"),
    ],
)
def test_bad_routes(route, fragment):
    msg = broken(lambda f: f["nodes"]["ask_help"].update(routes=[route]))
    assert msg.startswith("node 'ask_help': ") and fragment in msg, msg


def test_duplicate_dtmf_in_one_route_list():
    msg = broken(lambda f: f["nodes"]["ask_help"]["routes"][1].update(dtmf="1"))
    assert "node 'ask_help': route 2 'dtmf' '1' is already used by route 1" in msg


def test_bad_global_route():
    msg = broken(lambda f: f["global_routes"][0].update(next="byee"))
    assert msg == "flow: global route 1 'next' points to unknown node 'byee'"


def test_unknown_fields_and_wrong_types():
    assert "node 'hours': unknown field 'nxt'" in broken(lambda f: f["nodes"]["hours"].update(nxt="bye"))
    assert "node 'hours': 'uninterruptible' must be true or false" in broken(
        lambda f: f["nodes"]["hours"].update(uninterruptible="yes")
    )
    assert "node 'human': 'target' must not be empty" in broken(lambda f: f["nodes"]["human"].update(target=" "))
    assert "flow: unknown field 'nodez'" in broken(lambda f: f.update(nodez={}))
    validate_flow({**make_flow(), "_editor": {"zoom": 2}})  # underscore keys are free for editors


def test_say_loop_rejected():
    def mutate(f):
        f["nodes"]["hours"]["next"] = "hours2"
        f["nodes"]["hours2"] = {"type": "say", "text": "again", "next": "hours"}

    msg = broken(mutate)
    assert "loop" in msg and "hours -> hours2 -> hours" in msg


def test_engine_rejects_invalid_flow():
    flow = make_flow()
    flow["nodes"]["hours"]["next"] = "missing"
    with pytest.raises(FlowError):
        FlowEngine(flow)


# ---------------------------------------------------------------- normaliser


def test_normalize():
    assert normalize("I'd like to book an Appointment.") == "i would like to book an appointment"
    assert normalize("I\u2019d like") == normalize("I would like")
    assert normalize("appointments") == normalize("appointment")
    assert normalize("What are your opening hours?") == normalize("what are your opening hour")
    assert normalize("scheduling") == normalize("schedule") == normalize("scheduled")
    assert normalize("don't") == "do not" and normalize("can't") == "can not"
    assert normalize("  ...  ") == ""


# ---------------------------------------------------------------- engine behaviour


def test_start_chains_say_nodes_into_ask():
    engine, actions = started()
    assert texts(actions) == ["Welcome to Acme.", "This call is recorded.", "How can I help you today?"]
    assert said(actions) == "Welcome to Acme. This call is recorded. How can I help you today?"
    assert engine.state.node == "ask_help"
    assert not engine.finished


def test_uninterruptible_flag():
    _, actions = started()
    assert [a.uninterruptible for a in actions] == [False, True, False]


@pytest.mark.parametrize(
    "utterance",
    [
        "I want to book.",
        "BOOK",
        "Can I make an appointment?",
        "I'd like two appointments, please",
        "I'm trying to schedule something",
        "booking!",
        "  book  ",
    ],
)
def test_keyword_routing_robust_to_asr(utterance):
    engine, _ = started()
    actions = engine.on_text(utterance)
    assert texts(actions) == ["Which day?"]  # {name} unset: left empty
    assert engine.state.node == "booking"
    assert engine.state.variables["intent"] == "booking"


@pytest.mark.parametrize("utterance", ["textbook", "bookstore", "rebooked", "the schedulers"])
def test_keywords_match_whole_words_only(utterance):
    engine, _ = started()
    actions = engine.on_text(utterance)
    assert engine.state.node == "ask_help"
    assert texts(actions) == ["Sorry, I didn't catch that. How can I help?"]


def test_multi_word_phrase():
    engine, _ = started()
    assert texts(engine.on_text("What are your Opening-Hours?"))[0] == "We open at nine."
    assert engine.state.node == "ask_help"  # say chains back into the ask
    engine.on_text("hours")  # "hours" alone is not the phrase "opening hours"
    assert engine.state.variables["intent"] == "hours"  # unchanged: no match
    assert engine.state.node == "ask_help"


def test_dtmf_routing():
    engine, _ = started()
    assert texts(engine.on_dtmf("2")) == ["We open at nine.", "How can I help you today?"]
    assert engine.state.variables["intent"] == "hours"
    assert said(engine.on_dtmf("1")).startswith("Which day")
    assert engine.state.node == "booking"


def test_global_routes_checked_first_everywhere():
    engine, _ = started()
    engine.on_text("book")
    # "appointment" would not match the booking node's own routes, but the global route works at any ask
    actions = engine.on_text("Can I talk to a person about my appointment?")
    assert texts(actions) == ["Connecting you now."]
    assert actions[-1] == Transfer(target="+15550100001", summary="intent: human")
    assert engine.state.variables["intent"] == "human"
    assert engine.finished
    assert engine.on_text("hello?") == []


def test_global_dtmf_route():
    engine, _ = started()
    actions = engine.on_dtmf("0")
    assert isinstance(actions[-1], Transfer) and actions[-1].target == "+15550100001"


def test_transfer_custom_summary():
    flow = make_flow()
    flow["nodes"]["human"]["summary"] = "Caller wanted: {intent}"
    engine, _ = started(flow)
    assert engine.on_text("operator")[-1].summary == "Caller wanted: human"


def test_end_node():
    engine, _ = started()
    actions = engine.on_text("Bye!")
    assert texts(actions) == ["Goodbye!"]
    assert actions[-1] == EndCall(reason="completed")
    assert engine.state.node == "bye"
    assert engine.finished
    assert engine.on_text("wait") == [] and engine.on_dtmf("1") == [] and engine.on_silence(0, 2) == []


def test_no_match_reprompts_and_stays():
    engine, _ = started()
    assert texts(engine.on_text("blah blah")) == ["Sorry, I didn't catch that. How can I help?"]
    assert engine.state.node == "ask_help"
    assert texts(engine.on_dtmf("9")) == ["Sorry, I didn't catch that. How can I help?"]
    assert texts(engine.on_text("")) == ["Sorry, I didn't catch that. How can I help?"]


def test_default_reprompt_without_node_reprompt():
    flow = make_flow()
    del flow["nodes"]["ask_help"]["reprompt"]
    engine, _ = started(flow)
    assert texts(engine.on_text("purple")) == ["Sorry, I didn't catch that. How can I help you today?"]
    flow["default_reprompt"] = "Pardon?"
    engine, _ = started(flow)
    assert texts(engine.on_text("purple")) == ["Pardon? How can I help you today?"]


def test_fallback_node():
    engine, _ = started()
    engine.on_text("book")
    actions = engine.on_text("sometime next week maybe")
    assert texts(actions) == ["Let's try that again.", "Which day?"]
    assert engine.state.node == "booking"


def test_capture_and_variable_substitution():
    engine, _ = started(state=BrainState(variables={"name": "Ana"}))
    assert texts(engine.on_text("book please")) == ["Which day, Ana?"]
    actions = engine.on_text("Mondays are best")
    assert texts(actions)[0] == "Booked for Monday."  # the keyword as written, not as heard
    assert engine.state.variables == {"name": "Ana", "intent": "confirm", "day": "Monday"}


def test_missing_variable_is_empty_not_a_crash():
    flow = make_flow()
    flow["nodes"]["hours"]["text"] = "Hi {who} , we open at {time}. {not a placeholder}"
    engine, _ = started(flow)
    assert texts(engine.on_text("open"))[0] == "Hi, we open at. {not a placeholder}"


def test_silence_reprompts_then_goodbye():
    engine, _ = started()
    assert texts(engine.on_silence(0, 2)) == ["Sorry, I didn't catch that. How can I help?"]
    assert texts(engine.on_silence(1, 2)) == ["Sorry, I didn't catch that. How can I help?"]
    actions = engine.on_silence(2, 2)
    assert texts(actions) == ["I'm sorry, I can't hear you. Please call us back any time. Goodbye!"]
    assert actions[-1] == EndCall(reason="no_input")
    assert engine.finished
    assert engine.on_text("hello") == []


def test_silence_without_reprompt_repeats_question():
    engine, _ = started()
    engine.on_text("book")
    assert texts(engine.on_silence(0, 1)) == ["Which day?"]
    assert isinstance(engine.on_silence(1, 1)[-1], EndCall)


def test_events_before_start_do_nothing():
    engine = FlowEngine(make_flow())
    assert engine.on_text("book") == [] and engine.on_silence(0, 2) == []


def test_state_restore_resumes_at_node():
    state = BrainState(node="booking", variables={"intent": "booking", "name": "Bo"})
    engine = FlowEngine(make_flow(), state)
    assert engine.state is state
    actions = engine.on_text("tomorrow works")
    assert texts(actions) == ["Booked for tomorrow.", "How can I help you today?"]
    assert state.node == "ask_help" and state.variables["day"] == "tomorrow"
    # the state is JSON-serialisable, and round-trips
    again = FlowEngine(make_flow(), BrainState(**json.loads(json.dumps({"node": state.node,
                                                                        "variables": state.variables}))))
    assert texts(again.on_dtmf("2"))[0] == "We open at nine."


def test_state_restore_with_vanished_node():
    engine = FlowEngine(make_flow(), BrainState(node="deleted_node"))
    assert engine.state.node is None
    assert engine.on_text("book") == []


def test_compiled_flow_cached_and_isolated_from_later_edits():
    flow = make_flow()
    assert compile_flow(flow) is compile_flow(copy.deepcopy(flow))
    engine = FlowEngine(flow)
    flow["nodes"]["hours"]["text"] = "Changed."
    engine.start()
    assert texts(engine.on_text("open"))[0] == "We open at nine."
    assert texts(FlowEngine(flow, BrainState(node="ask_help")).on_text("open"))[0] == "Changed."


def test_deterministic():
    script = ["book", "tomorrow", "open", "nonsense", "bye"]
    runs = []
    for _ in range(2):
        engine, first = started()
        runs.append([first] + [engine.on_text(t) for t in script])
    assert runs[0] == runs[1]


# ---------------------------------------------------------------- the demo flow


def test_demo_scripted_conversation():
    engine, opening = started(DEMO_FLOW)
    assert texts(opening) == ["This call may be recorded for quality purposes.", "How can I help you today?"]
    assert opening[0].uninterruptible and not opening[1].uninterruptible

    reply = said(engine.on_text("I would like to book an appointment"))
    assert "day" in reply.lower() and "book" in reply.lower()

    actions = engine.on_text("tomorrow")
    reply = said(actions)
    assert "pencilled you in for tomorrow" in reply
    assert engine.state.variables["day"] == "tomorrow"
    # The booking goes on: a time (confirmed with the day), then a name.
    assert said(engine.on_text("3 pm please")) == "So that's tomorrow at 3 pm, right?"
    assert "name" in said(engine.on_text("Yes, that's right."))
    reply = said(engine.on_text("My name is Peter Brown."))
    assert "Peter Brown" in reply
    assert reply.endswith("Is there anything else I can help you with?")

    reply = said(engine.on_text("What are your opening hours"))
    assert "We're open Monday to Friday, 8 am to 6 pm, and Saturday 9 to 1." in reply
    assert reply.endswith("Is there anything else I can help you with?")

    actions = engine.on_text("goodbye")
    assert "Goodbye" in said(actions)
    assert isinstance(actions[-1], EndCall)
    assert engine.finished


@pytest.mark.parametrize(
    "utterance, intent",
    [
        ("I'd like to book an appointment.", "booking"),
        ("I\u2019d like to book an appointment.", "booking"),
        ("Can I schedule a cleaning?", "booking"),
        ("What are your opening hours?", "hours"),
        ("When do you close on Saturdays?", "hours"),
        ("Can I talk to a human?", "human"),
        ("Operator.", "human"),
        ("Press 0.", "human"),
        ("Goodbye.", "goodbye"),
        ("No thanks, bye.", "goodbye"),
        ("That's all.", "goodbye"),
    ],
)
def test_demo_whisper_phrasings(utterance, intent):
    engine, _ = started(DEMO_FLOW)
    engine.on_text(utterance)
    assert engine.state.variables["intent"] == intent


@pytest.mark.parametrize("day", ["Monday", "Friday", "today", "tomorrow"])
def test_demo_booking_confirms_day(day):
    engine, _ = started(DEMO_FLOW)
    engine.on_text("book")
    reply = said(engine.on_text(f"{day.lower()} please."))
    assert f"pencilled you in for {day}." in reply


def test_demo_anything_else_branches():
    engine = FlowEngine(DEMO_FLOW, BrainState(node="anything_else"))
    assert said(engine.on_text("Yes please.")) == "Sure. What can I help you with?"
    engine = FlowEngine(DEMO_FLOW, BrainState(node="anything_else"))
    assert isinstance(engine.on_text("No, that's it.")[-1], EndCall)
    engine = FlowEngine(DEMO_FLOW, BrainState(node="anything_else"))
    assert "book" in said(engine.on_text("Actually, I need to book a checkup."))


def test_demo_dtmf_zero_transfers():
    engine, _ = started(DEMO_FLOW)
    actions = engine.on_dtmf("0")
    assert isinstance(actions[-1], Transfer) and actions[-1].target.startswith("+1555")


def test_demo_sentences_are_short():
    for node_id, node in DEMO_FLOW["nodes"].items():
        for field in ("text", "reprompt"):
            for sentence in node.get(field, "").replace("?", ".").replace("!", ".").split(". "):
                assert len(sentence.split()) <= 16, (node_id, sentence)


# ---------------------------------------------------------------- FlowBrain


async def collect(iterator) -> list:
    return [item async for item in iterator]


def test_flow_brain_greeting_and_turns():
    brain = FlowBrain(DEMO_FLOW, DEMO_GREETING)
    assert brain.name == "flow"
    greeting = asyncio.run(collect(brain.greeting()))
    assert texts(greeting) == [
        DEMO_GREETING,
        "This call may be recorded for quality purposes.",
        "How can I help you today?",
    ]
    assert [a.uninterruptible for a in greeting] == [False, True, False]
    assert brain.state is brain.engine.state and brain.state.node == "ask_help"

    reply = asyncio.run(collect(brain.respond(UserTurn("I'd like to book an appointment."))))
    assert "What day works best" in said(reply)
    reply = asyncio.run(collect(brain.respond(UserTurn("Tomorrow."))))
    assert "tomorrow" in said(reply)
    reply = asyncio.run(collect(brain.respond(Dtmf("0"))))
    assert isinstance(reply[-1], Transfer)


def test_flow_brain_empty_greeting_and_silence():
    brain = FlowBrain(DEMO_FLOW, "", max_reprompts=1)
    greeting = asyncio.run(collect(brain.greeting()))
    assert texts(greeting)[0] == "This call may be recorded for quality purposes."
    reply = asyncio.run(collect(brain.respond(Silence(0))))
    assert said(reply).startswith("Sorry, I didn't catch that.")
    reply = asyncio.run(collect(brain.respond(Silence(1))))
    assert isinstance(reply[-1], EndCall) and reply[-1].reason == "no_input"


def test_flow_brain_restored_state_and_cancellation():
    state = BrainState(node="booking")
    brain = FlowBrain(DEMO_FLOW, DEMO_GREETING, state)

    async def first_only():
        iterator = brain.respond(UserTurn("Monday"))
        first = await iterator.__anext__()
        await iterator.aclose()  # barge-in
        return first

    first = asyncio.run(first_only())
    assert "Monday" in first.text
    assert state.node == "ask_time" and state.variables["day"] == "Monday"
    brain.heard("x", "x", True)  # no-op, must not fail
    asyncio.run(brain.close())


# ---------------------------------------------------------------- speed (reported, not asserted)


def test_on_text_timing(capsys):
    engine = FlowEngine(DEMO_FLOW, BrainState(node="anything_else"))
    utterances = ["What are your opening hours?", "I'd like to book an appointment.", "mumble mumble something"]
    n = 2000
    results = {}
    for text in utterances:
        def run(text=text):
            engine.state.node = "anything_else"
            engine.on_text(text)

        results[text] = min(timeit.repeat(run, number=n, repeat=3)) / n * 1e6
    build = min(timeit.repeat(lambda: FlowEngine(DEMO_FLOW), number=200, repeat=3)) / 200 * 1e6
    with capsys.disabled():
        print()
        for text, us in results.items():
            print(f"  on_text({text!r}): {us:.1f} us")
        print(f"  FlowEngine(DEMO_FLOW) (cached compile): {build:.1f} us")

"""Validation of the new node types: every error names the node and the field; agent capabilities are checked
when given (an `llm` node needs an LLM or a fallback, `tool` nodes name the agent's tools)."""

from __future__ import annotations

import copy

import pytest

from calls.flows.demo import DEMO_FLOW
from calls.flows.schema import Capabilities, FlowError, outgoing, validate_flow


def base() -> dict:
    return {
        "start": "day",
        "nodes": {
            "day": {"type": "collect", "slot": "day", "kind": "date", "text": "Which day?", "next": "check"},
            "check": {"type": "tool", "tool": "availability", "args": {"date": "{day_value}"},
                      "on_success": "chat", "on_error": "sorry"},
            "chat": {"type": "llm", "prompt": "Help with {day}.", "routes": [
                {"intent": "done", "keywords": ["that's all"], "next": "faq"}], "fallback": "faq"},
            "faq": {"type": "answer", "next": "desk"},
            "desk": {"type": "transfer", "target": "sip:desk@pbx.example", "mode": "warm",
                     "headers": {"x-account": "{account}"}},
            "sorry": {"type": "handover", "agent": "Billing", "on_error": "bye"},
            "bye": {"type": "end"},
        },
    }  # fmt: skip


def error(mutate, capabilities: Capabilities | None = None) -> str:
    flow = base()
    mutate(flow)
    with pytest.raises(FlowError) as info:
        validate_flow(flow, capabilities)
    return str(info.value)


def test_valid_flows_pass():
    validate_flow(base())
    validate_flow(DEMO_FLOW)
    validate_flow(base(), Capabilities(has_llm=True, tools=frozenset({"availability"}), agents=frozenset({"Billing"})))


@pytest.mark.parametrize("mutate, message", [
    (lambda f: f["nodes"]["day"].update(kind="weekday"), "node 'day': 'kind' 'weekday' is unknown"),
    (lambda f: f["nodes"]["day"].pop("slot"), "node 'day': 'slot' is missing (required for 'collect' nodes)"),
    (lambda f: f["nodes"]["day"].update(slot="my day"), "node 'day': 'slot' must be a variable name"),
    (lambda f: f["nodes"]["day"].update(min_digits=3), "node 'day': 'min_digits' does not apply to 'date' slots"),
    (lambda f: f["nodes"]["day"].update(max_days_ahead="soon"), "node 'day': 'max_days_ahead' must be a number"),
    (lambda f: f["nodes"]["day"].update(weekdays=["Funday"]), "node 'day': 'weekdays' must list weekday names"),
    (lambda f: f["nodes"]["day"].update(dtmf_choices={"12": "x"}), "node 'day': 'dtmf_choices' maps one key"),
    (lambda f: f["nodes"]["day"].update(on_deny="nowhere"), "node 'day': 'on_deny' points to unknown node 'nowhere'"),
    (lambda f: f["nodes"]["day"].update(when=[{"var": "day", "next": "bye"}]),
     "node 'day': condition 1 needs exactly one of 'equals'"),
    (lambda f: f["nodes"]["day"].update(when=[{"var": "day", "equals": 1, "next": "void"}]),
     "node 'day': condition 1 'next' points to unknown node 'void'"),
    (lambda f: f["nodes"]["day"].update(kind="time", min="8am"), "node 'day': 'min' must be a time as HH:MM"),
    (lambda f: f["nodes"]["check"].pop("on_error"), "node 'check': 'on_error' is missing"),
    (lambda f: f["nodes"]["check"].update(result="the result"), "node 'check': 'result' must be a variable name"),
    (lambda f: f["nodes"]["check"].update(args="date"), "node 'check': 'args' must be an object"),
    (lambda f: f["nodes"]["chat"].update(prompt=" "), "node 'chat': 'prompt' must not be empty"),
    (lambda f: f["nodes"]["chat"]["routes"][0].pop("intent"), "node 'chat': route 1 needs an 'intent'"),
    (lambda f: f["nodes"]["chat"].update(max_turns=0), "node 'chat': 'max_turns' must be at least 1"),
    (lambda f: f["nodes"]["faq"].update(k=50), "node 'faq': 'k' must be between 1 and 10"),
    (lambda f: f["nodes"]["desk"].update(mode="tepid"), "node 'desk': 'mode' must be 'cold' or 'warm'"),
    (lambda f: f["nodes"]["desk"].update(target="desk please"), "node 'desk': 'target' must be a phone number"),
    (lambda f: f["nodes"]["desk"].update(headers={"Account": "1"}),
     "node 'desk': header 'Account' must start with 'x-'"),
    (lambda f: f["nodes"]["desk"].update(headers={"X-Twilio-Foo": "1"}), "never 'X-Twilio'"),
    (lambda f: f["nodes"]["sorry"].update(agent=""), "node 'sorry': 'agent' must not be empty"),
    (lambda f: f.update(timezone="Mars/Olympus"), "flow: 'timezone' 'Mars/Olympus' is not a known time zone"),
    (lambda f: f["nodes"]["faq"].update(next="check", fallback="check") or f["nodes"]["check"].update(
        on_success="faq"), "forms a loop with no node that waits"),
])  # fmt: skip
def test_errors_name_node_and_field(mutate, message):
    assert message in error(mutate)


def test_capabilities_llm_needs_an_llm_or_a_fallback():
    no_llm = Capabilities(has_llm=False, tools=frozenset({"availability"}))
    validate_flow(base(), no_llm)  # the llm node has a fallback
    message = error(lambda f: f["nodes"]["chat"].pop("fallback"), no_llm)
    assert message.startswith("node 'chat': 'llm' nodes need an LLM")
    validate_flow({**base(), "nodes": {**base()["nodes"], "chat": {**base()["nodes"]["chat"], "fallback": "faq"}}},
                  Capabilities(has_llm=True, tools=frozenset({"availability"})))


def test_capabilities_tools_and_agents():
    message = error(lambda f: None, Capabilities(has_llm=True, tools=frozenset({"other"})))
    assert message == "node 'check': 'tool' 'availability' is not one of the agent's tools (other)"
    message = error(lambda f: f["nodes"]["chat"].update(tools=["crm"]),
                    Capabilities(has_llm=True, tools=frozenset({"availability"})))
    assert message == "node 'chat': 'tools' names 'crm', which is not one of the agent's tools"
    message = error(lambda f: None, Capabilities(has_llm=True, tools=frozenset({"availability"}),
                                                 agents=frozenset({"Sales"})))
    assert message == "node 'sorry': 'agent' 'Billing' is not an agent of this workspace"


def test_outgoing_lists_every_transition():
    flow = copy.deepcopy(DEMO_FLOW)
    assert ("on_deny", "booking_again") in outgoing(flow["nodes"]["ask_time"])
    assert ("fallback", "faq") in outgoing(flow["nodes"]["ask_help"])
    assert ("booking", "booking") in outgoing(flow["nodes"]["ask_help"])

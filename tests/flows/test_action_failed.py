"""A flow whose transfer (or other action that ends it) could not be carried out: it takes the node's `on_error`,
or apologises and goes back to the node that last waited, so the conversation goes on. Pure engine, then the
FlowBrain contract (`ActionFailed`)."""

from __future__ import annotations

import asyncio

import pytest

from calls.flows.brain import FlowBrain
from calls.flows.engine import FlowEngine
from calls.flows.schema import FlowError, validate_flow
from calls.providers.base import ActionFailed, EndCall, TextDelta, Transfer, UserTurn

from .conftest import context, said

SORRY = "I'm sorry, I couldn't connect you right now."


def flow(on_error: str | None = None) -> dict:
    desk = {"type": "transfer", "text": "Connecting you.", "target": "+15550100999"}
    if on_error:
        desk["on_error"] = on_error
    return {"start": "hello", "nodes": {
        "hello": {"type": "say", "text": "Welcome.", "next": "menu"},
        "menu": {"type": "ask", "text": "How can I help?", "routes": [
            {"keywords": ["human"], "next": "desk"}, {"keywords": ["hours"], "next": "hours"}]},
        "hours": {"type": "end", "text": "We open at nine."},
        "desk": desk,
        "voicemail": {"type": "ask", "text": "Nobody is free. Leave a message after the tone?", "routes": [
            {"keywords": ["yes"], "next": "hours"}]},
    }}


def test_without_on_error_the_flow_apologises_and_goes_back_to_its_menu():
    e = FlowEngine(flow(), context=context())
    e.start()
    actions = e.on_text("a human please")
    assert isinstance(actions[-1], Transfer) and e.finished
    assert said(e.on_action_failed(SORRY)) == SORRY
    assert e.state.node == "menu" and not e.finished
    assert said(e.on_text("your hours?")) == "We open at nine."  # routed from the menu again


def test_on_error_takes_the_flow_there():
    e = FlowEngine(flow(on_error="voicemail"), context=context())
    e.start()
    e.on_text("human")
    assert said(e.on_action_failed(SORRY)) == "Nobody is free. Leave a message after the tone?"
    assert e.state.node == "voicemail"


def test_on_error_must_name_a_node():
    validate_flow(flow(on_error="voicemail"))
    with pytest.raises(FlowError, match="on_error"):
        validate_flow(flow(on_error="nowhere"))


def test_flow_brain_answers_a_failed_action_and_the_next_turn():
    async def go():
        brain = FlowBrain(flow(), "Hi.")
        [o async for o in brain.greeting()]
        transfer = [o async for o in brain.respond(UserTurn("human"))]
        apology = [o async for o in brain.respond(ActionFailed(transfer[-1], "HTTP 503", SORRY))]
        after = [o async for o in brain.respond(UserTurn("hours"))]
        return apology, after

    apology, after = asyncio.run(go())
    assert apology == [TextDelta(SORRY + " ")]
    assert after == [TextDelta("We open at nine. ", uninterruptible=True), EndCall("completed")]  # a goodbye

"""FlowBrain performing effects on a live call: a real HTTP tool, the knowledge base (a stub search), the LLM
(fake OpenAI server), hand-over, and barge-in during an effect."""

from __future__ import annotations

import asyncio

import pytest

from calls.flows.brain import FlowBrain
from calls.flows.context import FlowContext
from calls.flows.effects import KnowledgeHit
from calls.flows.runtime import FILLER
from calls.providers.base import BrainState, EndCall, TextDelta, UserTurn
from voicebot.testing.vendors import ScriptedReply

from .conftest import clock, collect, said

pytestmark = pytest.mark.asyncio

HIT = KnowledgeHit(3, 33, "Practice information", "There is free parking behind the building.", 1.5, "Parking")


def booking_flow(**tool) -> dict:
    return {
        "start": "day",
        "nodes": {
            "day": {"type": "collect", "slot": "day", "kind": "date", "text": "Which day?", "next": "check"},
            "check": {"type": "tool", "tool": "availability", "args": {"date": "{day_value}"},
                      "on_success": "ok", "on_error": "broken", **tool},
            "ok": {"type": "say", "text": "Yes, {result.slot} is free on {day}.", "next": "menu"},
            "broken": {"type": "say", "text": "The booking system is down.", "next": "menu"},
            "menu": {"type": "ask", "text": "Anything else?", "routes": [
                {"intent": "billing", "keywords": ["bill"], "next": "billing"}], "fallback": "faq"},
            "faq": {"type": "answer", "not_found": "I don't know.", "next": "menu"},
            "billing": {"type": "llm", "prompt": "You explain bills.", "routes": [
                {"intent": "finished", "keywords": ["all done"], "description": "the caller is done", "next": "bye"}],
                "fallback": "bye"},
            "bye": {"type": "end", "text": "Bye!"},
        },
    }  # fmt: skip


def context(server=None, **kwargs) -> FlowContext:
    tools = [{"name": "availability", "url": server.endpoint, "secret": "s3cret", "timeout_s": 5}] if server else []
    return FlowContext(tools=tools, clock=clock, **kwargs)


async def test_tool_node_calls_the_http_tool(tool_server):
    brain = FlowBrain(booking_flow(), "Hi.", context=context(tool_server))
    assert said(await collect(brain.greeting())) == "Hi. Which day?"
    reply = await collect(brain.respond(UserTurn("tomorrow please")))
    assert said(reply) == "Yes, 15:00 is free on tomorrow. Anything else?"
    assert tool_server.calls == [({"date": "2026-03-05"}, True)]  # signed, typed from the slot
    assert brain.state.variables["result"] == {"available": True, "slot": "15:00"}
    await brain.close()


async def test_tool_errors_and_slow_tools(tool_server):
    tool_server.status = 500
    brain = FlowBrain(booking_flow(), context=context(tool_server))
    await collect(brain.greeting())
    assert said(await collect(brain.respond(UserTurn("friday")))) == "The booking system is down. Anything else?"
    tool_server.status, tool_server.delay_s = 200, 1.3
    brain = FlowBrain(booking_flow(), context=context(tool_server))
    await collect(brain.greeting())
    reply = await collect(brain.respond(UserTurn("friday")))
    assert reply[0] == TextDelta(FILLER)  # silence would be worse than a filler line
    brain = FlowBrain(booking_flow(text="Let me check."), context=context(tool_server))
    await collect(brain.greeting())
    assert said(await collect(brain.respond(UserTurn("friday")))).startswith("Let me check. Yes,")  # no filler
    await brain.close()


async def test_unknown_tool_takes_the_error_path():
    brain = FlowBrain(booking_flow(), context=FlowContext(clock=clock))
    await collect(brain.greeting())
    assert said(await collect(brain.respond(UserTurn("friday")))) == "The booking system is down. Anything else?"


async def test_barge_in_during_a_tool_call_goes_back_to_the_question(tool_server):
    tool_server.delay_s = 5
    brain = FlowBrain(booking_flow(text="Let me check."), context=context(tool_server))
    await collect(brain.greeting())
    replies = brain.respond(UserTurn("friday"))
    assert (await anext(replies)).text == "Let me check. "
    waiting = asyncio.ensure_future(anext(replies))
    await asyncio.sleep(0.2)
    waiting.cancel()  # the session cancels the reply task on barge-in
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await replies.aclose()
    assert brain.state.node == "day" and brain.engine.pending is None
    assert said(await collect(brain.respond(UserTurn("goodbye")))) == "Sorry, I didn't catch that. Which day?"
    await brain.close()


async def test_answer_uses_the_knowledge_base_and_notes_sources():
    noted: list = []

    async def search(query: str, k: int) -> list[KnowledgeHit]:
        return [HIT] if "park" in query.lower() else []

    flow = booking_flow()
    brain = FlowBrain(flow, context=FlowContext(clock=clock, search=search, note_sources=noted.extend),
                      state=BrainState(node="menu"))
    assert said(await collect(brain.respond(UserTurn("Is there parking?")))) == (
        "There is free parking behind the building. Anything else?"
    )
    assert noted == [HIT]
    assert said(await collect(brain.respond(UserTurn("Can I bring my dog?")))) == "I don't know. Anything else?"


async def test_llm_node_streams_and_leaves_by_the_llms_choice(openai_fake):
    openai_fake.replies.extend([
        ScriptedReply(text="Your last bill was 40 dollars."),
        ScriptedReply(tool_calls=[("next_step", {"step": "finished"})]),
        ScriptedReply(text="Glad I could help."),
    ])  # fmt: skip
    events: list = []
    brain = FlowBrain(booking_flow(), state=BrainState(node="menu"),
                      context=FlowContext(clock=clock, has_llm=True, llm_options={"model": "gpt-test"},
                                          on_event=lambda kind, detail: events.append(kind)))
    reply = await collect(brain.respond(UserTurn("a question about my bill")))
    assert said(reply) == "Your last bill was 40 dollars." and brain.state.node == "billing"
    request = openai_fake.requests[0]
    assert request["messages"][0]["content"].startswith("You explain bills.")
    assert "next_step" in [t["function"]["name"] for t in request["tools"]]
    reply = await collect(brain.respond(UserTurn("ok thanks, I'm good")))
    assert said(reply) == "Glad I could help. Bye!" and isinstance(reply[-1], EndCall)
    # The node's LLM history lives in the flow's state (saved and resumed with the call).
    messages = brain.state.variables["_llm"]["billing"]["messages"]
    assert messages[0] == {"role": "user", "content": "a question about my bill"}
    await brain.close()


async def test_llm_failure_takes_the_fallback(openai_fake):
    openai_fake.replies.append(ScriptedReply(status=500))
    brain = FlowBrain(booking_flow(), state=BrainState(node="menu"),
                      context=FlowContext(clock=clock, has_llm=True, llm_options={"max_retries": 0}))
    reply = await collect(brain.respond(UserTurn("my bill")))
    assert said(reply) == "Sorry, I'm having some trouble on my end. Bye!"
    await brain.close()


async def test_llm_routing_and_composed_answers(openai_fake):
    openai_fake.replies.extend([ScriptedReply(text="none"), ScriptedReply(text="Yes, parking is free out back.")])

    async def search(query: str, k: int) -> list[KnowledgeHit]:
        return [HIT]

    brain = FlowBrain(booking_flow(), state=BrainState(node="menu"),
                      context=FlowContext(clock=clock, has_llm=True, search=search))
    reply = await collect(brain.respond(UserTurn("can I leave my car somewhere")))
    assert said(reply) == "Yes, parking is free out back. Anything else?"
    choose, compose = openai_fake.requests
    assert "- billing" in choose["messages"][0]["content"]
    assert "There is free parking behind the building." in compose["messages"][0]["content"]
    await brain.close()


async def test_handover_delegates_to_the_other_agents_brain():
    other = FlowBrain({"start": "hi", "nodes": {
        "hi": {"type": "ask", "text": "Billing here, {name}. What's your question?", "routes": [
            {"keywords": ["bye"], "next": "end"}]},
        "end": {"type": "end", "text": "Bye from billing."}}}, "")  # fmt: skip
    handed: list = []

    async def load_brain(agent: str, variables: dict, transcript: list[dict]):
        handed.append((agent, dict(variables), list(transcript)))
        other.engine.variables.update(variables)
        return other

    flow = {"start": "ask", "nodes": {
        "ask": {"type": "collect", "slot": "name", "kind": "name", "text": "Your name?", "next": "go"},
        "go": {"type": "handover", "agent": "Billing", "text": "Passing you to billing."}}}  # fmt: skip
    brain = FlowBrain(flow, "Hello.", context=FlowContext(clock=clock, load_brain=load_brain))
    await collect(brain.greeting())
    brain.heard("Hello. Your name?", "Hello. Your name?", False)
    reply = await collect(brain.respond(UserTurn("It's Ana")))
    assert said(reply) == "Passing you to billing. Billing here, Ana. What's your question?"
    assert handed[0][0] == "Billing" and handed[0][1]["name"] == "Ana"
    assert handed[0][2] == [{"role": "assistant", "content": "Hello. Your name?"},
                            {"role": "user", "content": "It's Ana"}]
    assert brain.delegate is other and brain.state is other.state and brain.state.node == "hi"
    assert said(await collect(brain.respond(UserTurn("bye")))) == "Bye from billing."

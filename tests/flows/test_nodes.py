"""The engine side of tool / answer / llm / transfer / handover nodes and of intent routing: which effect it
asks for, and what it does with each outcome. Pure: outcomes are handed in by the test."""

from __future__ import annotations

from calls.providers.base import DetailedTransfer
from calls.flows.effects import (
    CallTool,
    ChooseRoute,
    ComposeAnswer,
    Handover,
    KnowledgeHit,
    LlmOutcome,
    LlmTurn,
    SearchKnowledge,
    Sources,
    ToolResult,
)
from calls.flows.engine import FlowEngine
from calls.flows.nodes import handover
from calls.providers.base import EndCall, Transfer

from .conftest import context, said

HIT = KnowledgeHit(1, 11, "Practice information",
                   "We're open Monday to Friday, 8 am to 6 pm. We're closed on Sundays. Parking is free.", 2.5,
                   "Opening hours")  # fmt: skip


def flow() -> dict:
    return {
        "start": "menu",
        "global_routes": [{"intent": "human", "keywords": ["person"], "next": "desk"}],
        "nodes": {
            "menu": {"type": "ask", "text": "How can I help?", "routes": [
                {"intent": "booking", "keywords": ["book"], "examples": ["I need to see someone about a toothache"],
                 "next": "day"},
                {"intent": "billing", "keywords": ["invoice"], "description": "Questions about a bill",
                 "next": "billing"},
            ], "fallback": "faq"},
            "day": {"type": "collect", "slot": "day", "kind": "date", "text": "Which day?", "next": "check"},
            "check": {"type": "tool", "tool": "availability", "text": "Let me check.", "result": "slots",
                      "args": {"date": "{day_value}", "label": "Day: {day}", "nested": ["{day_value}"], "n": 2},
                      "when": [{"var": "slots.available", "equals": False, "next": "full"}],
                      "on_success": "ok", "on_error": "broken"},
            "ok": {"type": "say", "text": "We have {slots.slot}. Booked for {day}.", "next": "menu"},
            "full": {"type": "say", "text": "Sorry, {day} is full.", "next": "menu"},
            "broken": {"type": "say", "text": "Our booking system is down.", "next": "desk"},
            "faq": {"type": "answer", "text": "Let me look.", "not_found": "I don't know that.", "next": "menu"},
            "billing": {"type": "llm", "prompt": "Help with billing for {name}.", "fallback": "desk",
                        "routes": [{"intent": "done", "keywords": ["that's all"], "next": "menu"}],
                        "max_turns": 2, "next": "menu"},
            "desk": {"type": "transfer", "text": "Connecting you.", "target": "sip:desk@pbx.example", "mode": "warm"},
            "other": {"type": "handover", "agent": "Billing bot", "text": "Passing you over.", "on_error": "menu"},
        },
    }  # fmt: skip


def started(**ctx) -> FlowEngine:
    e = FlowEngine(flow(), context=context(**ctx))
    e.start()
    return e


# ---------------------------------------------------------------- routing


def test_example_phrases_route_without_keywords():
    e = started()
    assert said(e.on_text("um I've got a bad toothache and need to see somebody")) == "Which day?"
    assert e.variables["intent"] == "booking"


def test_llm_chooses_only_when_configured_and_nothing_cheap_matched():
    e = started()
    assert said(e.on_text("what is this charge on my card")) == "Let me look. I don't know that. How can I help?"
    e = started(has_llm=True)
    assert said(e.on_text("book")) == "Which day?" and e.pending is None  # keywords never wait for the LLM
    e = started(has_llm=True)
    actions = e.on_text("what is this charge on my card")
    effect = actions[-1]
    assert isinstance(effect, ChooseRoute) and e.pending is effect
    assert ("billing", "Questions about a bill") in effect.intents and ("human", "") in effect.intents
    assert e.on_text("hello?") == []  # nothing happens while the choice is pending
    actions = e.resume("billing")
    assert isinstance(actions[-1], LlmTurn) and e.variables["intent"] == "billing"
    e = started(has_llm=True, has_knowledge=True)
    e.on_text("gibberish")
    assert isinstance(e.resume(None)[-1], SearchKnowledge)  # no intent: the fallback (faq)


# ---------------------------------------------------------------- tool


def test_tool_node_asks_for_the_call_and_branches_on_the_result():
    e = started()
    e.on_text("book")
    actions = e.on_text("tomorrow")
    assert said(actions) == "Let me check."
    call = actions[-1]
    assert isinstance(call, CallTool) and call.tool == "availability"
    assert call.arguments == {"date": "2026-03-05", "label": "Day: tomorrow", "nested": ["2026-03-05"], "n": 2}
    assert said(e.resume(ToolResult(True, {"available": True, "slot": "3 pm"}))).startswith("We have 3 pm.")
    assert e.variables["slots"] == {"available": True, "slot": "3 pm"}

    e = started()
    e.on_text("book")
    e.on_text("tomorrow")
    assert said(e.resume(ToolResult(True, {"available": False}))).startswith("Sorry, tomorrow is full.")
    e = started()
    e.on_text("book")
    e.on_text("tomorrow")
    actions = e.resume(ToolResult(False, {"error": "timeout"}))
    assert said(actions) == "Our booking system is down. Connecting you." and isinstance(actions[-1], Transfer)


def test_interrupted_effect_goes_back_to_the_last_question():
    e = started()
    e.on_text("book")
    e.on_text("tomorrow")
    e.abandon()
    assert e.pending is None and e.state.node == "day"
    assert said(e.on_text("friday")) == "Let me check."


# ---------------------------------------------------------------- answer


def test_answer_without_knowledge_base_says_not_found():
    e = started()
    assert said(e.on_text("do you have parking")) == "Let me look. I don't know that. How can I help?"


def test_answer_speaks_the_best_sentences_and_notes_sources():
    e = started(has_knowledge=True)
    actions = e.on_text("When are you open on Fridays?")
    assert isinstance(actions[-1], SearchKnowledge) and actions[-1].query == "When are you open on Fridays?"
    actions = e.resume([HIT])
    assert [a for a in actions if isinstance(a, Sources)] == [Sources((HIT,))]
    assert said(actions) == "We're open Monday to Friday, 8 am to 6 pm. We're closed on Sundays. How can I help?"
    e = started(has_knowledge=True)
    e.on_text("Can I bring my dog?")
    assert said(e.resume([])) == "I don't know that. How can I help?"


def test_answer_with_an_llm_composes_and_falls_back_to_the_chunk():
    e = started(has_knowledge=True, has_llm=True)
    e.on_text("parking?")
    e.resume(None)  # the LLM saw no route in it: the fallback, the knowledge base
    actions = e.resume([HIT])
    assert isinstance(actions[-1], ComposeAnswer) and actions[-1].chunks == (HIT,)
    assert said(e.resume(LlmOutcome(spoke=True))) == "How can I help?"
    e = started(has_knowledge=True, has_llm=True)
    e.on_text("parking?")
    e.resume(None)
    e.resume([HIT])
    assert "Parking is free." in said(e.resume(LlmOutcome(failed=True, spoke=False)))


# ---------------------------------------------------------------- llm


def test_llm_node_without_llm_uses_its_fallback():
    e = started()
    actions = e.on_text("invoice")
    assert said(actions) == "Connecting you." and isinstance(actions[-1], DetailedTransfer)


def test_llm_node_turns_routes_and_max_turns():
    e = started(has_llm=True)
    e.variables["name"] = "Ana"
    actions = e.on_text("I have a question about an invoice")
    turn = actions[-1]
    assert isinstance(turn, LlmTurn) and turn.text == "I have a question about an invoice"  # answered at once
    assert turn.prompt.startswith("Help with billing for Ana.") and "intent: billing" in turn.prompt
    assert turn.intents == (("done", ""),)
    assert e.resume(LlmOutcome()) == [] and e.state.node == "billing"
    assert said(e.on_text("that's all thanks")) == "How can I help?"  # keyword route: no LLM
    e = started(has_llm=True)
    e.on_text("invoice")
    e.resume(LlmOutcome())
    assert isinstance(e.on_text("and the other one?")[-1], LlmTurn)
    assert said(e.resume(LlmOutcome())) == "How can I help?"  # max_turns reached: next
    e = started(has_llm=True)
    e.on_text("invoice")
    assert said(e.resume(LlmOutcome(intent="done"))) == "How can I help?"  # the LLM chose the route
    e = started(has_llm=True)
    e.on_text("invoice")
    assert isinstance(e.resume(LlmOutcome(failed=True))[-1], DetailedTransfer)  # failed: the fallback


# ---------------------------------------------------------------- transfer and hand-over


def test_warm_sip_transfer_carries_intent_and_slots():
    e = started()
    e.on_text("book")
    e.on_text("tomorrow")
    e.resume(ToolResult(True, {"available": True, "slot": "3 pm"}))
    actions = e.on_text("I want a person")
    transfer = actions[-1]
    assert isinstance(transfer, DetailedTransfer) and transfer.target == "sip:desk@pbx.example"
    assert transfer.options.mode == "warm" and transfer.options.intent == "human"
    assert transfer.options.slots == {"day": "tomorrow"}
    assert transfer.summary == "intent: human; day: tomorrow"
    assert e.finished


def test_handover_asks_for_the_agent_and_handles_failure():
    definition = flow()
    definition["start"] = "other"
    e = FlowEngine(definition, context=context())
    actions = e.start()
    assert said(actions) == "Passing you over." and isinstance(actions[-1], Handover)
    assert actions[-1].agent == "Billing bot"
    assert said(e.resume(False)) == "How can I help?"  # on_error
    e = FlowEngine(definition, context=context())
    e.start()
    assert e.resume(True) == [] and e.finished
    del definition["nodes"]["other"]["on_error"]
    definition["start"] = "menu"
    e = FlowEngine(definition, context=context())
    e.start()
    entered: list = []
    e.goto("other", entered)  # the caller was routed to the hand-over from the menu
    assert isinstance(entered[-1], Handover)
    # Without on_error the call goes on: one apology, no hang-up, and the caller's next words are heard.
    failed = e.resume(False)
    assert said(failed) == handover.FAILED_LINE
    assert not any(isinstance(a, EndCall) for a in failed) and not e.finished
    assert said(e.on_text("I want to book")) == "Which day?"  # back at the menu, which waited last


def test_the_goodbye_of_an_end_node_plays_to_its_end_unless_the_flow_says_otherwise():
    from calls.providers.base import TextDelta

    def goodbye(**end) -> TextDelta:
        e = FlowEngine({"start": "bye", "nodes": {"bye": {"type": "end", "text": "Goodbye!", **end}}},
                       context=context())
        out = e.start()
        assert isinstance(out[-1], EndCall)
        return next(a for a in out if isinstance(a, TextDelta))

    assert goodbye().uninterruptible
    assert not goodbye(uninterruptible=False).uninterruptible

"""The small pure pieces: conditions, spoken snippets, example-phrase similarity, edit distance."""

from __future__ import annotations

import asyncio

from calls.flows.brain import FlowBrain
from calls.flows.conditions import first_true, holds, lookup
from calls.flows.fuzzy import edit_distance, similar_words
from calls.flows.routing import content_words, example_score
from calls.flows.snippets import spoken_snippet
from calls.providers.base import BrainState, UserTurn

from .conftest import collect, said

VARIABLES = {"result": {"status": "FULL", "slots": [{"time": "15:00"}], "count": "3"}, "party_value": 4, "ok": True}


def test_conditions():
    assert lookup(VARIABLES, "result.slots.0.time") == "15:00" and lookup(VARIABLES, "result.nope.x") is None
    assert holds({"var": "result.status", "equals": "full"}, VARIABLES)  # JSON and speech: case and type loose
    assert holds({"var": "result.count", "equals": 3}, VARIABLES)
    assert holds({"var": "result.count", "gt": 2}, VARIABLES) and not holds({"var": "result.count", "lt": 3}, VARIABLES)
    assert holds({"var": "party_value", "in": [2, 4]}, VARIABLES)
    assert holds({"var": "ok", "equals": True}, VARIABLES) and holds({"var": "ok", "not_equals": False}, VARIABLES)
    assert holds({"var": "missing", "exists": False}, VARIABLES) and not holds({"var": "missing", "gt": 1}, VARIABLES)
    assert holds({"var": "result.status", "contains": "ul"}, VARIABLES)
    assert first_true([{"var": "missing", "exists": True, "next": "a"}, {"var": "ok", "equals": True, "next": "b"}],
                      VARIABLES) == "b"


def test_spoken_snippet_keeps_the_answering_sentences():
    text = ("Welcome to our clinic. We have served the town since 1990. Parking is free behind the building. "
            "Bikes can be locked at the front.")
    expected = "Parking is free behind the building. Bikes can be locked at the front."
    assert spoken_snippet(text, "where can I park?") == expected
    assert spoken_snippet(text, "unrelated") == "Welcome to our clinic. We have served the town since 1990."
    assert len(spoken_snippet("word " * 100, "word").split()) <= 45


def test_example_similarity_tolerates_asr_slips():
    example = content_words("I need to reschedule my appointment")
    assert example_score(content_words("I need to reshedule my apointment"), example) > 0.8
    assert example_score(content_words("what time do you close"), example) == 0
    assert edit_distance("kitten", "sitting") == 3 and edit_distance("a" * 50, "b" * 50, limit=2) == 3
    assert similar_words("book", "look") == 0  # short words must match exactly


def test_a_brain_with_nowhere_to_resume_starts_its_flow():
    flow = {"start": "hi", "nodes": {"hi": {"type": "ask", "text": "Hello again.", "routes": []}}}
    brain = FlowBrain(flow, state=BrainState(node="vanished", variables={"name": "Ana"}))
    assert said(asyncio.run(collect(brain.respond(UserTurn("hello?"))))) == "Hello again."

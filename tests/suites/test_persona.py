"""The LLM-driven caller: a persona's goal and the call so far go to the LLM; its line is spoken, `[hang up]` ends."""

from __future__ import annotations

import pytest

from suites.persona import Persona, PersonaCaller, PersonaError
from suites.scenario import parse_scenario
from suites.yaml_lines import ScenarioError
from voicebot.testing.vendors.openai import ScriptedReply

ESPEAK = {"voice": "espeak"}  # the quick voice: these tests are about the words


def test_a_scenario_may_give_a_persona_instead_of_lines():
    s = parse_scenario("name: p\npersona: {goal: Book a cleaning, max_turns: 3}\nexpect:\n  - end_reason: x\n")
    assert s.lines == () and s.persona == Persona(goal="Book a cleaning", max_turns=3)
    with pytest.raises(ScenarioError) as caught:
        parse_scenario("name: p\npersona:\n  max_turns: 3\nexpect:\n  - end_reason: x\n")
    assert (caught.value.line, caught.value.field) == (3, "persona") and "'persona.goal' is required" in str(
        caught.value)


def test_without_an_llm_a_persona_cannot_call(settings):
    settings.OPENAI_API_KEY = ""
    with pytest.raises(PersonaError, match="needs an LLM"):
        PersonaCaller(Persona("x"), 8000, ESPEAK, None)


@pytest.mark.asyncio
async def test_the_persona_says_what_the_llm_writes_from_the_call_so_far_and_hangs_up_when_told(openai_fake):
    openai_fake.replies.extend([ScriptedReply(text="Hi, when are you open on Saturdays?"),
                                ScriptedReply(text="[hang up]")])
    history = [("agent", "Hello, Bright Smile Dental. How can I help?")]

    async def turns():
        return list(history)

    caller = PersonaCaller(Persona("You want the Saturday hours", model="persona-model"), 8000, ESPEAK, turns)
    step = await caller.next_step()
    assert step.text == "Hi, when are you open on Saturdays?" and len(step.pcm) > 8000  # over half a second
    request = openai_fake.requests[0]
    assert request["model"] == "persona-model"
    assert "You want the Saturday hours" in request["messages"][0]["content"]
    assert request["messages"][1:] == [{"role": "user", "content": "Hello, Bright Smile Dental. How can I help?"}]
    history += [("caller", step.text), ("agent", "Saturday 9 to 1.")]
    assert await caller.next_step() is None
    assert [m["role"] for m in openai_fake.requests[1]["messages"][1:]] == ["user", "assistant", "user"]


@pytest.mark.asyncio
async def test_the_persona_stops_after_its_turns(openai_fake):
    async def turns():
        return [("agent", "Anything else?")]

    caller = PersonaCaller(Persona("Chatty", max_turns=1), 8000, ESPEAK, turns)
    assert (await caller.next_step()).text  # the fake echoes: any words will do
    assert await caller.next_step() is None
    assert len(openai_fake.requests) == 1

"""The LLM brain built from a prompt-first agent's own fields: its model, temperature, system prompt and tools
reach the request; the end_call switch removes the tool and its instruction; an HTTP tool called with GET gets the
arguments as its (signed) query string and headers filled with the call's variables and with secrets from the
environment — only those under the VOICEBOT_TOOL_SECRET_ prefix."""

from __future__ import annotations

import pytest

from calls.call_variables import agent_for_call
from calls.models import Agent, Call
from calls.providers.base import TextDelta, UserTurn
from calls.providers.llm.openai_brain import END_CALL_RULE, OpenAIBrain
from voicebot.testing.vendors import ScriptedReply
from voicebot.testing.vendors.tool_server import FakeToolServer

pytestmark = pytest.mark.asyncio


async def collect(outputs) -> list:
    return [out async for out in outputs]


def agent(**fields) -> Agent:
    values = dict(name="Desk", llm_provider="openai", system_prompt="You are Dana at {{business}}.",
                  greeting="Hi {{customer_name}}!", llm_model="gpt-test", llm_temperature=0.2,
                  variable_defaults={"business": "Acme", "customer_name": "there"})
    values.update(fields)
    return Agent(**values)


async def test_the_agents_fields_reach_the_request(openai_fake):
    call = Call(pk=5, from_number="+15550111111", to_number="+15550100000", variables={"customer_name": "Ada"})
    call.agent = agent(end_call_enabled=False)
    brain = OpenAIBrain.for_agent(agent_for_call(call.agent, call), None)
    greeting = "".join(o.text for o in await collect(brain.greeting()))
    await collect(brain.respond(UserTurn("Hello")))
    request = openai_fake.requests[0]
    assert greeting == "Hi Ada! "
    assert request["model"] == "gpt-test" and request["temperature"] == 0.2
    system = request["messages"][0]["content"]
    assert system.startswith("You are Dana at Acme.") and END_CALL_RULE.strip() not in system
    assert "tools" not in request  # no end_call, no transfer, no HTTP tools: none sent (an empty list is refused)
    await brain.close()


async def test_a_get_tool_gets_signed_query_arguments_and_headers_with_variables_and_secrets(openai_fake,
                                                                                           monkeypatch):
    monkeypatch.setenv("VOICEBOT_TOOL_SECRET_CRM_TOKEN", "tok-123")
    monkeypatch.setenv("DJANGO_SECRET_KEY_PROBE", "must-not-leak")
    async with FakeToolServer(secret="s3cret", result={"status": "shipped"}) as tools:
        tool = {"name": "order_status", "description": "Where an order is", "url": tools.endpoint, "method": "GET",
                "parameters": {"type": "object", "properties": {"order_id": {"type": "string"},
                                                                "rush": {"type": "boolean"}}},
                "headers": {"Authorization": "Bearer {{secret:CRM_TOKEN}}", "X-Customer": "{{customer_name}}",
                            "X-Other": "{{secret:DJANGO_SECRET_KEY_PROBE}}"},
                "secret": "s3cret"}
        call = Call(pk=6, variables={"customer_name": "Ada"})
        call.agent = agent(tools=[tool])
        call.agent.full_clean(exclude=["workspace"])  # the tool as saved: valid
        openai_fake.replies.extend([ScriptedReply(tool_calls=[("order_status", {"order_id": "A-7", "rush": True})]),
                                    ScriptedReply(text="It has shipped.")])
        brain = OpenAIBrain.for_agent(agent_for_call(call.agent, call), None)
        outputs = await collect(brain.respond(UserTurn("Where is order A-7?")))
    assert "".join(o.text for o in outputs if isinstance(o, TextDelta)) == "It has shipped."
    [request] = tools.requests
    assert request["method"] == "GET" and request["query"] == {"order_id": "A-7", "rush": "true"}
    assert tools.calls == [({"order_id": "A-7", "rush": "true"}, True)]  # the query string's signature verified
    headers = request["headers"]
    assert headers["Authorization"] == "Bearer tok-123" and headers["X-Customer"] == "Ada"
    assert headers["X-Other"] == ""  # only VOICEBOT_TOOL_SECRET_* can be named
    assert [t["function"]["name"] for t in openai_fake.requests[0]["tools"]] == ["end_call", "order_status"]
    await brain.close()

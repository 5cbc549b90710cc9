"""OpenAIBrain with the real openai client against the fake Chat Completions server."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from calls.models import Agent
from calls.providers.base import (
    ActionFailed,
    BrainState,
    Dtmf,
    EndCall,
    ProviderError,
    StillWorking,
    ToolUsed,
    TextDelta,
    Transfer,
    UserTurn,
)
from calls.providers.llm.conversation import INTERRUPTED
from calls.providers.llm.openai_brain import FILLER, OpenAIBrain
from voicebot.testing.vendors import ScriptedReply
from voicebot.testing.vendors.tool_server import FakeToolServer

pytestmark = pytest.mark.asyncio


def brain_for(fake, *, tools: list[dict] | None = None, **options) -> OpenAIBrain:
    return OpenAIBrain(greeting="Hi, this is Sam.", options=options, tools=tools)


async def collect(outputs) -> list:
    return [out async for out in outputs]


def text_of(outputs: list) -> str:
    return "".join(o.text for o in outputs if isinstance(o, TextDelta))


async def test_greeting_is_spoken_without_a_request(openai_fake):
    brain = brain_for(openai_fake)
    assert text_of(await collect(brain.greeting())) == "Hi, this is Sam. "
    assert openai_fake.requests == []
    await brain.close()


async def test_it_streams_text_and_keeps_the_conversation(openai_fake):
    openai_fake.replies.extend([ScriptedReply(text="We open at nine. Anything else?"), ScriptedReply(text="Bye.")])
    brain = brain_for(openai_fake, model="gpt-test", temperature=0.2)
    await collect(brain.greeting())
    outputs = await collect(brain.respond(UserTurn("When do you open?")))

    assert len(outputs) > 3 and text_of(outputs) == "We open at nine. Anything else?"  # streamed, not one block
    request = openai_fake.requests[0]
    assert request["model"] == "gpt-test" and request["stream"] is True
    assert request["stream_options"] == {"include_usage": True}
    assert [t["function"]["name"] for t in request["tools"]] == ["end_call"]
    assert brain.last_usage["total_tokens"] > 0 and brain.last_ttfb_ms is not None

    await collect(brain.respond(Dtmf("5")))
    roles = [(m["role"], m["content"]) for m in openai_fake.requests[1]["messages"][1:]]
    assert roles == [("assistant", "Hi, this is Sam."), ("user", "When do you open?"),
                     ("assistant", "We open at nine. Anything else?"),
                     ("user", "[The caller pressed 5 on the keypad.]")]
    await brain.close()


async def test_only_the_heard_part_of_an_interrupted_reply_stays_in_context(openai_fake):
    openai_fake.replies.extend([ScriptedReply(text="We open at nine. On Sundays we open at ten."),
                                ScriptedReply(text="Sure.")])
    brain = brain_for(openai_fake)
    full = text_of(await collect(brain.respond(UserTurn("Hours?"))))
    brain.heard(full, "We open at nine.", interrupted=True)
    await collect(brain.respond(UserTurn("Wait, what about Sunday?")))

    assistant = [m for m in openai_fake.requests[1]["messages"] if m["role"] == "assistant"]
    assert assistant[-1]["content"] == f"We open at nine. … {INTERRUPTED}"
    await brain.close()


async def test_fragmented_tool_calls_without_index_are_assembled(openai_fake):
    secret = "s3cret"
    async with FakeToolServer(secret=secret, result={"status": "shipped"}) as tools:
        openai_fake.replies.extend([
            ScriptedReply(tool_calls=[("order_status", {"order_id": "A-1042", "note": "x" * 40})], omit_index=True),
            ScriptedReply(text="It has shipped."),
        ])
        brain = brain_for(openai_fake, tools=[_tool(tools, secret)])
        outputs = await collect(brain.respond(UserTurn("Where is my order?")))

    assert text_of(outputs) == "It has shipped."
    assert tools.calls == [({"order_id": "A-1042", "note": "x" * 40}, True)]
    await brain.close()


async def test_an_http_tool_call_is_signed_and_its_result_goes_back_to_the_model(openai_fake):
    secret = "s3cret"
    async with FakeToolServer(secret=secret, result={"status": "shipped", "eta": "Friday"}) as tools:
        openai_fake.replies.extend([
            ScriptedReply(text="Let me look. ", tool_calls=[("order_status", {"order_id": "A-1042"})]),
            ScriptedReply(text="It ships Friday."),
        ])
        brain = brain_for(openai_fake, tools=[_tool(tools, secret)])
        outputs = await collect(brain.respond(UserTurn("Where is my order?")))

    assert text_of(outputs) == "Let me look. It ships Friday."
    assert tools.calls == [({"order_id": "A-1042"}, True)]  # the fake verified X-Voicebot-Signature
    second = openai_fake.requests[1]
    assert [t["function"]["name"] for t in second["tools"]] == ["end_call", "order_status"]
    call_message, tool_message = second["messages"][-2:]
    assert call_message["tool_calls"][0]["function"] == {"name": "order_status",
                                                         "arguments": json.dumps({"order_id": "A-1042"})}
    assert tool_message == {"role": "tool", "tool_call_id": call_message["tool_calls"][0]["id"],
                            "content": '{"status":"shipped","eta":"Friday"}'}
    await brain.close()


async def test_a_slow_tool_gets_a_filler_line_while_it_runs(openai_fake):
    secret = "s3cret"
    async with FakeToolServer(secret=secret, delay_s=0.5) as tools:
        openai_fake.replies.extend([ScriptedReply(tool_calls=[("order_status", {"order_id": "1"})]),
                                    ScriptedReply(text="Done.")])
        brain = brain_for(openai_fake, tools=[_tool(tools, secret)], filler_after_s=0.2)
        outputs = await collect(brain.respond(UserTurn("Check it")))

    assert [o.text for o in outputs if isinstance(o, TextDelta)] == [FILLER, "Done."]
    await brain.close()


async def test_a_failing_tool_is_reported_to_the_model_not_raised(openai_fake):
    openai_fake.replies.extend([ScriptedReply(tool_calls=[("order_status", {"order_id": "1"})]),
                                ScriptedReply(text="Sorry, I can't check that now.")])
    tool = {"name": "order_status", "description": "", "url": "http://127.0.0.1:9/none", "secret": "x"}
    brain = brain_for(openai_fake, tools=[tool])
    outputs = await collect(brain.respond(UserTurn("Check it")))

    assert text_of(outputs) == "Sorry, I can't check that now."
    assert "could not be reached" in openai_fake.requests[1]["messages"][-1]["content"]
    await brain.close()


async def test_end_call_and_transfer_become_actions(openai_fake):
    openai_fake.replies.extend([
        ScriptedReply(tool_calls=[("transfer_call", {"destination": "billing", "summary": "refund"})]),
        ScriptedReply(text="Goodbye now.", tool_calls=[("end_call", {"reason": "done"})]),
    ])
    brain = brain_for(openai_fake, transfer_targets={"billing": "+15550001111"})
    transfer = await collect(brain.respond(UserTurn("Billing please")))
    ending = await collect(brain.respond(UserTurn("Bye")))

    assert transfer[-1] == Transfer("+15550001111", "refund") and text_of(transfer) == "Let me transfer you now. "
    assert ending[-1] == EndCall("done") and text_of(ending) == "Goodbye now."
    assert len(openai_fake.requests) == 2  # no model turn after an action
    assert "enum" in json.dumps(openai_fake.requests[0]["tools"][1])
    await brain.close()


async def test_cancelling_the_reply_closes_the_http_stream(openai_fake):
    openai_fake.replies.append(ScriptedReply(text="word " * 200, chunk_delay_s=0.02))
    brain = brain_for(openai_fake)
    first = asyncio.Event()

    async def consume():
        async for _ in brain.respond(UserTurn("Talk")):
            first.set()

    task = asyncio.ensure_future(consume())
    await asyncio.wait_for(first.wait(), 2)
    task.cancel()  # what the session does on barge-in
    await asyncio.wait_for(openai_fake.disconnected.wait(), 2)
    assert openai_fake.streams[0].outcome == "client-disconnected"
    assert openai_fake.streams[0].chunks_sent < 50
    await brain.close()


@pytest.mark.parametrize(
    ("reply", "permanent"),
    [
        (ScriptedReply(status=500), False),
        (ScriptedReply(status=429), False),
        (ScriptedReply(headers_delay_s=1.0), False),  # slow first byte
        (ScriptedReply(first_token_delay_s=1.0), False),  # headers at once, then nothing
        (ScriptedReply(text="a b c d e f", drop_after_chunks=3), False),  # connection dies mid-stream
        (ScriptedReply(text="a b c d e f", malformed_after_chunks=2), False),
    ],
    ids=["http-500", "http-429", "slow-first-byte", "slow-first-token", "dropped", "malformed"],
)
async def test_failures_become_provider_errors_quickly(openai_fake, reply, permanent):
    openai_fake.replies.append(reply)
    brain = brain_for(openai_fake, first_token_timeout_s=0.3)
    began = time.monotonic()
    with pytest.raises(ProviderError) as caught:
        await collect(brain.respond(UserTurn("Hello")))
    assert caught.value.provider == "openai" and caught.value.permanent is permanent
    assert time.monotonic() - began < 0.8
    assert len(openai_fake.requests) == 1  # no retries
    await brain.close()


async def test_a_wrong_or_missing_key_is_permanent(openai_fake, settings):
    settings.OPENAI_API_KEY = "wrong"
    brain = brain_for(openai_fake)
    with pytest.raises(ProviderError) as caught:
        await collect(brain.respond(UserTurn("Hello")))
    assert caught.value.permanent
    await brain.close()

    settings.OPENAI_API_KEY = ""
    with pytest.raises(ProviderError) as caught:
        await collect(brain_for(openai_fake).respond(UserTurn("Hello")))
    assert caught.value.permanent


async def test_for_agent_reads_the_agent_and_resumes_its_state(openai_fake):
    # An agent configured before the prompt-first fields: its provider_options["llm"] still count.
    agent = Agent(greeting="Hello!", max_reprompts=2,
                  provider_options={"llm": {"model": "gpt-agent", "system_prompt": "You are Sam."}})
    state = BrainState(node="llm", variables={"messages": [{"role": "user", "content": "earlier"}]})
    brain = OpenAIBrain.for_agent(agent, state)
    await collect(brain.respond(UserTurn("again")))
    request = openai_fake.requests[0]
    assert request["model"] == "gpt-agent" and request["messages"][0]["content"].startswith("You are Sam.")
    assert [m["content"] for m in request["messages"][1:]] == ["earlier", "again"]
    assert brain.state is state
    await brain.close()


def _tool(server: FakeToolServer, secret: str) -> dict:
    return {
        "name": "order_status",
        "description": "Look up an order",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}},
        "url": server.endpoint,
        "secret": secret,
        "timeout_s": 2,
    }


async def test_a_failed_transfer_is_said_at_once_and_the_model_sees_it_in_the_tool_result(openai_fake):
    openai_fake.replies.extend([
        ScriptedReply(text="Connecting you. ", tool_calls=[("transfer_call", {"destination": "billing",
                                                                              "summary": "refund"})]),
        ScriptedReply(text="What else can I do?"),
    ])
    brain = brain_for(openai_fake, transfer_targets={"billing": "+15550001111"})
    transfer = await collect(brain.respond(UserTurn("Billing please")))
    line = "I'm sorry, I couldn't connect you right now."
    apology = await collect(brain.respond(ActionFailed(transfer[-1], "HTTP 503", line)))
    assert apology == [TextDelta(line + " ")] and len(openai_fake.requests) == 1  # no request for it
    await collect(brain.respond(UserTurn("Okay")))

    messages = openai_fake.requests[1]["messages"]
    result = next(m for m in messages if m["role"] == "tool")
    assert json.loads(result["content"])["error"] == "transfer_call failed: HTTP 503"
    assert [m["content"] for m in messages[-2:]] == [line + " ", "Okay"]
    await brain.close()


async def test_a_slow_tool_tells_the_stall_guard_how_long_it_may_take(openai_fake):
    secret = "s3cret"
    async with FakeToolServer(secret=secret, delay_s=0.3) as tools:
        openai_fake.replies.extend([ScriptedReply(tool_calls=[("order_status", {"order_id": "1"})]),
                                    ScriptedReply(text="Done.")])
        brain = brain_for(openai_fake, tools=[{**_tool(tools, secret), "timeout_s": 2.0}], filler_after_s=0.1)
        outputs = await collect(brain.respond(UserTurn("Where is it?")))
    kinds = [o.grace_s if isinstance(o, StillWorking) else (o.name, o.arguments) if isinstance(o, ToolUsed)
             else o.text for o in outputs]
    # Before the wait, again after the filler (an output), and back to the usual budget once the tool answered;
    # then the call itself, for the call's record (CallEvent tool_call).
    assert kinds == [3.0, FILLER, 3.0, 0.0, ("order_status", {"order_id": "1"}), "Done."]
    await brain.close()

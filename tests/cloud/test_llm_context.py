"""The LLM brain's pure parts: tool-call assembly, context editing, summaries, tool signing."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace as NS

from calls.providers.llm.conversation import INTERRUPTED, NOT_RUN, Conversation
from calls.providers.llm.tool_calls import ToolCall, ToolCallAssembler
from calls.providers.llm.tools import sign, verify_signature


def fragment(index=None, id=None, name=None, arguments=None):
    return NS(index=index, id=id, function=NS(name=name, arguments=arguments))


def test_interleaved_fragments_are_joined_by_index():
    assembler = ToolCallAssembler()
    for f in [fragment(0, "a", "lookup", ""), fragment(1, "b", "weather", '{"ci'), fragment(0, None, None, '{"id":'),
              fragment(1, None, None, 'ty":"Oslo"}'), fragment(0, None, None, " 7}")]:
        assembler.add(f)
    calls = assembler.calls()
    assert [(c.id, c.name, c.parsed_arguments()) for c in calls] == [
        ("a", "lookup", {"id": 7}), ("b", "weather", {"city": "Oslo"})]


def test_fragments_without_index_continue_the_last_call_until_a_new_id():
    assembler = ToolCallAssembler()
    for f in [fragment(id="a", name="one", arguments='{"x"'), fragment(arguments=": 1}"),
              fragment(id="b", name="two", arguments="{}")]:
        assembler.add(f)
    assert [(c.name, c.parsed_arguments()) for c in assembler.calls()] == [("one", {"x": 1}), ("two", {})]


def test_a_reply_cut_after_a_tool_round_keeps_the_call_and_drops_the_unheard_text():
    convo = Conversation("sys")
    convo.add_user("Where is my order?")
    reply = convo.start_reply()
    first = reply.open_message()
    reply.add_text(first, "Let me look.")
    reply.add_tool_calls(first, [ToolCall("c1", "order_status", "{}")])
    reply.add_tool_result(ToolCall("c1", "order_status"), '{"eta": "Friday"}')
    reply.add_filler("One moment while I check that. ")
    second = reply.open_message()
    reply.add_text(second, "It ships on Friday, and tracking is in your email.")

    convo.heard("…", "Let me look. One moment while I check that. It ships", interrupted=True)

    messages = convo.request_messages()[1:]
    assert messages[1]["content"] == "Let me look." and messages[1]["tool_calls"]
    assert messages[2]["role"] == "tool"
    assert messages[3] == {"role": "assistant", "content": f"It ships … {INTERRUPTED}"}


def test_a_cancelled_tool_round_is_repaired_before_the_next_request():
    convo = Conversation("sys")
    convo.add_user("Check it")
    reply = convo.start_reply()
    message = reply.open_message()
    reply.add_tool_calls(message, [ToolCall("c1", "order_status", "{}")])
    reply.open_message()  # the next round was opened, then the caller barged in
    convo.add_user("Never mind")

    messages = convo.request_messages()[1:]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "user"]
    assert messages[1]["content"] is None and messages[2] == {"role": "tool", "tool_call_id": "c1", "content": NOT_RUN}


def test_old_turns_are_folded_into_an_extractive_summary():
    convo = Conversation("sys", budget_chars=400)
    for i in range(10):
        convo.add_user(f"Question {i}? With some detail to take up room.")
        reply = convo.start_reply()
        reply.add_text(reply.open_message(), f"Answer {i}. More words follow here to fill space.")
    convo.compact()

    assert sum(len(m["content"]) for m in convo.messages) <= 200
    assert convo.messages[0]["role"] == "user"  # cut on a turn boundary
    assert convo.summary.startswith("Caller: Question 0? Agent: Answer 0.")
    assert "Earlier in this call (summary): Caller: Question 0?" in convo.request_messages()[0]["content"]


def test_signatures_cover_the_timestamp_and_the_body():
    body = json.dumps({"order_id": "A-1"}).encode()
    now = str(int(time.time()))
    signature = sign("secret", now, body)
    assert signature.startswith("sha256=") and verify_signature("secret", now, body, signature)
    assert not verify_signature("secret", str(int(now) + 1), body, signature)  # timestamp is in the MAC
    assert not verify_signature("other", now, body, signature)
    old = str(int(time.time()) - 3600)
    assert not verify_signature("secret", old, body, sign("secret", old, body))  # replay window

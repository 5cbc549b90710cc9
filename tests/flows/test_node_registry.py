"""The node registry: the engine runs whatever node types are registered by name, and every built-in type is."""

from __future__ import annotations

import pytest

from calls.flows.effects import CallTool, ToolResult
from calls.flows.engine import FlowEngine
from calls.flows.nodes import HANDLERS, register
from calls.flows.schema import NODE_TYPES, NodeType
from calls.flows.types import NodeHandlers

from .conftest import context, said


def test_every_node_type_of_the_schema_has_registered_handlers():
    assert set(HANDLERS) == set(NODE_TYPES)
    assert all(handlers.type == name for name, handlers in HANDLERS.items())


@pytest.fixture
def echo_type(monkeypatch):
    """A node type of the test's own: says a prompt, repeats the caller with a prefix, looks a word up through a
    tool effect on '#', re-prompts on silence."""

    def enter(engine, node_id, node, out):
        engine.speak(node["prompt"], out, node)
        return None

    def on_input(engine, node_id, node, heard):
        out: list = []
        if heard.dtmf == "#":
            engine.request(CallTool(node_id, "lookup", {"word": engine.last_text}), out)
        else:
            engine.speak(f"{node['prefix']} {heard.text or heard.dtmf}.", out, node)
        return out

    def reprompt(engine, node_id, node, *, silence):
        out: list = []
        engine.speak(f"Still there? {node['prompt']}", out, node)
        return out

    def looked_up(engine, node_id, node, effect, result, out):
        engine.variables["meaning"] = result.value
        engine.goto(node["next"], out)

    monkeypatch.setitem(NODE_TYPES, "echo", NodeType(required={"prompt": str, "prefix": str, "next": str},
                                                    node_refs=("next",), waits=True))
    handlers = register(NodeHandlers("echo", enter, on_input=on_input, reprompt=reprompt,
                                     resume={CallTool: looked_up}))
    yield handlers
    del HANDLERS["echo"]


def test_a_registered_node_type_is_dispatched_to(echo_type):
    assert HANDLERS["echo"] is echo_type
    flow = {"start": "hi", "nodes": {
        "hi": {"type": "say", "text": "Hello.", "next": "parrot"},
        "parrot": {"type": "echo", "prompt": "Say a word.", "prefix": "You said", "next": "bye"},
        "bye": {"type": "end", "text": "It means {meaning}. Bye."}}}  # fmt: skip
    engine = FlowEngine(flow, context=context())
    assert said(engine.start()) == "Hello. Say a word."
    assert said(engine.on_text("banana")) == "You said banana."
    assert said(engine.on_dtmf("5")) == "You said 5."
    assert said(engine.on_silence(0, 2)) == "Still there? Say a word."
    actions = engine.on_dtmf("#")
    assert actions == [CallTool("parrot", "lookup", {"word": "banana"})] and engine.pending is not None
    assert said(engine.resume(ToolResult(ok=True, value="a fruit"))) == "It means a fruit. Bye."
    assert engine.finished

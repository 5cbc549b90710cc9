"""`handover`: the same call continues with another agent of the workspace, which keeps the conversation.

The engine only asks for it (`Handover` effect); `FlowBrain` loads the other agent and delegates to its brain.
"""

from __future__ import annotations

from ..effects import Handover
from ..types import Action, Engine, NodeHandlers
from .registry import register


TYPE = "handover"
# Said when the other agent cannot take the call and the node names no `on_error`: the call goes on here (a failed
# action never ends in a hang-up or dead air), as after a failed transfer.
FAILED_LINE = "I'm sorry, I couldn't connect you right now — can I help with something else?"


def enter(engine: Engine, node_id: str, node: dict, out: list[Action]) -> str | None:
    engine.speak(node.get("text"), out, node)
    summary = engine.fill(node["summary"]) if node.get("summary") else engine.default_summary()
    engine.request(Handover(node_id, node["agent"].strip(), summary), out)
    return None


def _resume(engine: Engine, node_id: str, node: dict, effect: Handover, ok: object, out: list[Action]) -> None:
    if ok is True:
        return  # the other agent has the call: this flow is finished
    if node.get("on_error"):
        engine.goto(node["on_error"], out)
    else:
        out.extend(engine.on_action_failed(FAILED_LINE))


RESUME = {Handover: _resume}

register(NodeHandlers(TYPE, enter, resume=RESUME))

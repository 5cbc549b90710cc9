"""`say`: speak a line and move straight on to `next`."""

from __future__ import annotations

from ..types import Action, Engine, NodeHandlers
from .registry import register

TYPE = "say"


def enter(engine: Engine, node_id: str, node: dict, out: list[Action]) -> str | None:
    engine.speak(node["text"], out, node)
    return node["next"]


register(NodeHandlers(TYPE, enter))

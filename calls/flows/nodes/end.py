"""`end`: say goodbye (optionally) and hang up."""

from __future__ import annotations

from calls.providers.base import EndCall

from ..types import Action, Engine, NodeHandlers
from .registry import register

TYPE = "end"


def enter(engine: Engine, node_id: str, node: dict, out: list[Action]) -> str | None:
    engine.speak(node.get("text"), out, node)
    out.append(EndCall(reason=node.get("reason") or "completed"))
    return None


register(NodeHandlers(TYPE, enter))

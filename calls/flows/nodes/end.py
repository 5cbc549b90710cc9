"""`end`: say goodbye (optionally) and hang up."""

from __future__ import annotations

from calls.providers.base import EndCall

from ..types import Action, Engine, NodeHandlers
from .registry import register

TYPE = "end"


def enter(engine: Engine, node_id: str, node: dict, out: list[Action]) -> str | None:
    # The goodbye plays to its end unless the flow says otherwise: nothing said over it can be answered (the call
    # ends with it), so a caller's own "goodbye" over it would only cut it short. What they say is still stored.
    engine.speak(node.get("text"), out, {**node, "uninterruptible": node.get("uninterruptible", True)})
    out.append(EndCall(reason=node.get("reason") or "completed"))
    return None


register(NodeHandlers(TYPE, enter))

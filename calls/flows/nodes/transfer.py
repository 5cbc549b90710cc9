"""`transfer`: say a line, then hand the call to a person (cold, or warm with a spoken summary)."""

from __future__ import annotations

from calls.providers.base import DetailedTransfer, Transfer, TransferOptions, is_sip

from ..types import Action, Engine, NodeHandlers
from .registry import register


TYPE = "transfer"


def slots(variables: dict) -> dict[str, str]:
    """The caller's answers so far, as said back (not bookkeeping, not tool results, not the intent)."""
    return {
        k: str(v) for k, v in variables.items()
        if not k.startswith("_") and not k.endswith("_value") and k != "intent"
        and v not in ("", None) and not isinstance(v, dict | list)
    }  # fmt: skip


def enter(engine: Engine, node_id: str, node: dict, out: list[Action]) -> str | None:
    engine.speak(node.get("text"), out, node)
    target = node["target"].strip()
    summary = engine.fill(node["summary"]) if node.get("summary") else engine.default_summary()
    mode = node.get("mode", "cold")
    headers = {name: engine.fill(value) for name, value in node.get("headers", {}).items()}
    if mode == "cold" and not headers and not is_sip(target):
        # Nothing more than the base action can carry: a plain Transfer (any CallControl understands it).
        out.append(Transfer(target=target, summary=summary))
        return None
    options = TransferOptions(
        mode=mode, intent=str(engine.variables.get("intent", "")), slots=slots(engine.variables), headers=headers
    )
    out.append(DetailedTransfer(target=target, summary=summary, options=options))
    return None


register(NodeHandlers(TYPE, enter))

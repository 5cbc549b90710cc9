"""`tool`: call one of the agent's HTTP tools with arguments built from variables; store the reply; branch on it."""

from __future__ import annotations

import re

from ..conditions import first_true
from ..effects import CallTool, ToolResult
from ..types import Action, Engine, NodeHandlers
from .registry import register


TYPE = "tool"
_WHOLE_VARIABLE = re.compile(r"^\{([A-Za-z_]\w*)\}$")


def enter(engine: Engine, node_id: str, node: dict, out: list[Action]) -> str | None:
    engine.speak(node.get("text"), out, node)
    engine.request(CallTool(node_id, node["tool"], _arguments(engine, node.get("args", {}))), out)
    return None


def _arguments(engine: Engine, value: object) -> object:
    """Templates filled from the variables. A string that is exactly one placeholder passes the variable itself,
    so numbers and booleans keep their JSON type ("{party_value}" -> 4, not "4")."""
    if isinstance(value, str):
        whole = _WHOLE_VARIABLE.match(value.strip())
        return engine.variables.get(whole.group(1)) if whole else engine.fill(value)
    if isinstance(value, dict):
        return {k: _arguments(engine, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_arguments(engine, v) for v in value]
    return value


def _resume(engine: Engine, node_id: str, node: dict, effect: CallTool, result: object, out: list[Action]) -> None:
    if not isinstance(result, ToolResult):
        result = ToolResult(ok=False, value={"error": "no result"})
    engine.variables[node.get("result", "result")] = result.value
    if not result.ok:
        engine.goto(node["on_error"], out)
        return
    engine.goto(first_true(node.get("when"), engine.variables) or node["on_success"], out)


RESUME = {CallTool: _resume}

register(NodeHandlers(TYPE, enter, resume=RESUME))

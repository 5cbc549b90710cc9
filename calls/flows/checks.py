"""Checks shared by several node types (routes, conditions) and each node type's own checks.

Every message names the node (or ``flow``) and the field, e.g. ``node 'ask_day': 'kind' 'weekday' is unknown``.
Checks that depend on the agent (is an LLM configured, which HTTP tools exist, which agents can take a
hand-over) run only when `validate_flow` is given `Capabilities`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..text import normalize
from .errors import DTMF_KEYS, IDENTIFIER, FlowError
from .slots import KINDS

__all__ = ["Capabilities", "check_routes", "check_when", "CONDITION_OPS", "NODE_CHECKS", "check_capabilities"]

ROUTE_FIELDS = frozenset({"intent", "keywords", "examples", "description", "dtmf", "capture", "next"})
CONDITION_OPS = ("equals", "not_equals", "in", "gt", "gte", "lt", "lte", "exists", "contains")
_PHONE = re.compile(r"^\+?[0-9]{2,15}$")
_SIP = re.compile(r"^sips?:[^@\s]+@[^@\s]+$")
_HEADER_NAME = re.compile(r"^[xX]-[A-Za-z0-9-]{1,60}$")


@dataclass(frozen=True)
class Capabilities:
    """What the agent running a flow can do. `agents=None`: hand-over targets are not checked (unknown here)."""

    has_llm: bool = False
    tools: frozenset[str] = frozenset()
    agents: frozenset[str] | None = None


# ---------------------------------------------------------------- routes and conditions


def check_routes(where: str, routes: object, nodes: dict, *, field_name: str, label: str = "route") -> None:
    if not isinstance(routes, list):
        raise FlowError(f"{where}: {field_name!r} must be a list")
    seen_dtmf: dict[str, int] = {}
    for i, route in enumerate(routes, start=1):
        at = f"{where}: {label} {i}"
        if not isinstance(route, dict):
            raise FlowError(f"{at} must be an object")
        for key in route:
            if key not in ROUTE_FIELDS and not str(key).startswith("_"):
                raise FlowError(f"{at} has unknown field {key!r}")
        _check_target(at, route, nodes)
        if "intent" in route and (not isinstance(route["intent"], str) or not route["intent"].strip()):
            raise FlowError(f"{at} 'intent' must be a non-empty string")
        if "description" in route and not isinstance(route["description"], str):
            raise FlowError(f"{at} 'description' must be a string")
        for name in ("keywords", "examples"):
            words = route.get(name)
            if words is None:
                continue
            if not isinstance(words, list) or not words:
                raise FlowError(f"{at} {name!r} must be a non-empty list of strings")
            singular = name[:-1]
            for k, word in enumerate(words, start=1):
                if not isinstance(word, str):
                    raise FlowError(f"{at} {singular} {k} must be a string")
                if not normalize(word):
                    raise FlowError(f"{at} {singular} {k} ({word!r}) has no words in it")
        dtmf = route.get("dtmf")
        if dtmf is not None:
            if not isinstance(dtmf, str) or dtmf not in DTMF_KEYS:
                raise FlowError(f"{at} 'dtmf' must be one key of 0-9, * or # (got {dtmf!r})")
            if dtmf in seen_dtmf:
                raise FlowError(f"{at} 'dtmf' {dtmf!r} is already used by {label} {seen_dtmf[dtmf]}")
            seen_dtmf[dtmf] = i
        if route.get("keywords") is None and dtmf is None and route.get("examples") is None:
            raise FlowError(f"{at} needs 'keywords' or 'dtmf' (or 'examples')")
        capture = route.get("capture")
        if capture is not None:
            if not isinstance(capture, str) or not IDENTIFIER.match(capture):
                raise FlowError(f"{at} 'capture' must be a variable name (letters, digits, _)")
            if route.get("keywords") is None:
                raise FlowError(f"{at} 'capture' needs 'keywords'")


def _check_target(at: str, item: dict, nodes: dict) -> None:
    target = item.get("next")
    if target is None:
        raise FlowError(f"{at} 'next' is missing")
    if not isinstance(target, str):
        raise FlowError(f"{at} 'next' must be a string")
    if target not in nodes:
        raise FlowError(f"{at} 'next' points to unknown node {target!r}")


def check_when(where: str, when: object, nodes: dict) -> None:
    """``"when": [{"var": "booking.status", "equals": "full", "next": "no_room"}, ...]`` — checked in order, the
    first true condition wins. `var` may be a dotted path into an object (a tool's JSON result)."""
    if not isinstance(when, list):
        raise FlowError(f"{where}: 'when' must be a list")
    for i, cond in enumerate(when, start=1):
        at = f"{where}: condition {i}"
        if not isinstance(cond, dict):
            raise FlowError(f"{at} must be an object")
        for key in cond:
            if key not in ("var", "next", *CONDITION_OPS) and not str(key).startswith("_"):
                raise FlowError(f"{at} has unknown field {key!r}")
        var = cond.get("var")
        if not isinstance(var, str) or not all(IDENTIFIER.match(p) or p.isdigit() for p in var.split(".")):
            raise FlowError(f"{at} 'var' must be a variable name or dotted path (e.g. 'result.status')")
        ops = [op for op in CONDITION_OPS if op in cond]
        if len(ops) != 1:
            raise FlowError(f"{at} needs exactly one of {', '.join(repr(o) for o in CONDITION_OPS)}")
        op, value = ops[0], cond[ops[0]]
        if op == "in" and not isinstance(value, list):
            raise FlowError(f"{at} 'in' must be a list")
        if op in ("gt", "gte", "lt", "lte") and (isinstance(value, bool) or not isinstance(value, int | float | str)):
            raise FlowError(f"{at} {op!r} must be a number or a string")
        if op == "exists" and not isinstance(value, bool):
            raise FlowError(f"{at} 'exists' must be true or false")
        _check_target(at, cond, nodes)


# ---------------------------------------------------------------- node types


def _check_ask(node_id: str, node: dict, flow: dict) -> None:
    check_routes(f"node {node_id!r}", node.get("routes", []), flow["nodes"], field_name="routes")


def _check_collect(node_id: str, node: dict, flow: dict) -> None:
    where = f"node {node_id!r}"
    if not IDENTIFIER.match(node["slot"]):
        raise FlowError(f"{where}: 'slot' must be a variable name (letters, digits, _)")
    kind = KINDS.get(node["kind"])
    if kind is None:
        raise FlowError(f"{where}: 'kind' {node['kind']!r} is unknown (known: {', '.join(sorted(KINDS))})")
    allowed = kind.options or {}
    for name in _SLOT_OPTIONS:
        if name not in node:
            continue
        if name not in allowed:
            raise FlowError(f"{where}: {name!r} does not apply to {node['kind']!r} slots")
        expected, value = allowed[name], node[name]
        if isinstance(value, bool) != (expected is bool) or not isinstance(value, expected):
            names = {str: "a string", int: "a number", bool: "true or false", list: "a list"}
            raise FlowError(f"{where}: {name!r} must be {names[expected]} for {node['kind']!r} slots")
    if node["kind"] == "time":
        for name in ("min", "max"):
            if name in node and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", node[name]):
                raise FlowError(f"{where}: {name!r} must be a time as HH:MM (e.g. '08:00')")
    if node["kind"] == "date" and "weekdays" in node:
        from .slots.dates import WEEKDAYS

        for day in node["weekdays"]:
            if not isinstance(day, str) or day.lower() not in WEEKDAYS:
                raise FlowError(f"{where}: 'weekdays' must list weekday names (got {day!r})")
    choices = node.get("dtmf_choices", {})
    for key, value in choices.items():
        if key not in DTMF_KEYS or not isinstance(value, str) or not value.strip():
            raise FlowError(f"{where}: 'dtmf_choices' maps one key (0-9, * or #) to what it means, e.g. "
                            f"{{'1': 'tomorrow'}} (got {key!r}: {value!r})")
    if "max_attempts" in node and node["max_attempts"] < 1:
        raise FlowError(f"{where}: 'max_attempts' must be at least 1")
    check_routes(where, node.get("routes", []), flow["nodes"], field_name="routes")
    check_when(where, node.get("when", []), flow["nodes"])


def _check_llm(node_id: str, node: dict, flow: dict) -> None:
    where = f"node {node_id!r}"
    if not node["prompt"].strip():
        raise FlowError(f"{where}: 'prompt' must not be empty")
    for i, name in enumerate(node.get("tools", []), start=1):
        if not isinstance(name, str) or not name:
            raise FlowError(f"{where}: tool {i} must be a tool name")
    if "max_turns" in node and node["max_turns"] < 1:
        raise FlowError(f"{where}: 'max_turns' must be at least 1")
    check_routes(where, node.get("routes", []), flow["nodes"], field_name="routes")
    for i, route in enumerate(node.get("routes", []), start=1):
        if "intent" not in route:
            raise FlowError(f"{where}: route {i} needs an 'intent' (the LLM chooses routes by intent)")


def _check_tool(node_id: str, node: dict, flow: dict) -> None:
    where = f"node {node_id!r}"
    if not node["tool"].strip():
        raise FlowError(f"{where}: 'tool' must not be empty")
    if "result" in node and not IDENTIFIER.match(node["result"]):
        raise FlowError(f"{where}: 'result' must be a variable name (letters, digits, _)")
    check_when(where, node.get("when", []), flow["nodes"])


def _check_answer(node_id: str, node: dict, flow: dict) -> None:
    if "k" in node and not 1 <= node["k"] <= 10:
        raise FlowError(f"node {node_id!r}: 'k' must be between 1 and 10")


def _check_transfer(node_id: str, node: dict, flow: dict) -> None:
    where = f"node {node_id!r}"
    target = node["target"].strip()
    if not target:
        raise FlowError(f"{where}: 'target' must not be empty")
    if not (_PHONE.match(re.sub(r"[\s().-]", "", target)) or _SIP.match(target)):
        raise FlowError(f"{where}: 'target' must be a phone number (+15551234567) or a SIP URI (sip:desk@pbx.example)")
    if node.get("mode", "cold") not in ("cold", "warm"):
        raise FlowError(f"{where}: 'mode' must be 'cold' or 'warm'")
    for name, value in node.get("headers", {}).items():
        # The carriers' rules (calls.carriers.transfer enforces them again on the way out).
        if not _HEADER_NAME.match(name) or name.lower().startswith("x-twilio"):
            raise FlowError(f"{where}: header {name!r} must start with 'x-' (letters, digits, '-'), never 'X-Twilio'")
        if not isinstance(value, str):
            raise FlowError(f"{where}: header {name!r} must be a string")


def _check_handover(node_id: str, node: dict, flow: dict) -> None:
    if not node["agent"].strip():
        raise FlowError(f"node {node_id!r}: 'agent' must not be empty")


# Fields that tune one slot kind; which kinds accept which is in `slots.KINDS[kind].options`.
_SLOT_OPTIONS = ("min", "max", "min_days_ahead", "max_days_ahead", "weekdays", "min_digits", "max_digits",
                 "assume_daytime")  # fmt: skip

NODE_CHECKS = {
    "ask": _check_ask,
    "collect": _check_collect,
    "llm": _check_llm,
    "tool": _check_tool,
    "answer": _check_answer,
    "transfer": _check_transfer,
    "handover": _check_handover,
}


def check_capabilities(flow: dict, caps: Capabilities) -> None:
    """What the flow needs from its agent: an LLM for `llm` nodes (unless they have a `fallback`), the HTTP tools
    named by `tool` and `llm` nodes, the agents named by `handover` nodes."""
    for node_id, node in flow["nodes"].items():
        where = f"node {node_id!r}"
        kind = node["type"]
        if kind == "llm":
            if not caps.has_llm and not node.get("fallback"):
                raise FlowError(f"{where}: 'llm' nodes need an LLM (set the agent's LLM options) or a 'fallback' node")
            for name in node.get("tools", []):
                if name not in caps.tools and name != "search_knowledge":
                    raise FlowError(f"{where}: 'tools' names {name!r}, which is not one of the agent's tools")
        elif kind == "tool" and node["tool"] not in caps.tools:
            known = ", ".join(sorted(caps.tools)) or "none configured"
            raise FlowError(f"{where}: 'tool' {node['tool']!r} is not one of the agent's tools ({known})")
        elif kind == "handover" and caps.agents is not None and node["agent"] not in caps.agents:
            raise FlowError(f"{where}: 'agent' {node['agent']!r} is not an agent of this workspace")

"""`collect`: fill one slot — by voice or keypad — check it, optionally confirm it, then move on.

Bookkeeping lives in underscore variables (persisted with the state, never spoken): `_digits` (keys pressed so
far), `_attempts` (invalid answers in a row), `_confirming` (the node whose value awaits a yes).
"""

from __future__ import annotations

from ..conditions import first_true
from ..slots import KINDS, NO_KEY, YES_KEY, OutOfRange, SlotKind, SlotValue, parse_yes_no
from ..types import Action, Engine, Heard, NodeHandlers
from .registry import register


TYPE = "collect"
DIGITS, ATTEMPTS, CONFIRMING = "_digits", "_attempts", "_confirming"
_YES_NO_KEYS = {YES_KEY: "yes", NO_KEY: "no"}


def enter(engine: Engine, node_id: str, node: dict, out: list[Action]) -> str | None:
    variables = engine.variables
    variables.pop(CONFIRMING, None)
    variables[DIGITS] = ""
    variables[ATTEMPTS] = 0
    engine.speak(node["text"], out, node)
    return None


def on_input(engine: Engine, node_id: str, node: dict, heard: Heard) -> list[Action]:
    out: list[Action] = []
    kind = KINDS[node["kind"]]
    if engine.variables.get(CONFIRMING) == node_id:
        _confirmation(engine, node_id, node, kind, heard, out)
    elif heard.dtmf is not None:
        _key(engine, node_id, node, kind, heard, out)
    elif not (kind.greedy and _escape(engine, node_id, heard, out)):
        _offer(engine, node_id, node, kind, heard.text, heard, out)
    return out


def reprompt(engine: Engine, node_id: str, node: dict, *, silence: bool) -> list[Action]:
    out: list[Action] = []
    if engine.variables.get(CONFIRMING) == node_id:
        engine.speak(node["confirm"], out, node)
    else:
        engine.speak(node.get("reprompt") or node["text"], out, node)
    return out


# ---------------------------------------------------------------- values


def _offer(engine: Engine, node_id: str, node: dict, kind: SlotKind, text: str, heard: Heard,
           out: list[Action]) -> None:
    """`text` should hold the slot's value: accept it, or say why not."""
    value = kind.parse(text, engine.today(), node)
    if value is None:
        if kind.greedy or not _escape(engine, node_id, heard, out):
            _invalid(engine, node_id, node, out, out_of_range=False)
        return
    _check_and_accept(engine, node_id, node, kind, value, out)


def _check_and_accept(engine: Engine, node_id: str, node: dict, kind: SlotKind, value: SlotValue,
                      out: list[Action]) -> None:
    if kind.check is not None:
        try:
            kind.check(value, engine.today(), node)
        except OutOfRange:
            _invalid(engine, node_id, node, out, out_of_range=True)
            return
    variables = engine.variables
    variables[node["slot"]] = value.spoken
    variables[f"{node['slot']}_value"] = value.value
    variables[DIGITS] = ""
    if node.get("confirm"):
        variables[CONFIRMING] = node_id
        engine.speak(node["confirm"], out, node)
        return
    _leave(engine, node, out)


def _leave(engine: Engine, node: dict, out: list[Action]) -> None:
    variables = engine.variables
    variables.pop(CONFIRMING, None)
    variables[ATTEMPTS] = 0
    engine.goto(first_true(node.get("when"), variables) or node["next"], out)


def _invalid(engine: Engine, node_id: str, node: dict, out: list[Action], *, out_of_range: bool) -> None:
    variables = engine.variables
    variables[ATTEMPTS] = variables.get(ATTEMPTS, 0) + 1
    limit = node.get("max_attempts")
    if limit and variables[ATTEMPTS] >= limit and node.get("on_fail"):
        variables[ATTEMPTS] = 0
        engine.goto(node["on_fail"], out)
        return
    text = (node.get("out_of_range") if out_of_range else None) or node.get("invalid")
    engine.speak(text or f"{engine.flow.default_reprompt} {node['text']}", out, node)


def _escape(engine: Engine, node_id: str, heard: Heard, out: list[Action]) -> bool:
    """The flow's global routes and the node's own routes (keywords, keys, examples): ways out of the question."""
    found = engine.match(heard, engine.routes_for(node_id))
    if found is None:
        return False
    engine.variables.pop(CONFIRMING, None)
    engine.take(found[0], found[1], heard, out)
    return True


# ---------------------------------------------------------------- keypad


def _key(engine: Engine, node_id: str, node: dict, kind: SlotKind, heard: Heard, out: list[Action]) -> None:
    key = heard.dtmf or ""
    choices = node.get("dtmf_choices") or (_YES_NO_KEYS if node["kind"] == "yes_no" else None)
    if choices is not None or kind.from_digits is None:
        phrase = (choices or {}).get(key)
        if phrase is None:
            if not _escape(engine, node_id, heard, out):
                _invalid(engine, node_id, node, out, out_of_range=False)
            return
        _offer(engine, node_id, node, kind, phrase, heard, out)
        return
    variables = engine.variables
    if key == "*":
        variables[DIGITS] = ""  # start over, silently: the caller is still typing
        return
    if key != "#":
        variables[DIGITS] = variables.get(DIGITS, "") + key
        limit = node.get("max_digits") or kind.max_keys
        if limit is None or len(variables[DIGITS]) < limit:
            return  # keep collecting: no reply between key presses
    digits, variables[DIGITS] = variables.get(DIGITS, ""), ""
    if not digits:
        if not _escape(engine, node_id, heard, out):
            _invalid(engine, node_id, node, out, out_of_range=False)
        return
    value = kind.from_digits(digits, engine.today(), node)
    if value is None:
        _invalid(engine, node_id, node, out, out_of_range=False)
        return
    _check_and_accept(engine, node_id, node, kind, value, out)


# ---------------------------------------------------------------- confirmation


def _confirmation(engine: Engine, node_id: str, node: dict, kind: SlotKind, heard: Heard,
                  out: list[Action]) -> None:
    if heard.dtmf is not None:
        answer = {YES_KEY: True, NO_KEY: False}.get(heard.dtmf)
        if answer is None and _escape(engine, node_id, heard, out):
            return
    else:
        said = parse_yes_no(heard.text)
        answer = bool(said.value) if said is not None else None
    if answer is True:
        _leave(engine, node, out)
        return
    # "No, Thursday" (or just "Thursday"): a different value replaces the one being confirmed.
    if heard.text and node["kind"] != "yes_no":
        value = kind.parse(heard.text, engine.today(), node)
        if value is not None and value.value != engine.variables.get(f"{node['slot']}_value"):
            _check_and_accept(engine, node_id, node, kind, value, out)
            return
    if answer is False:
        variables = engine.variables
        variables.pop(CONFIRMING, None)
        variables.pop(node["slot"], None)
        variables.pop(f"{node['slot']}_value", None)
        if node.get("on_deny"):
            engine.goto(node["on_deny"], out)
        else:
            engine.speak(node["text"], out, node)
        return
    if heard.dtmf is None and _escape(engine, node_id, heard, out):
        return
    engine.speak(f"{engine.flow.default_reprompt} {node['confirm']}", out, node)


register(NodeHandlers(TYPE, enter, on_input=on_input, reprompt=reprompt))

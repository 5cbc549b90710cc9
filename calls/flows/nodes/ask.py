"""`ask`: ask a question and follow the route the answer matches — keyword, key, example phrase, or (with an
LLM) the intent it picks; otherwise the `fallback` node, or the question again."""

from __future__ import annotations

from ..effects import ChooseRoute
from ..types import Action, Engine, Heard, NodeHandlers
from .registry import register

TYPE = "ask"


def enter(engine: Engine, node_id: str, node: dict, out: list[Action]) -> str | None:
    engine.speak(node["text"], out, node)
    return None  # wait for the caller


def on_input(engine: Engine, node_id: str, node: dict, heard: Heard) -> list[Action]:
    out: list[Action] = []
    found = engine.match(heard, engine.routes_for(node_id))
    if found is not None:
        engine.take(found[0], found[1], heard, out)
        return out
    if engine.ask_llm_to_route(node_id, node, heard, out):
        return out
    return _no_match(engine, node_id, node, out)


def _no_match(engine: Engine, node_id: str, node: dict, out: list[Action]) -> list[Action]:
    if node.get("fallback"):
        engine.goto(node["fallback"], out)
        return out
    out.extend(reprompt(engine, node_id, node, silence=False))
    return out


def _chosen(engine: Engine, node_id: str, node: dict, effect: ChooseRoute, intent: object, out: list[Action]) -> None:
    route = engine.route_by_intent(node_id, intent if isinstance(intent, str) else None)
    if route is not None:
        engine.take(route, effect.text, Heard(text=effect.text), out)
    else:
        _no_match(engine, node_id, node, out)


def reprompt(engine: Engine, node_id: str, node: dict, *, silence: bool) -> list[Action]:
    out: list[Action] = []
    text = node.get("reprompt")
    if not text:
        text = node["text"] if silence else f"{engine.flow.default_reprompt} {node['text']}"
    engine.speak(text, out, node)
    return out


RESUME = {ChooseRoute: _chosen}

register(NodeHandlers(TYPE, enter, on_input=on_input, reprompt=reprompt, resume=RESUME))

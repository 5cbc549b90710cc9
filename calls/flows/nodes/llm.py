"""`llm`: a stretch of conversation handed to the agent's LLM with the node's own prompt and tools.

Routes are still checked first without the LLM (keywords, keys, examples); the LLM may also leave through a
route by choosing its intent. Without an LLM the node is never entered: the engine goes to its `fallback`.
"""

from __future__ import annotations

from calls.providers.base import EndCall

from ..effects import LlmOutcome, LlmTurn
from ..types import Action, Engine, Heard, NodeHandlers
from .registry import register


TYPE = "llm"
TURNS = "_llm_turns"
NO_LLM_LINE = "Sorry, I can't help with that right now. Please call back later. Goodbye!"
SILENT = "[The caller has been silent for a while. Briefly check whether they are still there.]"


def enter(engine: Engine, node_id: str, node: dict, out: list[Action]) -> str | None:
    if not engine.context.has_llm:
        if node.get("fallback"):
            return node["fallback"]
        # Validation against the agent rejects this flow; an engine without that check still ends politely.
        engine.speak(NO_LLM_LINE, out, node)
        out.append(EndCall(reason="no_llm"))
        return None
    engine.variables[TURNS] = 0
    if node.get("text"):
        engine.speak(node["text"], out, node)
        return None
    last = engine.last_text
    if last:
        _ask(engine, node_id, node, last, out)  # answer what the caller just said, without a detour
    return None


def on_input(engine: Engine, node_id: str, node: dict, heard: Heard) -> list[Action]:
    out: list[Action] = []
    found = engine.match(heard, engine.routes_for(node_id))
    if found is not None:
        engine.take(found[0], found[1], heard, out)
        return out
    text = heard.text if heard.dtmf is None else f"[The caller pressed {heard.dtmf} on the keypad.]"
    _ask(engine, node_id, node, text, out)
    return out


def reprompt(engine: Engine, node_id: str, node: dict, *, silence: bool) -> list[Action]:
    out: list[Action] = []
    _ask(engine, node_id, node, SILENT, out)
    return out


def _ask(engine: Engine, node_id: str, node: dict, text: str, out: list[Action]) -> None:
    engine.variables[TURNS] = engine.variables.get(TURNS, 0) + 1
    prompt = engine.fill(node["prompt"])
    known = engine.default_summary()
    if known:
        prompt += f"\n\nWhat we know so far: {known}."
    intents = tuple((route.intent, route.description) for route in engine.flow.routes.get(node_id, ()))
    engine.request(LlmTurn(node_id, prompt, text, tuple(node.get("tools", ())), intents), out)


def _resume(engine: Engine, node_id: str, node: dict, effect: LlmTurn, outcome: object, out: list[Action]) -> None:
    outcome = outcome if isinstance(outcome, LlmOutcome) else LlmOutcome(failed=True)
    route = engine.route_by_intent(node_id, outcome.intent)
    if route is not None:
        engine.take(route, effect.text, Heard(text=effect.text), out)
    elif outcome.failed and node.get("fallback"):
        engine.goto(node["fallback"], out)
    elif node.get("next") and engine.variables.get(TURNS, 0) >= node.get("max_turns", 10**9):
        engine.goto(node["next"], out)


RESUME = {LlmTurn: _resume}

register(NodeHandlers(TYPE, enter, on_input=on_input, reprompt=reprompt, resume=RESUME))

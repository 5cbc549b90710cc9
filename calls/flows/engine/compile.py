"""Compiling a flow: validated once, its keyword regexes, example phrases and route tables built, and the result
cached by content — so building an engine per call is cheap and matching a turn is a few regex searches."""

from __future__ import annotations

import copy
import json
import re
import threading
from collections import OrderedDict

from ..routing import content_words
from ..schema import FlowError, normalize, validate_flow
from ..types import CompiledFlow, Route

__all__ = ["DEFAULT_REPROMPT", "DEFAULT_NO_INPUT_GOODBYE", "compile_flow", "compile_route"]

DEFAULT_REPROMPT = "Sorry, I didn't catch that."
DEFAULT_NO_INPUT_GOODBYE = "I'm sorry, I can't hear you. Please call us back any time. Goodbye!"


def compile_route(raw: dict) -> Route:
    canonical: dict[str, str] = {}
    for word in raw.get("keywords") or ():
        canonical.setdefault(normalize(word), word)
    pattern = None
    if canonical:
        # Longest first, so "talk to a person" wins over "person" at the same position. Boundaries are the single
        # spaces `normalize` leaves between words.
        alternatives = "|".join(re.escape(k) for k in sorted(canonical, key=len, reverse=True))
        pattern = re.compile(rf"(?<!\S)({alternatives})(?!\S)")
    examples = tuple(words for words in (content_words(e) for e in raw.get("examples") or ()) if words)
    return Route(
        intent=raw.get("intent") or raw["next"],
        next=raw["next"],
        dtmf=raw.get("dtmf"),
        capture=raw.get("capture"),
        pattern=pattern,
        canonical=canonical or None,
        examples=examples,
        description=raw.get("description", ""),
    )


def _build(flow: dict) -> CompiledFlow:
    nodes = flow["nodes"]
    return CompiledFlow(
        start=flow["start"],
        nodes=nodes,
        global_routes=tuple(compile_route(r) for r in flow.get("global_routes", ())),
        routes={
            node_id: tuple(compile_route(r) for r in node["routes"])
            for node_id, node in nodes.items()
            if node.get("routes")
        },
        default_reprompt=flow.get("default_reprompt", DEFAULT_REPROMPT),
        no_input_goodbye=flow.get("no_input_goodbye", DEFAULT_NO_INPUT_GOODBYE),
        timezone=flow.get("timezone", "UTC"),
        llm_routing=flow.get("llm_routing", True),
    )


_CACHE: OrderedDict[str, CompiledFlow] = OrderedDict()
_CACHE_SIZE = 128
_CACHE_LOCK = threading.Lock()


def compile_flow(flow: dict) -> CompiledFlow:
    """Validate and compile `flow`, cached by content (editing the dict later never affects a compiled copy)."""
    try:
        key = json.dumps(flow, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise FlowError(f"flow: must be JSON-compatible ({exc})") from None
    with _CACHE_LOCK:
        compiled = _CACHE.get(key)
        if compiled is not None:
            _CACHE.move_to_end(key)
            return compiled
    validate_flow(flow)  # on the caller's dict, so errors report nodes in authoring order
    compiled = _build(copy.deepcopy(flow))
    with _CACHE_LOCK:
        _CACHE[key] = compiled
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return compiled

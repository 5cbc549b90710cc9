"""Which route a caller event takes: the first keyword or key that matches, else the route with the most similar
example phrase (above the threshold). Never waits for anything; an LLM's choice among the intents is an effect the
nodes ask for (`ChooseRoute`), decided outside the engine."""

from __future__ import annotations

from ..routing import DEFAULT_THRESHOLD, content_words
from ..types import Heard, Route

__all__ = ["RouteLists", "match", "by_intent", "intents"]

#: The routes that apply at a node, in priority order (the flow's global routes, then the node's own).
RouteLists = tuple[tuple[Route, ...], ...]


def match(heard: Heard, route_lists: RouteLists) -> tuple[Route, str] | None:
    """(route, the keyword as written / the key / the caller's text) or None."""
    for routes in route_lists:
        for route in routes:
            matched = route.match(heard)
            if matched is not None:
                return route, matched
    if heard.dtmf is not None or not heard.text:
        return None
    words = content_words(heard.text)
    best: tuple[float, Route | None] = (DEFAULT_THRESHOLD, None)
    for routes in route_lists:
        for route in routes:
            if route.examples:
                score = route.similarity(words)
                if score > best[0]:
                    best = (score, route)
    return (best[1], heard.text) if best[1] is not None else None


def by_intent(route_lists: RouteLists, intent: str | None) -> Route | None:
    for routes in route_lists:
        for route in routes:
            if intent is not None and route.intent == intent:
                return route
    return None


def intents(route_lists: RouteLists) -> dict[str, str]:
    """Each intent the routes lead to, with its description (the first one given), for an LLM to choose from."""
    found: dict[str, str] = {}
    for routes in route_lists:
        for route in routes:
            found.setdefault(route.intent, route.description)
    return found

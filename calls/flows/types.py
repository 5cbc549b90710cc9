"""The types the flow engine and its node handlers share: what a node emits (`Action`), what it hears (`Heard`),
a compiled flow and its routes, the part of the engine a node may use (`Engine`), and a node type's handlers
(`NodeHandlers`).

They live apart from the engine so that `calls.flows.nodes` depends on this module only, never on the engine
that dispatches to them (`calls.flows.engine` imports the nodes, not the other way round).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from calls.providers.base import EndCall, TextDelta, Transfer

from .effects import Effect, EngineContext
from .routing import example_score

__all__ = [
    "Action", "Heard", "Route", "CompiledFlow", "Engine", "NodeHandlers", "Enter", "OnInput", "Reprompt", "Resume",
]  # fmt: skip

#: What the engine returns for the host to perform: the brain's outputs (effects are appended as well; see
#: `calls.flows.effects`).
Action = TextDelta | EndCall | Transfer


@dataclass(frozen=True, slots=True)
class Heard:
    """One caller event as routes see it: a turn's text (raw and normalised) or a key press."""

    text: str = ""
    norm: str = ""
    dtmf: str | None = None


@dataclass(frozen=True, slots=True)
class Route:
    intent: str
    next: str
    dtmf: str | None = None
    capture: str | None = None
    pattern: re.Pattern[str] | None = None  # one alternation of all keywords, on normalised text
    canonical: dict[str, str] | None = None  # normalised keyword -> keyword as written in the flow
    examples: tuple[tuple[str, ...], ...] = ()  # content words of each example phrase
    description: str = ""

    def match(self, heard: Heard) -> str | None:
        """The keyword as written (or the key) that matched, or None."""
        if heard.dtmf is not None:
            return heard.dtmf if heard.dtmf == self.dtmf else None
        if self.pattern is None:
            return None
        m = self.pattern.search(heard.norm)
        return self.canonical[m.group(1)] if m else None  # type: ignore[index]

    def similarity(self, words: tuple[str, ...]) -> float:
        return max((example_score(words, example) for example in self.examples), default=0.0)


@dataclass(frozen=True, slots=True)
class CompiledFlow:
    start: str
    nodes: dict[str, dict]
    global_routes: tuple[Route, ...]
    routes: dict[str, tuple[Route, ...]]  # by node id, for nodes that have routes
    default_reprompt: str
    no_input_goodbye: str
    timezone: str = "UTC"
    llm_routing: bool = True


class Engine(Protocol):
    """What a node handler may use of the engine (`calls.flows.engine.FlowEngine` implements it)."""

    flow: CompiledFlow
    context: EngineContext
    last_text: str  # the caller's latest words

    @property
    def variables(self) -> dict: ...

    def goto(self, node_id: str, out: list[Action]) -> None: ...

    def request(self, effect: Effect, out: list[Action]) -> None: ...

    def fill(self, text: str) -> str: ...

    def speak(self, text: str | None, out: list[Action], node: dict) -> None: ...

    def take(self, route: Route, matched: str, heard: Heard, out: list[Action]) -> None: ...

    def routes_for(self, node_id: str) -> tuple[tuple[Route, ...], ...]: ...

    def match(self, heard: Heard, route_lists: tuple[tuple[Route, ...], ...]) -> tuple[Route, str] | None: ...

    def ask_llm_to_route(self, node_id: str, node: dict, heard: Heard, out: list[Action]) -> bool: ...

    def route_by_intent(self, node_id: str, intent: str | None) -> Route | None: ...

    def today(self) -> date: ...

    def note_sources(self, hits, out: list[Action]) -> None: ...

    def default_summary(self) -> str: ...

    def on_action_failed(self, line: str) -> list[Action]: ...


#: Entering a node: append what it says and does to `out`; return the node to go on to at once, or None to stop
#: (the node waits for the caller, requested an effect, or ended the call).
Enter = Callable[[Engine, str, dict, list[Action]], str | None]
#: A caller turn or key press at a node that waits.
OnInput = Callable[[Engine, str, dict, Heard], list[Action]]
#: The caller was silent at a node that waits: `(engine, node_id, node, *, silence)`.
Reprompt = Callable[..., list[Action]]
#: The outcome of the effect the node asked for: `(engine, node_id, node, effect, outcome, out)`.
Resume = Callable[[Engine, str, dict, Any, object, list[Action]], None]


@dataclass(frozen=True)
class NodeHandlers:
    """How the engine runs one node type (its format and validation are `calls.flows.schema.NODE_TYPES`)."""

    type: str
    enter: Enter
    on_input: OnInput | None = None  # node types that wait for the caller
    reprompt: Reprompt | None = None
    resume: Mapping[type, Resume] = field(default_factory=dict)  # by effect type

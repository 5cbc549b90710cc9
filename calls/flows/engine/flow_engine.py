"""`FlowEngine`: one conversation through a compiled flow, one caller event at a time.

The engine walks the nodes and keeps the conversation's state; what each node type does lives in its handlers
(`calls.flows.nodes`, one module per type), found by the node's `type` in the registry those modules fill. The
methods under "helpers for node handlers" are what a handler may use (`calls.flows.types.Engine`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from calls.providers.base import BrainState, EndCall, TextDelta

from ..effects import ChooseRoute, Effect, EngineContext, Sources
from ..nodes import HANDLERS  # the node registry; importing the package registers the built-in node types
from ..schema import NODE_TYPES, FlowError, normalize
from ..types import Action, CompiledFlow, Heard, Route
from . import matching
from .compile import compile_flow
from .placeholders import as_text, fill

__all__ = ["FlowEngine", "MAX_CHAIN"]

MAX_CHAIN = 100  # nodes entered in one reply; validation already rejects say-loops, this is a backstop


class FlowEngine:
    """One conversation through a flow.

    `state.node` is the node the conversation waits at (an `ask`, `collect` or `llm`), the node whose effect is
    pending, or the terminal node it ended on, or None before `start()`. `state.variables["intent"]` is the last
    matched route's intent; routes with `capture` and `collect` nodes store what the caller said. Variables whose
    names start with ``_`` are the engine's bookkeeping (never spoken, never in summaries).
    """

    def __init__(
        self, flow: dict | CompiledFlow, state: BrainState | None = None, *, context: EngineContext | None = None
    ) -> None:
        self.flow = flow if isinstance(flow, CompiledFlow) else compile_flow(flow)
        self.state = state if state is not None else BrainState()
        if self.state.variables is None:
            self.state.variables = {}
        if self.state.node is not None and self.state.node not in self.flow.nodes:
            self.state.node = None  # the flow was edited and the node is gone: nothing to resume
        self.context = context or EngineContext()
        self.pending: Effect | None = None
        self.last_text = ""  # the caller's latest words: what `answer` and `llm` nodes respond to
        self._waiting: str | None = self.state.node if self._waits(self.state.node) else None
        self._hung_up = False

    # ------------------------------------------------------------ public API

    @property
    def variables(self) -> dict:
        return self.state.variables

    @property
    def finished(self) -> bool:
        """The call left the flow (end, transfer, hand-over or no-input hang-up); further events produce nothing."""
        node = self._current()
        if self._hung_up:
            return True
        return node is not None and self.pending is None and not self._waits(self.state.node)

    def start(self) -> list[Action]:
        """Enter the start node: the flow's opening speech, up to the first node that waits."""
        self._hung_up = False
        self.pending = None
        out: list[Action] = []
        self.goto(self.flow.start, out)
        return out

    def on_text(self, text: str) -> list[Action]:
        """A caller turn (ASR text)."""
        if text.strip():
            self.last_text = text.strip()
        return self._input(Heard(text=text, norm=normalize(text)))

    def on_dtmf(self, digit: str) -> list[Action]:
        """A key press."""
        return self._input(Heard(dtmf=str(digit).strip()))

    def on_silence(self, count: int, max_reprompts: int) -> list[Action]:
        """The caller said nothing; `count` re-prompts already made in a row. Re-prompt, or after `max_reprompts`
        say goodbye and hang up."""
        node_id, node = self.state.node, self._current()
        if node is None or self.finished or self.pending is not None:
            return []
        if count >= max_reprompts:
            self._hung_up = True
            out: list[Action] = []
            self.speak(self.flow.no_input_goodbye, out, node)
            out.append(EndCall(reason="no_input"))
            return out
        if node.get("on_silence"):
            out = []
            self.goto(node["on_silence"], out)
            return out
        reprompt = HANDLERS[node["type"]].reprompt
        return reprompt(self, node_id, node, silence=True) if reprompt else []

    def on_action_failed(self, line: str) -> list[Action]:
        """An action this flow ended a reply with (a transfer, a hang-up) could not be carried out, and the call goes
        on: take the node's `on_error` if it names one, else say `line` and go back to the node that last waited
        (or, if none did yet, start over at the next caller event)."""
        node = self._current()
        self._hung_up = False
        self.pending = None
        out: list[Action] = []
        if node is not None and NODE_TYPES[node["type"]].terminal and node.get("on_error"):
            self.goto(node["on_error"], out)
            return out
        self.speak(line, out, {})  # interruptible, whatever the node was
        self.state.node = self._waiting
        return out

    def resume(self, outcome: object) -> list[Action]:
        """The outcome of the pending effect (see `calls.flows.effects`): continue the flow from there."""
        effect, self.pending = self.pending, None
        if effect is None:
            return []
        node = self.flow.nodes[effect.node]
        self.state.node = effect.node
        out: list[Action] = []
        handler = HANDLERS[node["type"]].resume.get(type(effect))
        if handler is None:
            raise FlowError(f"node {effect.node!r}: no way to resume a {node['type']!r} node after {effect!r}")
        handler(self, effect.node, node, effect, outcome, out)
        return out

    def abandon(self) -> None:
        """The pending effect will never complete (the caller interrupted the reply that was waiting for it): go
        back to the node that last waited, as if this reply had not started."""
        if self.pending is not None:
            self.pending = None
            self.state.node = self._waiting

    # ------------------------------------------------------------ helpers for node handlers

    def goto(self, node_id: str, out: list[Action]) -> None:
        for _ in range(MAX_CHAIN):
            node = self.flow.nodes[node_id]
            self.state.node = node_id
            if self._waits(node_id):
                self._waiting = node_id
            following = HANDLERS[node["type"]].enter(self, node_id, node, out)
            if following is None:
                return
            node_id = following
        raise FlowError(f"node {node_id!r}: more than {MAX_CHAIN} nodes chained without waiting")

    def request(self, effect: Effect, out: list[Action]) -> None:
        """End this reply's actions with `effect`; the flow continues in `resume()`."""
        self.pending = effect
        out.append(effect)  # type: ignore[arg-type]

    def fill(self, text: str) -> str:
        """`text` with `{name}` placeholders filled from the variables (unknown names become empty)."""
        return fill(text, self.state.variables)

    def speak(self, text: str | None, out: list[Action], node: dict) -> None:
        """Append `text` as one delta. The trailing space keeps consecutive deltas well-formed sentences when a
        consumer concatenates them, and lets a sentence splitter cut this one at once."""
        if text:
            text = self.fill(text)
            if text:
                out.append(TextDelta(text + " ", uninterruptible=bool(node.get("uninterruptible", False))))

    def take(self, route: Route, matched: str, heard: Heard, out: list[Action]) -> None:
        variables = self.state.variables
        variables["intent"] = route.intent
        if route.capture and heard.dtmf is None:
            variables[route.capture] = matched
        self.goto(route.next, out)

    def routes_for(self, node_id: str) -> matching.RouteLists:
        return (self.flow.global_routes, self.flow.routes.get(node_id, ()))

    def match(self, heard: Heard, route_lists: matching.RouteLists) -> tuple[Route, str] | None:
        """The first route whose keyword or key matches, else the route with the most similar example phrase
        (above the threshold); None when neither. Never waits for anything."""
        return matching.match(heard, route_lists)

    def ask_llm_to_route(self, node_id: str, node: dict, heard: Heard, out: list[Action]) -> bool:
        """When an LLM is configured (and the flow and node allow it), let it choose among the routes' intents.
        True if the choice was requested (the flow goes on in `resume`)."""
        if not (self.context.has_llm and self.flow.llm_routing and node.get("llm_routing", True)) or not heard.text:
            return False
        intents = matching.intents(self.routes_for(node_id))
        if not intents:
            return False
        self.request(ChooseRoute(node_id, heard.text, tuple(intents.items())), out)
        return True

    def route_by_intent(self, node_id: str, intent: str | None) -> Route | None:
        return matching.by_intent(self.routes_for(node_id), intent)

    def today(self) -> date:
        now = self.context.clock() if self.context.clock is not None else datetime.now(UTC)
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        return now.astimezone(ZoneInfo(self.flow.timezone)).date()

    def note_sources(self, hits, out: list[Action]) -> None:
        if hits:
            out.append(Sources(tuple(hits)))  # type: ignore[arg-type]

    def default_summary(self) -> str:
        items = self.state.variables.items()
        return "; ".join(
            f"{k}: {as_text(v)}" for k, v in items
            if not str(k).startswith("_") and not str(k).endswith("_value") and v not in ("", None)
            and not isinstance(v, dict | list)
        )  # fmt: skip

    # ------------------------------------------------------------ internals

    def _waits(self, node_id: str | None) -> bool:
        node = self.flow.nodes.get(node_id) if node_id is not None else None
        return node is not None and NODE_TYPES[node["type"]].waits

    def _current(self) -> dict | None:
        return self.flow.nodes.get(self.state.node) if self.state.node is not None else None

    def _input(self, heard: Heard) -> list[Action]:
        node = self._current()
        if node is None or self._hung_up or self.pending is not None:
            return []
        handler = HANDLERS[node["type"]].on_input
        return handler(self, self.state.node, node, heard) if handler else []

    # Old private names, kept for code written against them.
    _goto = goto
    _speak = speak
    _take = take
    _default_summary = default_summary

"""The flow engine: walks a flow (see `calls.flows.schema` for the format) one caller event at a time.

Pure, synchronous and deterministic: no I/O, no clock of its own, no randomness, no Django. Each event returns the
list of actions to perform — the brain output types of `calls.providers.base` (`TextDelta`, `EndCall`,
`Transfer`) — and updates `state` (a `BrainState`: the node the conversation waits at, and its variables) before
returning, so the caller may persist `state` at any time and rebuild an engine from it later.

Nodes that need the outside world (HTTP tools, the knowledge base, the LLM, another agent) end the action list
with an *effect* (`calls.flows.effects`); the host performs it and calls `resume(outcome)`, which continues the
flow. `pending` is the effect awaiting its outcome. Simple decisions — keywords, keys, yes/no, slot values,
example phrases — never wait for anything.

Flows are compiled once (keyword regexes, example phrases, route tables) and cached by content, so building an
engine per call is cheap and `on_text` — in the turn's critical path — is a normalisation plus a few regex
searches.

Behaviour lives in per-type dispatch tables (`_ENTER`, `_INPUT`, `_REPROMPT`, `_RESUME`); the node types beyond
say / ask / end live in `calls.flows.nodes`, one module each.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from calls.providers.base import BrainState, EndCall, TextDelta, Transfer

from .conditions import lookup
from .effects import EFFECTS, ChooseRoute, Effect, EngineContext, Sources
from .routing import DEFAULT_THRESHOLD, content_words, example_score
from .schema import NODE_TYPES, FlowError, normalize, validate_flow

__all__ = ["Action", "CompiledFlow", "FlowEngine", "Heard", "Route", "compile_flow"]

Action = TextDelta | EndCall | Transfer

DEFAULT_REPROMPT = "Sorry, I didn't catch that."
DEFAULT_NO_INPUT_GOODBYE = "I'm sorry, I can't hear you. Please call us back any time. Goodbye!"
MAX_CHAIN = 100  # nodes entered in one reply; validation already rejects say-loops, this is a backstop

_PLACEHOLDER = re.compile(r"\{([A-Za-z_]\w*(?:\.\w+)*)\}")  # {name}, or {result.slot} into a tool's reply
_SPACES = re.compile(r"[ \t]{2,}")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.!?;:])")
_DANGLING_COMMA = re.compile(r",+(?=[.!?;:,]|$)")  # "Which day, {name}?" with no name -> "Which day?"


# ---------------------------------------------------------------- compiled flow


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


def _compile_route(raw: dict) -> Route:
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
        global_routes=tuple(_compile_route(r) for r in flow.get("global_routes", ())),
        routes={
            node_id: tuple(_compile_route(r) for r in node["routes"])
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


# ---------------------------------------------------------------- engine


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
        reprompt = self._REPROMPT.get(node["type"])
        return reprompt(self, node_id, node, silence=True) if reprompt else []

    def resume(self, outcome: object) -> list[Action]:
        """The outcome of the pending effect (see `calls.flows.effects`): continue the flow from there."""
        effect, self.pending = self.pending, None
        if effect is None:
            return []
        node = self.flow.nodes[effect.node]
        self.state.node = effect.node
        out: list[Action] = []
        handler = self._RESUME.get((node["type"], type(effect)))
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
            following = self._ENTER[node["type"]](self, node_id, node, out)
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
        if "{" in text:
            variables = self.state.variables
            text = _PLACEHOLDER.sub(lambda m: _as_text(lookup(variables, m.group(1))), text)
            text = _DANGLING_COMMA.sub("", _SPACE_BEFORE_PUNCT.sub(r"\1", _SPACES.sub(" ", text)))
        return text.strip()

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

    def routes_for(self, node_id: str) -> tuple[tuple[Route, ...], ...]:
        return (self.flow.global_routes, self.flow.routes.get(node_id, ()))

    def match(self, heard: Heard, route_lists: tuple[tuple[Route, ...], ...]) -> tuple[Route, str] | None:
        """The first route whose keyword or key matches, else the route with the most similar example phrase
        (above the threshold); None when neither. Never waits for anything."""
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

    def ask_llm_to_route(self, node_id: str, node: dict, heard: Heard, out: list[Action]) -> bool:
        """When an LLM is configured (and the flow and node allow it), let it choose among the routes' intents.
        True if the choice was requested (the flow goes on in `resume`)."""
        if not (self.context.has_llm and self.flow.llm_routing and node.get("llm_routing", True)) or not heard.text:
            return False
        intents: dict[str, str] = {}
        for routes in self.routes_for(node_id):
            for route in routes:
                intents.setdefault(route.intent, route.description)
        if not intents:
            return False
        self.request(ChooseRoute(node_id, heard.text, tuple(intents.items())), out)
        return True

    def route_by_intent(self, node_id: str, intent: str | None) -> Route | None:
        for routes in self.routes_for(node_id):
            for route in routes:
                if intent is not None and route.intent == intent:
                    return route
        return None

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
            f"{k}: {_as_text(v)}" for k, v in items
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
        handler = self._INPUT.get(node["type"])
        return handler(self, self.state.node, node, heard) if handler else []

    # Old private names, kept for code written against them.
    _goto = goto
    _speak = speak
    _take = take
    _default_summary = default_summary

    # ------------------------------------------------------------ say / ask / end

    def _enter_say(self, node_id: str, node: dict, out: list[Action]) -> str | None:
        self.speak(node["text"], out, node)
        return node["next"]

    def _enter_ask(self, node_id: str, node: dict, out: list[Action]) -> str | None:
        self.speak(node["text"], out, node)
        return None  # wait for the caller

    def _enter_end(self, node_id: str, node: dict, out: list[Action]) -> str | None:
        self.speak(node.get("text"), out, node)
        out.append(EndCall(reason=node.get("reason") or "completed"))
        return None

    def _input_ask(self, node_id: str, node: dict, heard: Heard) -> list[Action]:
        out: list[Action] = []
        found = self.match(heard, self.routes_for(node_id))
        if found is not None:
            self.take(found[0], found[1], heard, out)
            return out
        if self.ask_llm_to_route(node_id, node, heard, out):
            return out
        return self._no_match_ask(node_id, node, out)

    def _no_match_ask(self, node_id: str, node: dict, out: list[Action]) -> list[Action]:
        if node.get("fallback"):
            self.goto(node["fallback"], out)
            return out
        out.extend(self._reprompt_ask(node_id, node, silence=False))
        return out

    def _resume_ask(self, node_id: str, node: dict, effect: ChooseRoute, intent: object, out: list[Action]) -> None:
        route = self.route_by_intent(node_id, intent if isinstance(intent, str) else None)
        if route is not None:
            self.take(route, effect.text, Heard(text=effect.text), out)
        else:
            self._no_match_ask(node_id, node, out)

    def _reprompt_ask(self, node_id: str, node: dict, *, silence: bool) -> list[Action]:
        out: list[Action] = []
        text = node.get("reprompt")
        if not text:
            text = node["text"] if silence else f"{self.flow.default_reprompt} {node['text']}"
        self.speak(text, out, node)
        return out

    # Dispatch tables by node type; `calls.flows.nodes` adds the other types below.
    _ENTER: dict[str, Callable[..., str | None]] = {"say": _enter_say, "ask": _enter_ask, "end": _enter_end}
    _INPUT: dict[str, Callable[..., list[Action]]] = {"ask": _input_ask}  # node types that wait for the caller
    _REPROMPT: dict[str, Callable[..., list[Action]]] = {"ask": _reprompt_ask}
    _RESUME: dict[tuple[str, type], Callable[..., None]] = {("ask", ChooseRoute): _resume_ask}


def _as_text(value: object) -> str:
    return "" if value is None else str(value)


def is_effect(action: object) -> bool:
    return isinstance(action, EFFECTS)


# The other node types register their handlers into the tables above (imported last: they use the engine's
# helpers, never its module).
from .nodes import register as _register_nodes  # noqa: E402

_register_nodes(FlowEngine)

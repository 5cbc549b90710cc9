"""The flow engine: walks a flow (see `calls.flows.schema` for the format) one caller event at a time.

Pure, synchronous and deterministic: no I/O, no clock, no randomness, no Django. Each event returns the list of
actions to perform — the brain output types of `calls.providers.base` (`TextDelta`, `EndCall`, `Transfer`) — and
updates `state` (a `BrainState`: the node the conversation waits at, and its variables) before returning, so the
caller may persist `state` at any time and rebuild an engine from it later.

Flows are compiled once (keyword regexes, route tables) and cached by content, so building an engine per call is
cheap and `on_text` — in the turn's critical path — is a normalisation plus a few regex searches.

Behaviour lives in per-type dispatch tables (`_ENTER`, `_INPUT`, `_REPROMPT`); a new node type adds entries there
and a `NodeType` in `schema.NODE_TYPES`.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from calls.providers.base import BrainState, EndCall, TextDelta, Transfer

from .schema import FlowError, normalize, validate_flow

__all__ = ["Action", "CompiledFlow", "FlowEngine", "Heard", "Route", "compile_flow"]

Action = TextDelta | EndCall | Transfer

DEFAULT_REPROMPT = "Sorry, I didn't catch that."
DEFAULT_NO_INPUT_GOODBYE = "I'm sorry, I can't hear you. Please call us back any time. Goodbye!"
MAX_CHAIN = 100  # nodes entered in one reply; validation already rejects say-loops, this is a backstop

_PLACEHOLDER = re.compile(r"\{([A-Za-z_]\w*)\}")
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

    def match(self, heard: Heard) -> str | None:
        """The keyword as written (or the key) that matched, or None."""
        if heard.dtmf is not None:
            return heard.dtmf if heard.dtmf == self.dtmf else None
        if self.pattern is None:
            return None
        m = self.pattern.search(heard.norm)
        return self.canonical[m.group(1)] if m else None  # type: ignore[index]


@dataclass(frozen=True, slots=True)
class CompiledFlow:
    start: str
    nodes: dict[str, dict]
    global_routes: tuple[Route, ...]
    routes: dict[str, tuple[Route, ...]]  # by node id, for nodes that have routes
    default_reprompt: str
    no_input_goodbye: str


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
    return Route(
        intent=raw.get("intent") or raw["next"],
        next=raw["next"],
        dtmf=raw.get("dtmf"),
        capture=raw.get("capture"),
        pattern=pattern,
        canonical=canonical or None,
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

    `state.node` is the node the conversation waits at (an `ask`), or the terminal node it ended on, or None
    before `start()`. `state.variables["intent"]` is the last matched route's intent; routes with `capture` store
    the keyword heard under their variable name.
    """

    def __init__(self, flow: dict | CompiledFlow, state: BrainState | None = None) -> None:
        self.flow = flow if isinstance(flow, CompiledFlow) else compile_flow(flow)
        self.state = state if state is not None else BrainState()
        if self.state.variables is None:
            self.state.variables = {}
        if self.state.node is not None and self.state.node not in self.flow.nodes:
            self.state.node = None  # the flow was edited and the node is gone: nothing to resume
        self._hung_up = False

    # ------------------------------------------------------------ public API

    @property
    def finished(self) -> bool:
        """The call left the flow (end, transfer or no-input hang-up); further events produce nothing."""
        node = self._current()
        return self._hung_up or (node is not None and node["type"] not in self._INPUT)

    def start(self) -> list[Action]:
        """Enter the start node: the flow's opening speech, up to the first node that waits."""
        self._hung_up = False
        out: list[Action] = []
        self._goto(self.flow.start, out)
        return out

    def on_text(self, text: str) -> list[Action]:
        """A caller turn (ASR text)."""
        return self._input(Heard(text=text, norm=normalize(text)))

    def on_dtmf(self, digit: str) -> list[Action]:
        """A key press."""
        return self._input(Heard(dtmf=str(digit).strip()))

    def on_silence(self, count: int, max_reprompts: int) -> list[Action]:
        """The caller said nothing; `count` re-prompts already made in a row. Re-prompt, or after `max_reprompts`
        say goodbye and hang up."""
        node_id, node = self.state.node, self._current()
        if node is None or self.finished:
            return []
        if count >= max_reprompts:
            self._hung_up = True
            out: list[Action] = []
            self._speak(self.flow.no_input_goodbye, out, node)
            out.append(EndCall(reason="no_input"))
            return out
        reprompt = self._REPROMPT.get(node["type"])
        return reprompt(self, node_id, node, silence=True) if reprompt else []

    # ------------------------------------------------------------ internals

    def _current(self) -> dict | None:
        return self.flow.nodes.get(self.state.node) if self.state.node is not None else None

    def _input(self, heard: Heard) -> list[Action]:
        node = self._current()
        if node is None or self._hung_up:
            return []
        handler = self._INPUT.get(node["type"])
        return handler(self, self.state.node, node, heard) if handler else []

    def _goto(self, node_id: str, out: list[Action]) -> None:
        for _ in range(MAX_CHAIN):
            node = self.flow.nodes[node_id]
            self.state.node = node_id
            following = self._ENTER[node["type"]](self, node_id, node, out)
            if following is None:
                return
            node_id = following
        raise FlowError(f"node {node_id!r}: more than {MAX_CHAIN} nodes chained without waiting")

    def fill(self, text: str) -> str:
        """`text` with `{name}` placeholders filled from the variables (unknown names become empty)."""
        if "{" in text:
            variables = self.state.variables
            text = _PLACEHOLDER.sub(lambda m: _as_text(variables.get(m.group(1))), text)
            text = _DANGLING_COMMA.sub("", _SPACE_BEFORE_PUNCT.sub(r"\1", _SPACES.sub(" ", text)))
        return text.strip()

    def _speak(self, text: str | None, out: list[Action], node: dict) -> None:
        """Append `text` as one delta. The trailing space keeps consecutive deltas well-formed sentences when a
        consumer concatenates them, and lets a sentence splitter cut this one at once."""
        if text:
            text = self.fill(text)
            if text:
                out.append(TextDelta(text + " ", uninterruptible=bool(node.get("uninterruptible", False))))

    def _take(self, route: Route, matched: str, heard: Heard, out: list[Action]) -> None:
        variables = self.state.variables
        variables["intent"] = route.intent
        if route.capture and heard.dtmf is None:
            variables[route.capture] = matched
        self._goto(route.next, out)

    # ------------------------------------------------------------ node types: entering

    def _enter_say(self, node_id: str, node: dict, out: list[Action]) -> str | None:
        self._speak(node["text"], out, node)
        return node["next"]

    def _enter_ask(self, node_id: str, node: dict, out: list[Action]) -> str | None:
        self._speak(node["text"], out, node)
        return None  # wait for the caller

    def _enter_transfer(self, node_id: str, node: dict, out: list[Action]) -> str | None:
        self._speak(node.get("text"), out, node)
        summary = self.fill(node["summary"]) if node.get("summary") else self._default_summary()
        out.append(Transfer(target=node["target"].strip(), summary=summary))
        return None

    def _enter_end(self, node_id: str, node: dict, out: list[Action]) -> str | None:
        self._speak(node.get("text"), out, node)
        out.append(EndCall(reason=node.get("reason") or "completed"))
        return None

    def _default_summary(self) -> str:
        items = self.state.variables.items()
        return "; ".join(f"{k}: {_as_text(v)}" for k, v in items if not str(k).startswith("_") and v not in ("", None))

    # ------------------------------------------------------------ node types: input and re-prompts

    def _input_ask(self, node_id: str, node: dict, heard: Heard) -> list[Action]:
        out: list[Action] = []
        for routes in (self.flow.global_routes, self.flow.routes.get(node_id, ())):
            for route in routes:
                matched = route.match(heard)
                if matched is not None:
                    self._take(route, matched, heard, out)
                    return out
        if node.get("fallback"):
            self._goto(node["fallback"], out)
            return out
        return self._reprompt_ask(node_id, node, silence=False)

    def _reprompt_ask(self, node_id: str, node: dict, *, silence: bool) -> list[Action]:
        out: list[Action] = []
        text = node.get("reprompt")
        if not text:
            text = node["text"] if silence else f"{self.flow.default_reprompt} {node['text']}"
        self._speak(text, out, node)
        return out

    # Dispatch tables by node type. Subclasses (or later node types) extend copies of these.
    _ENTER: dict[str, Callable[..., str | None]] = {
        "say": _enter_say,
        "ask": _enter_ask,
        "transfer": _enter_transfer,
        "end": _enter_end,
    }
    _INPUT: dict[str, Callable[..., list[Action]]] = {"ask": _input_ask}  # node types that wait for the caller
    _REPROMPT: dict[str, Callable[..., list[Action]]] = {"ask": _reprompt_ask}


def _as_text(value: object) -> str:
    return "" if value is None else str(value)

"""Flow definitions: the data format of the embedded (no-LLM) brain, its validation and its text normaliser.

A flow is a JSON-compatible dict describing a state machine. The engine (`calls.flows.engine`) walks it; this
module only checks it, so a flow edited by hand or in the dashboard fails loudly *before* a call uses it, with a
message naming the node and the field (``node 'ask_help': route 2 'next' points to unknown node 'bookng'``).

Format
------

Top level::

    {
      "start": "welcome",                  # required: id of the first node
      "nodes": {"welcome": {...}, ...},    # required: node id -> node (ids are non-empty strings)
      "global_routes": [route, ...],       # optional: checked at every `ask` node, before the node's own routes
      "default_reprompt": "Sorry, I didn't catch that.",   # optional: said before an ask's text when it has
                                                            #   no `reprompt` of its own
      "no_input_goodbye": "I can't hear you. Goodbye!",    # optional: said before hanging up after silence
      "id": "...", "name": "...", "version": 1, "description": "..."   # optional metadata
    }

Every node has a ``"type"`` and may carry ``"uninterruptible": true`` (its speech cannot be barged in on, e.g.
a legal disclosure) plus the metadata fields ``"label"`` / ``"description"``. Node types:

``say``       ``text`` (required), ``next`` (required). Speaks and moves on at once; consecutive `say` nodes
              chain into one reply, ending at the first node that waits or ends the call. A loop made only of
              `say` nodes is rejected.
``ask``       ``text`` (required), ``routes`` (list, optional), ``reprompt`` (optional), ``fallback`` (optional
              node id). Speaks, then waits for the caller. Their words (or key press) are matched against the
              flow's ``global_routes`` first, then the node's ``routes``, in order; the first match wins. No
              match: go to ``fallback`` if set, otherwise say ``reprompt`` (default: ``default_reprompt`` +
              the node's text) and keep waiting. On silence the engine re-prompts with ``reprompt`` (or the
              text), then says goodbye and hangs up after the session's maximum.
``transfer``  ``target`` (required: number or SIP URI), ``text`` (optional), ``summary`` (optional; default: the
              flow variables). Speaks, then hands the call over.
``end``       ``text`` (optional), ``reason`` (optional, default ``"completed"``). Speaks, then hangs up.

A route::

    {"intent": "booking",                                  # optional: recorded in variables["intent"]
                                                           #   (default: the `next` node id)
     "keywords": ["book", "appointment", "see the dentist"],   # words or phrases
     "dtmf": "0",                                          # optional: one key, 0-9 * #
     "capture": "day",                                     # optional: store the keyword heard in variables["day"]
     "next": "booking"}                                    # required: node id

A route needs ``keywords`` or ``dtmf`` (or both). Keywords match whole words, case-insensitively, anywhere in the
caller's turn; a phrase matches its words in sequence. Both sides go through `normalize()` first, so ASR
punctuation, curly apostrophes, accents, contractions ("I'd like" == "I would like") and simple inflections
("appointments", "booking", "opening hours" vs "open hours") do not matter. ``capture`` stores the keyword *as
written in the flow* (so ``"Monday"`` is stored capitalised even if the caller said "mondays").

Text may contain ``{name}`` placeholders, filled from the conversation variables (``intent``, captured values,
anything the call was started with); an unknown name becomes an empty string.

Keys starting with ``_`` are ignored anywhere (room for editor positions and comments); any other unknown key is
an error, so typos such as ``"nxt"`` are caught.

Adding a node type (collect slot, llm, tool...) means one `NodeType` entry in `NODE_TYPES` here and one handler in
the engine's dispatch tables.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["FlowError", "NodeType", "NODE_TYPES", "validate_flow", "normalize", "DTMF_KEYS"]


class FlowError(ValueError):
    """A flow definition is invalid. The message names the node (or ``flow``) and the field."""


DTMF_KEYS = frozenset("0123456789*#")

_TOP_LEVEL = frozenset(
    {"start", "nodes", "global_routes", "default_reprompt", "no_input_goodbye", "id", "name", "version", "description"}
)
_COMMON = {"type": str, "uninterruptible": bool, "label": str, "description": str}
_ROUTE_FIELDS = frozenset({"intent", "keywords", "dtmf", "capture", "next"})
_IDENTIFIER = re.compile(r"^[A-Za-z_]\w*$")


# ---------------------------------------------------------------- node types


@dataclass(frozen=True)
class NodeType:
    """What a node type looks like. The engine keeps the matching behaviour in its own dispatch tables."""

    required: dict[str, type | tuple[type, ...]] = field(default_factory=dict)
    optional: dict[str, type | tuple[type, ...]] = field(default_factory=dict)
    node_refs: tuple[str, ...] = ()  # fields naming another node
    chains_to: str | None = None  # field followed immediately, without waiting (say -> next)
    waits: bool = False  # waits for the caller (text / key press / silence)
    terminal: bool = False  # the call leaves the flow here (hang-up, transfer)
    check: Callable[[str, dict, dict], None] | None = None  # extra checks: (node_id, node, flow)


def _check_ask(node_id: str, node: dict, flow: dict) -> None:
    _check_routes(f"node {node_id!r}", node.get("routes", []), flow["nodes"], field_name="routes")


def _check_transfer(node_id: str, node: dict, flow: dict) -> None:
    if not node["target"].strip():
        raise FlowError(f"node {node_id!r}: 'target' must not be empty")


NODE_TYPES: dict[str, NodeType] = {
    "say": NodeType(required={"text": str, "next": str}, node_refs=("next",), chains_to="next"),
    "ask": NodeType(
        required={"text": str},
        optional={"routes": list, "reprompt": str, "fallback": str},
        node_refs=("fallback",),
        waits=True,
        check=_check_ask,
    ),
    "transfer": NodeType(
        required={"target": str}, optional={"text": str, "summary": str}, terminal=True, check=_check_transfer
    ),
    "end": NodeType(optional={"text": str, "reason": str}, terminal=True),
}


# ---------------------------------------------------------------- validation


def _type_name(t: type | tuple[type, ...]) -> str:
    names = {str: "a string", bool: "true or false", list: "a list", dict: "an object", int: "a number"}
    if isinstance(t, tuple):
        return " or ".join(names.get(x, x.__name__) for x in t)
    return names.get(t, t.__name__)


def _is(value: object, t: type | tuple[type, ...]) -> bool:
    if isinstance(value, bool) and t is not bool and not (isinstance(t, tuple) and bool in t):
        return False  # true/false is not a number
    return isinstance(value, t)


def _check_routes(where: str, routes: object, nodes: dict, *, field_name: str, label: str = "route") -> None:
    if not isinstance(routes, list):
        raise FlowError(f"{where}: {field_name!r} must be a list")
    seen_dtmf: dict[str, int] = {}
    for i, route in enumerate(routes, start=1):
        at = f"{where}: {label} {i}"
        if not isinstance(route, dict):
            raise FlowError(f"{at} must be an object")
        for key in route:
            if key not in _ROUTE_FIELDS and not str(key).startswith("_"):
                raise FlowError(f"{at} has unknown field {key!r}")
        target = route.get("next")
        if target is None:
            raise FlowError(f"{at} 'next' is missing")
        if not isinstance(target, str):
            raise FlowError(f"{at} 'next' must be a string")
        if target not in nodes:
            raise FlowError(f"{at} 'next' points to unknown node {target!r}")
        if "intent" in route and (not isinstance(route["intent"], str) or not route["intent"].strip()):
            raise FlowError(f"{at} 'intent' must be a non-empty string")
        keywords = route.get("keywords")
        if keywords is not None:
            if not isinstance(keywords, list) or not keywords:
                raise FlowError(f"{at} 'keywords' must be a non-empty list of strings")
            for k, word in enumerate(keywords, start=1):
                if not isinstance(word, str):
                    raise FlowError(f"{at} keyword {k} must be a string")
                if not normalize(word):
                    raise FlowError(f"{at} keyword {k} ({word!r}) has no words in it")
        dtmf = route.get("dtmf")
        if dtmf is not None:
            if not isinstance(dtmf, str) or dtmf not in DTMF_KEYS:
                raise FlowError(f"{at} 'dtmf' must be one key of 0-9, * or # (got {dtmf!r})")
            if dtmf in seen_dtmf:
                raise FlowError(f"{at} 'dtmf' {dtmf!r} is already used by {label} {seen_dtmf[dtmf]}")
            seen_dtmf[dtmf] = i
        if keywords is None and dtmf is None:
            raise FlowError(f"{at} needs 'keywords' or 'dtmf'")
        capture = route.get("capture")
        if capture is not None:
            if not isinstance(capture, str) or not _IDENTIFIER.match(capture):
                raise FlowError(f"{at} 'capture' must be a variable name (letters, digits, _)")
            if keywords is None:
                raise FlowError(f"{at} 'capture' needs 'keywords'")


def _check_node(node_id: object, node: object, flow: dict) -> None:
    if not isinstance(node_id, str) or not node_id.strip():
        raise FlowError(f"flow: node id {node_id!r} must be a non-empty string")
    where = f"node {node_id!r}"
    if not isinstance(node, dict):
        raise FlowError(f"{where} must be an object")
    kind = node.get("type")
    if kind is None:
        raise FlowError(f"{where}: 'type' is missing")
    spec = NODE_TYPES.get(kind) if isinstance(kind, str) else None
    if spec is None:
        raise FlowError(f"{where}: 'type' {kind!r} is unknown (known: {', '.join(sorted(NODE_TYPES))})")
    for name, t in spec.required.items():
        if name not in node:
            raise FlowError(f"{where}: {name!r} is missing (required for {kind!r} nodes)")
    for name, value in node.items():
        if not isinstance(name, str):
            raise FlowError(f"{where}: field names must be strings (got {name!r})")
        if name.startswith("_"):
            continue
        t = spec.required.get(name) or spec.optional.get(name) or _COMMON.get(name)
        if t is None:
            raise FlowError(f"{where}: unknown field {name!r} for a {kind!r} node")
        if not _is(value, t):
            raise FlowError(f"{where}: {name!r} must be {_type_name(t)}")
    for name in spec.node_refs:
        target = node.get(name)
        if target is not None and target not in flow["nodes"]:
            raise FlowError(f"{where}: {name!r} points to unknown node {target!r}")
    if spec.check is not None:
        spec.check(node_id, node, flow)


def _check_chains(nodes: dict) -> None:
    """Reject loops made only of nodes that move on without waiting (they would never stop talking)."""
    done: set[str] = set()
    for first in nodes:
        path: list[str] = []
        on_path: set[str] = set()
        node_id: str | None = first
        while node_id is not None and node_id not in done:
            if node_id in on_path:
                loop = path[path.index(node_id) :] + [node_id]
                raise FlowError(
                    f"node {node_id!r}: 'next' forms a loop with no node that waits: {' -> '.join(loop)}"
                )
            path.append(node_id)
            on_path.add(node_id)
            chains_to = NODE_TYPES[nodes[node_id]["type"]].chains_to
            node_id = nodes[node_id].get(chains_to) if chains_to else None
        done.update(path)


def validate_flow(flow: dict) -> None:
    """Raise `FlowError` (naming node and field) unless `flow` is a well-formed flow. Never modifies it."""
    if not isinstance(flow, dict):
        raise FlowError("flow: must be an object")
    for key in flow:
        if key not in _TOP_LEVEL and not str(key).startswith("_"):
            raise FlowError(f"flow: unknown field {key!r}")
    nodes = flow.get("nodes")
    if nodes is None:
        raise FlowError("flow: 'nodes' is missing")
    if not isinstance(nodes, dict) or not nodes:
        raise FlowError("flow: 'nodes' must be a non-empty object")
    start = flow.get("start")
    if start is None:
        raise FlowError("flow: 'start' is missing")
    if not isinstance(start, str):
        raise FlowError("flow: 'start' must be a string")
    if start not in nodes:
        raise FlowError(f"flow: 'start' points to unknown node {start!r}")
    for name in ("default_reprompt", "no_input_goodbye", "name", "description"):
        if name in flow and not isinstance(flow[name], str):
            raise FlowError(f"flow: {name!r} must be a string")
    for node_id, node in nodes.items():
        _check_node(node_id, node, flow)
    if "global_routes" in flow:
        _check_routes("flow", flow["global_routes"], nodes, field_name="global_routes", label="global route")
    _check_chains(nodes)


# ---------------------------------------------------------------- text normalisation

# Contractions are expanded so "I'd like" and "I would like" read the same. 's becomes "is" (possessives too;
# harmless for matching). Common apostrophe-less ASR spellings are included when they are not words themselves.
_SUFFIXES = {"d": "would", "ll": "will", "re": "are", "m": "am", "ve": "have", "s": "is"}
_WHOLE = {
    "can't": "can not", "won't": "will not", "shan't": "shall not", "ain't": "is not", "let's": "let us",
    "dont": "do not", "doesnt": "does not", "didnt": "did not", "cant": "can not", "wont": "will not",
    "isnt": "is not", "arent": "are not", "wasnt": "was not", "werent": "were not", "couldnt": "could not",
    "wouldnt": "would not", "shouldnt": "should not", "havent": "have not", "hasnt": "has not",
    "im": "i am", "ive": "i have", "youre": "you are", "theyre": "they are", "thats": "that is",
    "whats": "what is", "theres": "there is", "itll": "it will", "youll": "you will",
}  # fmt: skip
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
_VOWELS = frozenset("aeiouy")


def _stem(word: str) -> str:
    """A deliberately small suffix stripper: plurals, -ing, -ed, final -e. Same rules for keywords and speech,
    so only consistency matters, not linguistic accuracy."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith(("sses", "shes", "ches", "xes", "zes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    stripped = False
    if word.endswith("ing") and len(word) >= 6:
        word, stripped = word[:-3], True
    elif word.endswith("ed") and len(word) >= 5:
        word, stripped = word[:-2], True
    if stripped and len(word) >= 4 and word[-1] == word[-2] and word[-1] not in _VOWELS and word[-1] not in "lsz":
        word = word[:-1]  # stopping -> stopp -> stop
    if word.endswith("e") and len(word) >= 5:
        word = word[:-1]  # schedule / scheduled / scheduling -> schedul
    return word


def _expand(token: str) -> list[str]:
    whole = _WHOLE.get(token)
    if whole is not None:
        return whole.split()
    if "'" not in token:
        return [token]
    if token.endswith("n't"):
        return [token[:-3], "not"]
    head, _, tail = token.partition("'")
    suffix = _SUFFIXES.get(tail)
    if suffix is not None:
        return [head, suffix]
    return [token.replace("'", "")]  # o'clock, o'brien


def normalize(text: str) -> str:
    """Lower-case words of `text`, contractions expanded and stemmed, joined by single spaces.

    ``"I'd like to book two Appointments!"`` -> ``"i would like to book two appointment"``.
    """
    text = text.lower().translate(_APOSTROPHES)
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    words: list[str] = []
    for token in _TOKEN.findall(text):
        for word in _expand(token):
            if word:
                words.append(_stem(word))
    return " ".join(words)

"""Flow definitions: the data format of the flow brain, and its validation.

A flow is a JSON-compatible dict describing a state machine. The engine (`calls.flows.engine`) walks it; this
module only checks it, so a flow edited by hand or in the dashboard fails loudly *before* a call uses it, with a
message naming the node and the field (``node 'ask_help': route 2 'next' points to unknown node 'bookng'``).

Format
------

Top level::

    {
      "start": "welcome",                  # required: id of the first node
      "nodes": {"welcome": {...}, ...},    # required: node id -> node (ids are non-empty strings)
      "global_routes": [route, ...],       # optional: checked at every node that waits, before its own routes
      "default_reprompt": "Sorry, I didn't catch that.",   # optional: said before an ask's text when it has
                                                            #   no `reprompt` of its own
      "no_input_goodbye": "I can't hear you. Goodbye!",    # optional: said before hanging up after silence
      "timezone": "America/New_York",      # optional: what "today" and "tomorrow" mean (default UTC)
      "llm_routing": true,                 # optional: with an LLM, let it pick a route nothing else matched
      "id": "...", "name": "...", "version": 1, "description": "..."   # optional metadata
    }

Every node has a ``"type"`` and may carry ``"uninterruptible": true`` (its speech cannot be barged in on, e.g.
a legal disclosure) plus the metadata fields ``"label"`` / ``"description"``. Nodes that wait (``ask``,
``collect``, ``llm``) may name an ``on_silence`` node: taken when the caller says nothing, instead of the
re-prompt (the hang-up after the session's maximum of silences still applies). Node types:

``say``       ``text`` (required), ``next`` (required). Speaks and moves on at once; consecutive nodes that do not
              wait chain into one reply, ending at the first node that waits or ends the call. A loop made only
              of nodes that never wait is rejected.
``ask``       ``text`` (required), ``routes`` (list), ``reprompt``, ``fallback`` (node id), ``llm_routing``
              (bool). Speaks, then waits for the caller. Their words (or key press) are matched against the flow's
              ``global_routes`` first, then the node's ``routes``: keywords and keys first (exact), then example
              phrases (similar wording), then — only if an LLM is configured and nothing matched — the LLM's
              choice among the routes' intents. No match: go to ``fallback`` if set, otherwise say ``reprompt``
              (default: ``default_reprompt`` + the node's text) and keep waiting. On silence the engine
              re-prompts with ``reprompt`` (or the text), then says goodbye and hangs up after the session's
              maximum.
``collect``   ``slot`` (variable name), ``kind`` (``yes_no``, ``number``, ``date``, ``time``, ``digits``, ``name``,
              ``text``), ``text`` and ``next`` (required); ``invalid`` (said, then the question again, when the
              answer is not a valid value), ``out_of_range`` (when it is understood but outside the limits;
              default ``invalid``), ``reprompt`` (silence), ``confirm`` (e.g. "So that's {day} at {time},
              right?": a yes moves on, a no asks again — or goes to ``on_deny`` — and "no, Thursday" takes the
              new value), ``dtmf_choices`` ({"1": "tomorrow"}: a key stands for those words), ``max_attempts`` +
              ``on_fail`` (give up after so many invalid answers), ``routes`` (ways out, e.g. "skip"), ``when``
              (conditions tried before ``next``) and the kind's limits: number ``min``/``max``; date
              ``min_days_ahead`` (default 0: not in the past), ``max_days_ahead``, ``weekdays``; time
              ``min``/``max`` ("08:00"), ``assume_daytime`` (default true: "at 3" is 3 pm); digits
              ``min_digits``/``max_digits``.
              The value is stored twice: ``{slot}`` as the agent says it back ("Tuesday the 5th", "3 pm",
              "1 2 3 4") and ``{slot}_value`` as tools and conditions want it ("2026-03-10", "15:00", "1234",
              42, true). By keypad: yes/no are 1/2; ``number``, ``digits``, ``date`` (MMDD or a day of the
              month) and ``time`` (HHMM) collect digits until ``#`` (or ``max_digits``; ``*`` starts over),
              unless the node has ``dtmf_choices``. The flow's global routes are tried before a ``name`` or
              ``text`` slot (anything is a name) and after the other kinds (so "no" answers a yes/no question).
``llm``       ``prompt`` (required), ``text``, ``tools`` (names of the agent's HTTP tools, or
              ``search_knowledge``), ``routes`` (each with an ``intent``: keywords and keys are matched without
              the LLM; the LLM can also choose one through its ``next_step`` tool), ``max_turns`` + ``next``
              (leave after so many caller turns), ``fallback`` (node used instead when the agent has no LLM; a
              flow with an ``llm`` node and neither is rejected for that agent). The node's prompt, with
              ``{variables}`` filled and the collected slots appended, drives the agent's LLM for as long as the
              call stays here. Without ``text`` the LLM answers the caller's last words at once.
``tool``      ``tool`` (required: the name of one of the agent's HTTP tools), ``args`` (object; string values are
              templates, ``"{day_value}"`` alone passes the variable's own type), ``result`` (variable for the
              JSON reply, default ``result``), ``text`` (said while it runs), ``on_success`` and ``on_error``
              (required node ids), ``when`` (conditions on the result, tried before ``on_success``).
``answer``    ``next`` (required), ``query`` (template; default: the caller's last words), ``k`` (chunks, 1-10,
              default 3), ``text`` (said first, e.g. "Let me check."), ``not_found`` (said when nothing matches),
              ``fallback`` (node used instead of ``not_found``, or when the agent has no knowledge base),
              ``use_llm`` (default true: with an LLM, it phrases the answer from the chunks; without, the best
              chunk is trimmed to one or two sentences). The chunks used are recorded on the turn.
``transfer``  ``target`` (required: phone number or ``sip:`` URI), ``text``, ``summary`` (template; default:
              the intent and the collected slots), ``mode`` (``cold`` default, or ``warm``: the person answering
              hears the summary before being connected), ``headers`` ({"x-account": "{account}"}: extra SIP
              headers; names start with ``x-``, never ``x-twilio``). SIP transfers also carry the summary, the
              intent and the slots as ``x-`` headers. Speaks, then hands the call over. ``on_error`` (node id):
              taken when the carrier cannot transfer the call; without it the agent apologises ("I'm sorry, I
              couldn't connect you right now …") and the flow goes back to the node that last waited.
``handover``  ``agent`` (required: another agent of the workspace, by name), ``text``, ``summary``, ``on_error``
              (node used when that agent cannot take the call). The same call continues with the other agent,
              which keeps the variables and the conversation so far.
``end``       ``text`` (optional), ``reason`` (optional, default ``"completed"``). Speaks, then hangs up. Its text
              is uninterruptible unless the node says ``"uninterruptible": false`` (nothing said over a goodbye
              can be answered; the caller's words are still stored).

A route::

    {"intent": "booking",                                  # optional: recorded in variables["intent"]
                                                           #   (default: the `next` node id)
     "keywords": ["book", "appointment", "see the dentist"],   # words or phrases
     "examples": ["I need to come in for a filling"],      # optional: whole phrases, matched by similarity
     "description": "The caller wants an appointment",     # optional: helps the LLM choose
     "dtmf": "0",                                          # optional: one key, 0-9 * #
     "capture": "day",                                     # optional: store the keyword heard in variables["day"]
     "next": "booking"}                                    # required: node id

A route needs ``keywords``, ``examples`` or ``dtmf``. Keywords match whole words, case-insensitively, anywhere in
the caller's turn; a phrase matches its words in sequence. Both sides go through `normalize()` first, so ASR
punctuation, curly apostrophes, accents, contractions ("I'd like" == "I would like") and simple inflections
("appointments", "booking", "opening hours" vs "open hours") do not matter. ``capture`` stores the keyword *as
written in the flow* (so ``"Monday"`` is stored capitalised even if the caller said "mondays"). Examples match
by token overlap with a tolerance for misheard words (normalised edit distance): no model, microseconds.

A condition (``when``)::

    {"var": "result.available", "equals": true, "next": "offer_slot"}

``var`` is a variable or a dotted path into one; exactly one of ``equals``, ``not_equals``, ``in``, ``gt``,
``gte``, ``lt``, ``lte``, ``exists``, ``contains``.

Text may contain ``{name}`` placeholders, filled from the conversation variables (``intent``, slots, captured
values, tool results, anything the call was started with, ``caller`` = the caller's number); an unknown name
becomes an empty string.

Keys starting with ``_`` are ignored anywhere (room for editor positions and comments); any other unknown key is
an error, so typos such as ``"nxt"`` are caught.

Adding a node type means one `NodeType` entry in `NODE_TYPES` here (and its checks in `checks.py`) and one
module in `calls.flows.nodes` that registers its handlers (`nodes.registry`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..text import normalize
from .checks import NODE_CHECKS, Capabilities, check_capabilities, check_routes
from .errors import DTMF_KEYS, FlowError

__all__ = [
    "FlowError", "NodeType", "NODE_TYPES", "Capabilities", "validate_flow", "normalize", "DTMF_KEYS", "outgoing",
]  # fmt: skip

_TOP_LEVEL = frozenset({
    "start", "nodes", "global_routes", "default_reprompt", "no_input_goodbye", "timezone", "llm_routing",
    "id", "name", "version", "description",
})  # fmt: skip
_COMMON = {"type": str, "uninterruptible": bool, "label": str, "description": str}


# ---------------------------------------------------------------- node types


@dataclass(frozen=True)
class NodeType:
    """What a node type looks like. Its behaviour is its handlers in `calls.flows.nodes` (registered by name)."""

    required: dict[str, type | tuple[type, ...]] = field(default_factory=dict)
    optional: dict[str, type | tuple[type, ...]] = field(default_factory=dict)
    node_refs: tuple[str, ...] = ()  # fields naming another node
    moves_on: tuple[str, ...] = ()  # fields followed immediately, without waiting (say -> next)
    waits: bool = False  # waits for the caller (text / key press / silence)
    terminal: bool = False  # the call leaves the flow here (hang-up, transfer, hand-over)
    check: Callable[[str, dict, dict], None] | None = None  # extra checks: (node_id, node, flow)

    @property
    def chains_to(self) -> str | None:  # the field `say` follows (kept for older callers)
        return self.moves_on[0] if self.moves_on else None


_SLOT_FIELDS: dict[str, type | tuple[type, ...]] = {
    "invalid": str, "out_of_range": str, "reprompt": str, "confirm": str, "on_deny": str, "dtmf_choices": dict,
    "max_attempts": int, "on_fail": str, "routes": list, "when": list, "on_silence": str,
    "min": (int, str), "max": (int, str), "min_days_ahead": int, "max_days_ahead": int, "weekdays": list,
    "min_digits": int, "max_digits": int, "assume_daytime": bool,
}  # fmt: skip

NODE_TYPES: dict[str, NodeType] = {
    "say": NodeType(required={"text": str, "next": str}, node_refs=("next",), moves_on=("next",)),
    "ask": NodeType(
        required={"text": str},
        optional={"routes": list, "reprompt": str, "fallback": str, "llm_routing": bool, "on_silence": str},
        node_refs=("fallback", "on_silence"),
        waits=True,
        check=NODE_CHECKS["ask"],
    ),
    "collect": NodeType(
        required={"slot": str, "kind": str, "text": str, "next": str},
        optional=_SLOT_FIELDS,
        node_refs=("next", "on_deny", "on_fail", "on_silence"),
        waits=True,
        check=NODE_CHECKS["collect"],
    ),
    "llm": NodeType(
        required={"prompt": str},
        optional={"text": str, "tools": list, "routes": list, "max_turns": int, "next": str, "fallback": str,
                  "on_silence": str},
        node_refs=("next", "fallback", "on_silence"),
        waits=True,
        check=NODE_CHECKS["llm"],
    ),
    "tool": NodeType(
        required={"tool": str, "on_success": str, "on_error": str},
        optional={"args": dict, "result": str, "text": str, "when": list},
        node_refs=("on_success", "on_error"),
        moves_on=("on_success", "on_error"),
        check=NODE_CHECKS["tool"],
    ),
    "answer": NodeType(
        required={"next": str},
        optional={"query": str, "k": int, "text": str, "not_found": str, "fallback": str, "use_llm": bool},
        node_refs=("next", "fallback"),
        moves_on=("next", "fallback"),
        check=NODE_CHECKS["answer"],
    ),
    "transfer": NodeType(
        required={"target": str},
        optional={"text": str, "summary": str, "mode": str, "headers": dict, "on_error": str},
        node_refs=("on_error",),
        terminal=True,
        check=NODE_CHECKS["transfer"],
    ),
    "handover": NodeType(
        required={"agent": str},
        optional={"text": str, "summary": str, "on_error": str},
        node_refs=("on_error",),
        terminal=True,
        check=NODE_CHECKS["handover"],
    ),
    "end": NodeType(optional={"text": str, "reason": str}, terminal=True),
}


def outgoing(node: dict) -> list[tuple[str, str]]:
    """Every (field or label, target node) a node can move to: its node references, routes and conditions. For
    diagrams and reachability; the engine decides which one is taken."""
    spec = NODE_TYPES[node["type"]]
    out = [(name, node[name]) for name in spec.node_refs if isinstance(node.get(name), str)]
    for i, route in enumerate(node.get("routes") or [], start=1):
        out.append((route.get("intent") or f"route {i}", route["next"]))
    for i, cond in enumerate(node.get("when") or [], start=1):
        out.append((f"condition {i}", cond["next"]))
    return out


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
    for name in spec.required:
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


def _immediate(node: dict) -> list[str]:
    """Nodes this one moves on to without waiting for the caller."""
    spec = NODE_TYPES[node["type"]]
    targets = [node[name] for name in spec.moves_on if isinstance(node.get(name), str)]
    if spec.moves_on:
        targets += [cond["next"] for cond in node.get("when") or []]
    return targets


def _check_chains(nodes: dict) -> None:
    """Reject loops made only of nodes that move on without waiting (they would never stop talking)."""
    done: set[str] = set()
    on_path: list[str] = []

    def visit(node_id: str) -> None:
        if node_id in done:
            return
        if node_id in on_path:
            loop = on_path[on_path.index(node_id) :] + [node_id]
            raise FlowError(f"node {node_id!r}: 'next' forms a loop with no node that waits: {' -> '.join(loop)}")
        on_path.append(node_id)
        for target in _immediate(nodes[node_id]):
            visit(target)
        on_path.pop()
        done.add(node_id)

    for first in nodes:
        visit(first)


def validate_flow(flow: dict, capabilities: Capabilities | None = None) -> None:
    """Raise `FlowError` (naming node and field) unless `flow` is a well-formed flow. Never modifies it.

    With `capabilities` (what the agent has: an LLM, HTTP tools, other agents), also check that the flow only
    uses what its agent can do.
    """
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
    for name in ("default_reprompt", "no_input_goodbye", "name", "description", "timezone"):
        if name in flow and not isinstance(flow[name], str):
            raise FlowError(f"flow: {name!r} must be a string")
    if "llm_routing" in flow and not isinstance(flow["llm_routing"], bool):
        raise FlowError("flow: 'llm_routing' must be true or false")
    if "timezone" in flow:
        _check_timezone(flow["timezone"])
    for node_id, node in nodes.items():
        _check_node(node_id, node, flow)
    if "global_routes" in flow:
        check_routes("flow", flow["global_routes"], nodes, field_name="global_routes", label="global route")
    _check_chains(nodes)
    if capabilities is not None:
        check_capabilities(flow, capabilities)


def _check_timezone(name: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise FlowError(f"flow: 'timezone' {name!r} is not a known time zone (e.g. 'Europe/London')") from None

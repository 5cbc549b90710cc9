"""A readable picture of a flow, built on the server: nodes in columns by distance from the start, each with its
outgoing transitions. Plain data for a template; no JavaScript diagram library needed."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from calls.flows.schema import NODE_TYPES, outgoing


@dataclass
class Transition:
    label: str  # what makes the call take it: keywords, a key press, "then", "no match"...
    target: str
    kind: str  # "next" | "route" | "fallback" | "global"


@dataclass
class DiagramNode:
    id: str
    type: str
    text: str
    depth: int | None  # None: unreachable from the start
    is_start: bool = False
    uninterruptible: bool = False
    detail: str = ""  # transfer target, end reason
    transitions: list[Transition] = field(default_factory=list)


@dataclass
class Diagram:
    columns: list[list[DiagramNode]]
    unreachable: list[DiagramNode]
    global_routes: list[Transition]


def _route_label(route: dict) -> str:
    parts = []
    if route.get("keywords"):
        words = route["keywords"]
        shown = ", ".join(f"“{w}”" for w in words[:4]) + (f" +{len(words) - 4}" if len(words) > 4 else "")
        parts.append(shown)
    if route.get("dtmf"):
        parts.append(f"key {route['dtmf']}")
    label = " or ".join(parts)
    if route.get("intent"):
        label = f"{route['intent']}: {label}"
    return label


def _transitions(node: dict) -> list[Transition]:
    """Every way out of a node, as the schema defines them (routes get a readable label)."""
    routes = {r["next"]: r for r in node.get("routes") or []}
    out: list[Transition] = []
    for label, target in outgoing(node):
        if label == "next":
            out.append(Transition("then", target, "next"))
        elif label == "fallback":
            out.append(Transition("no match", target, "fallback"))
        elif target in routes and label == (routes[target].get("intent") or label):
            out.append(Transition(_route_label(routes[target]) or label, target, "route"))
        else:
            out.append(Transition(label.replace("_", " "), target, "route"))
    return out


def build_diagram(flow: dict) -> Diagram:
    """Lay out a flow that has passed `validate_flow` (unknown node references are not expected here)."""
    nodes: dict = flow.get("nodes", {})
    global_routes = [Transition(_route_label(r), r["next"], "global") for r in flow.get("global_routes", [])]
    depth: dict[str, int] = {}
    start = flow.get("start")
    queue = deque([start] if start in nodes else [])
    if start in nodes:
        depth[start] = 0
    # Global routes are reachable from every `ask`, so their targets sit one step after the first ask reached.
    while queue:
        node_id = queue.popleft()
        node = nodes[node_id]
        targets = [t.target for t in _transitions(node)]
        if NODE_TYPES[node["type"]].waits:
            targets += [t.target for t in global_routes]
        for target in targets:
            if target in nodes and target not in depth:
                depth[target] = depth[node_id] + 1
                queue.append(target)

    def make(node_id: str) -> DiagramNode:
        node = nodes[node_id]
        detail = ""
        if node["type"] == "transfer":
            detail = f"transfer to {node['target']}"
        elif node["type"] == "end":
            detail = f"hang up ({node.get('reason', 'completed')})"
        return DiagramNode(
            id=node_id,
            type=node["type"],
            text=node.get("text", ""),
            depth=depth.get(node_id),
            is_start=node_id == start,
            uninterruptible=bool(node.get("uninterruptible")),
            detail=detail,
            transitions=_transitions(node),
        )

    columns: list[list[DiagramNode]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    # Keep the author's order inside a column: it is usually the order they think in.
    for node_id in nodes:
        if node_id in depth:
            columns[depth[node_id]].append(make(node_id))
    unreachable = [make(node_id) for node_id in nodes if node_id not in depth]
    return Diagram(columns=columns, unreachable=unreachable, global_routes=global_routes)

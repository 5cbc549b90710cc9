"""The flow engine: walks a flow (see `calls.flows.schema` for the format) one caller event at a time.

Pure, synchronous and deterministic: no I/O, no clock of its own, no randomness, no Django. Each event returns the
list of actions to perform — the brain output types of `calls.providers.base` (`TextDelta`, `EndCall`,
`Transfer`) — and updates `state` (a `BrainState`: the node the conversation waits at, and its variables) before
returning, so the caller may persist `state` at any time and rebuild an engine from it later.

Nodes that need the outside world (HTTP tools, the knowledge base, the LLM, another agent) end the action list
with an *effect* (`calls.flows.effects`); the host performs it and calls `resume(outcome)`, which continues the
flow. `pending` is the effect awaiting its outcome. Simple decisions — keywords, keys, yes/no, slot values,
example phrases — never wait for anything.

The package, bottom up:

- `compile`: schema -> `CompiledFlow` (keyword regexes, example phrases, route tables), cached by content, so
  building an engine per call is cheap and `on_text` — in the turn's critical path — is a normalisation plus a
  few regex searches;
- `matching`: which route a caller event takes;
- `placeholders`: `{name}` in what a flow says;
- `flow_engine`: `FlowEngine`, which dispatches to each node type's handlers (`calls.flows.nodes`, registered by
  type in `calls.flows.nodes.registry`). The types the nodes share with it are `calls.flows.types`.
"""

from __future__ import annotations

from ..effects import is_effect
from ..types import Action, CompiledFlow, Heard, Route
from .compile import compile_flow
from .flow_engine import FlowEngine

__all__ = ["Action", "CompiledFlow", "FlowEngine", "Heard", "Route", "compile_flow", "is_effect"]

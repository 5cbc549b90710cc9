"""The node types, one module each. Every module defines `TYPE` and `enter` and, as it needs, `on_input` (the
node waits for the caller), `reprompt` (silence) and `RESUME` ({effect type: handler}), and registers them in
`registry`. Importing this package registers every built-in type; the engine finds them there by name.

Node modules import `calls.flows.types` (and the effects, slots, conditions they use), never the engine.
"""

from __future__ import annotations

from . import answer, ask, collect, end, handover, llm, say, tool, transfer
from .registry import HANDLERS, register

__all__ = ["HANDLERS", "MODULES", "register"]

MODULES = (say, ask, end, collect, llm, tool, answer, transfer, handover)

"""The node types the engine knows, by name. Every node module registers its handlers here when it is imported
(`calls.flows.nodes` imports them all); the engine looks them up by a node's `type` and never imports a node
module itself."""

from __future__ import annotations

from ..types import NodeHandlers

__all__ = ["HANDLERS", "register"]

HANDLERS: dict[str, NodeHandlers] = {}


def register(handlers: NodeHandlers) -> NodeHandlers:
    """Make `handlers.type` runnable (a type registered again replaces the earlier handlers). The type's format
    must be known to `calls.flows.schema.NODE_TYPES` too, or no flow using it validates."""
    HANDLERS[handlers.type] = handlers
    return handlers

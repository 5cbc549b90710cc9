"""What the engine asks its host to do, and what it gets back.

The engine stays pure (no I/O, no clock of its own): when a node needs the outside world — an HTTP tool, the
knowledge base, the LLM, another agent — it ends its action list with an *effect*. The host (`FlowBrain`)
performs it and hands the outcome to `FlowEngine.resume()`, which continues the flow. Tests drive the same
protocol by hand, so every node type is testable without a network.

`Sources` is not an effect: it is a note in the action list (the knowledge chunks a reply used), consumed by
the host and never spoken.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "CallTool", "SearchKnowledge", "LlmTurn", "ComposeAnswer", "ChooseRoute", "Handover", "Effect", "EFFECTS",
    "is_effect", "ToolResult", "KnowledgeHit", "LlmOutcome", "Sources", "EngineContext",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class CallTool:
    node: str
    tool: str
    arguments: dict


@dataclass(frozen=True, slots=True)
class SearchKnowledge:
    node: str
    query: str
    k: int = 3


@dataclass(frozen=True, slots=True)
class LlmTurn:
    """One caller turn handled by the LLM with the node's prompt; `text` is what the caller said."""

    node: str
    prompt: str
    text: str
    tools: tuple[str, ...] = ()
    intents: tuple[tuple[str, str], ...] = ()  # (intent, description) the LLM may move on to


@dataclass(frozen=True, slots=True)
class ComposeAnswer:
    """The LLM phrases an answer to `question` from the knowledge chunks (spoken as it streams)."""

    node: str
    question: str
    chunks: tuple[KnowledgeHit, ...]


@dataclass(frozen=True, slots=True)
class ChooseRoute:
    """Nothing cheap matched: ask the LLM which intent (if any) `text` expresses."""

    node: str
    text: str
    intents: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Handover:
    node: str
    agent: str
    summary: str


Effect = CallTool | SearchKnowledge | LlmTurn | ComposeAnswer | ChooseRoute | Handover
EFFECTS = (CallTool, SearchKnowledge, LlmTurn, ComposeAnswer, ChooseRoute, Handover)


def is_effect(action: object) -> bool:
    return isinstance(action, EFFECTS)


# ---------------------------------------------------------------- outcomes


@dataclass(frozen=True, slots=True)
class ToolResult:
    ok: bool
    value: Any  # the parsed JSON reply (or text); for failures, {"error": "..."}


@dataclass(frozen=True, slots=True)
class KnowledgeHit:
    document_id: int | None
    chunk_id: int | None
    title: str
    text: str
    score: float  # higher is better
    heading: str = ""


@dataclass(frozen=True, slots=True)
class LlmOutcome:
    intent: str | None = None  # the route the LLM chose to leave by
    failed: bool = False  # the LLM could not answer (the host already apologised)
    spoke: bool = True


@dataclass(frozen=True, slots=True)
class Sources:
    hits: tuple[KnowledgeHit, ...]


# ---------------------------------------------------------------- what the engine may rely on


@dataclass(frozen=True)
class EngineContext:
    """What the host offers. The defaults (no LLM, no knowledge base, the real clock) suit a bare engine."""

    has_llm: bool = False
    has_knowledge: bool = False
    clock: Callable[[], datetime] | None = None

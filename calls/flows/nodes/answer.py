"""`answer`: look the caller's question up in the agent's knowledge base and say what it found.

Without an LLM the best chunk is trimmed to one or two sentences (`snippets.spoken_snippet`); with one, the LLM
phrases the answer from the chunks. Either way the chunks are noted as the reply's sources.
"""

from __future__ import annotations

from ..effects import ComposeAnswer, KnowledgeHit, LlmOutcome, SearchKnowledge
from ..snippets import spoken_snippet
from ..types import Action, Engine, NodeHandlers
from .registry import register


TYPE = "answer"
NOT_FOUND = "Sorry, I don't have that information."


def enter(engine: Engine, node_id: str, node: dict, out: list[Action]) -> str | None:
    engine.speak(node.get("text"), out, node)
    query = engine.fill(node["query"]) if node.get("query") else engine.last_text
    if not engine.context.has_knowledge or not query.strip():
        return _not_found(engine, node, out)
    engine.request(SearchKnowledge(node_id, query, node.get("k", 3)), out)
    return None


def _not_found(engine: Engine, node: dict, out: list[Action]) -> str:
    if node.get("fallback"):
        return node["fallback"]
    engine.speak(node.get("not_found") or NOT_FOUND, out, node)
    return node["next"]


def _found(engine: Engine, node_id: str, node: dict, effect: SearchKnowledge, hits: object,
           out: list[Action]) -> None:
    chunks = tuple(h for h in (hits or ()) if isinstance(h, KnowledgeHit))  # type: ignore[union-attr]
    if not chunks:
        engine.goto(_not_found(engine, node, out), out)
        return
    engine.note_sources(chunks, out)
    if engine.context.has_llm and node.get("use_llm", True):
        engine.request(ComposeAnswer(node_id, effect.query, chunks), out)
        return
    engine.speak(spoken_snippet(chunks[0].text, effect.query), out, node)
    engine.goto(node["next"], out)


def _composed(engine: Engine, node_id: str, node: dict, effect: ComposeAnswer, outcome: object,
              out: list[Action]) -> None:
    if not isinstance(outcome, LlmOutcome) or outcome.failed or not outcome.spoke:
        engine.speak(spoken_snippet(effect.chunks[0].text, effect.question), out, node)
    engine.goto(node["next"], out)


RESUME = {SearchKnowledge: _found, ComposeAnswer: _composed}

register(NodeHandlers(TYPE, enter, resume=RESUME))

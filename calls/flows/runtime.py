"""Performing the engine's effects on a live call: HTTP tools, knowledge search, the LLM, hand-over.

Each `perform` is an async generator: it may speak while it works (a filler line when a tool is slow, the
LLM's streamed reply) and leaves the outcome in an `Outcome` for `FlowEngine.resume()`. Failures become outcomes
(a tool error, no hits, a failed LLM turn), never exceptions: the flow decides what the caller hears next.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

from ..providers.base import BrainOutput, ProviderError, TextDelta
from .context import FlowContext
from .effects import (
    CallTool,
    ChooseRoute,
    ComposeAnswer,
    Effect,
    Handover,
    KnowledgeHit,
    LlmOutcome,
    LlmTurn,
    SearchKnowledge,
    ToolResult,
)
from .llm_bridge import LlmBridge, Outcome

log = logging.getLogger("calls.flows.runtime")

__all__ = ["EffectRunner", "Outcome"]

FILLER = "One moment while I check that. "
FILLER_AFTER_S = 1.0


class EffectRunner:
    def __init__(self, context: FlowContext | None) -> None:
        self.context = context
        self.llm = LlmBridge(context) if context is not None and context.has_llm else None
        self._http = None

    async def perform(self, effect: Effect, outcome: Outcome, *, variables: dict, transcript: list[dict],
                      quiet: bool) -> AsyncIterator[BrainOutput]:
        """`quiet`: nothing was said yet in this reply (a slow tool then gets a filler line)."""
        if isinstance(effect, CallTool):
            async for out in self._tool(effect, outcome, quiet):
                yield out
        elif isinstance(effect, SearchKnowledge):
            outcome.value = await self._search(effect)
        elif isinstance(effect, LlmTurn | ComposeAnswer):
            if self.llm is None:
                outcome.value = LlmOutcome(failed=True, spoke=False)
                return
            run = self.llm.turn(effect, variables, outcome) if isinstance(effect, LlmTurn) else self.llm.compose(
                effect, outcome
            )
            async for out in run:
                yield out
        elif isinstance(effect, ChooseRoute):
            outcome.value = await self.llm.choose(effect) if self.llm is not None else None
        elif isinstance(effect, Handover):
            outcome.value = await self._load_brain(effect, variables, transcript)

    # ------------------------------------------------------------ tools

    async def _tool(self, effect: CallTool, outcome: Outcome, quiet: bool) -> AsyncIterator[BrainOutput]:
        from ..providers.llm.tools import HttpTool

        config = next((t for t in self.context.tools if t.get("name") == effect.tool), None) if self.context else None
        if config is None:
            outcome.value = ToolResult(False, {"error": f"the agent has no tool named {effect.tool!r}"})
            self._event("error", {"tool": effect.tool, "error": "unknown tool"})
            return
        try:
            tool = HttpTool.from_config(config)
        except ProviderError as exc:
            outcome.value = ToolResult(False, {"error": str(exc)})
            self._event("error", {"tool": effect.tool, "error": str(exc)[:300]})
            return
        task = asyncio.ensure_future(tool.call(self._client(), effect.arguments))
        try:
            done, _ = await asyncio.wait({task}, timeout=FILLER_AFTER_S)
            if not done and quiet:
                yield TextDelta(FILLER)  # the caller must not sit in silence while the service thinks
            text = await task
        finally:
            if not task.done():
                task.cancel()  # barge-in: the answer is no longer wanted
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        ok = not (isinstance(value, dict) and "error" in value)
        self._event("info", {"tool": effect.tool, "ok": ok})
        outcome.value = ToolResult(ok, value)

    def _client(self):
        if self._http is None:
            import httpx

            self._http = httpx.AsyncClient(follow_redirects=False)
        return self._http

    # ------------------------------------------------------------ knowledge

    async def _search(self, effect: SearchKnowledge) -> list[KnowledgeHit]:
        context = self.context
        if context is None:
            return []
        try:
            if context.search is not None:
                return list(await context.search(effect.query, effect.k))
            if context.agent_id is None:
                return []
            from knowledge.search import search

            from ..db import run_db

            hits = await run_db(search, context.agent_id, effect.query, effect.k)
        except Exception:  # a broken index must cost an answer, not the call
            log.exception("knowledge search failed for %r", effect.query)
            return []
        return [KnowledgeHit(h.document_id, h.chunk_id, h.title, h.text, h.score, h.heading) for h in hits]

    # ------------------------------------------------------------ hand-over

    async def _load_brain(self, effect: Handover, variables: dict, transcript: list[dict]):
        context = self.context
        if context is None:
            return None
        try:
            if context.load_brain is not None:
                return await context.load_brain(effect.agent, variables, transcript)
            from .handover import load_brain

            return await load_brain(context, effect, variables, transcript)
        except Exception:  # the flow's on_error path tells the caller
            log.exception("hand-over to %r failed", effect.agent)
            return None

    def _event(self, kind: str, detail: dict) -> None:
        if self.context is not None:
            self.context.event(kind, detail)

    def heard(self, full_text: str, heard_text: str, interrupted: bool) -> None:
        if self.llm is not None:
            self.llm.heard(full_text, heard_text, interrupted)

    async def close(self) -> None:
        if self.llm is not None:
            await self.llm.close()
        if self._http is not None:
            await self._http.aclose()
            self._http = None

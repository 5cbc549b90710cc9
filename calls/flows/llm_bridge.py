"""The flow's LLM work — `llm` node turns, answers phrased from knowledge chunks, route choices — done by the
OpenAI brain the LLM agents use (same client settings, timeouts, HTTP tools and history handling), with the
node's prompt in place of the agent's.

One `OpenAIBrain` per `llm` node, created on first use and kept for the call (its HTTP client stays warm); its
history lives in the flow's variables (``_llm.<node>``), so it is saved and resumed with the call.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

from ..providers.base import BrainOutput, BrainState, ProviderError, TextDelta, UserTurn
from ..text import normalize
from .context import FlowContext
from .effects import ChooseRoute, ComposeAnswer, LlmOutcome, LlmTurn

log = logging.getLogger("calls.flows.llm")

__all__ = ["LlmBridge", "NextStepTool", "Outcome", "TROUBLE_LINE"]

TROUBLE_LINE = "Sorry, I'm having some trouble on my end. "
COMPOSE_PROMPT = (
    "You answer a caller's question for the business using only these excerpts from its documents:\n\n{excerpts}\n\n"
    "If the excerpts do not contain the answer, say you don't have that information. Do not invent details."
)
CHOOSE_PROMPT = (
    "You route a phone call. Read the caller's words and reply with exactly one word: the intent they express, "
    "from this list, or none if no intent fits.\n\n{intents}"
)


class Outcome:
    """Where an effect's runner leaves its result (async generators cannot return one)."""

    value: object = None


class NextStepTool:
    """Lets the model leave an `llm` node through one of its routes (HTTP tool interface)."""

    name = "next_step"

    def __init__(self, intents: tuple[tuple[str, str], ...]) -> None:
        self.intents = dict(intents)
        self.chosen: str | None = None

    def schema(self) -> dict:
        steps = "; ".join(f"{intent}: {description}" if description else intent
                          for intent, description in self.intents.items())
        return {"type": "function", "function": {
            "name": self.name,
            "description": f"Move the call on to the next step once the caller wants it ({steps}). "
                           "Say at most a few words yourself: the next step speaks for itself.",
            "parameters": {"type": "object", "properties": {"step": {"type": "string", "enum": list(self.intents)}},
                           "required": ["step"]},
        }}  # fmt: skip

    async def call(self, client, arguments: dict) -> str:
        step = str(arguments.get("step", ""))
        if step not in self.intents:
            return json.dumps({"error": f"unknown step; use one of {list(self.intents)}"})
        self.chosen = step
        return "ok"


def _and(rule: str) -> str:
    """The agent's "reply in <language>" line, on a line of its own, if it has one."""
    return f"\n{rule}" if rule else ""


class LlmBridge:
    def __init__(self, context: FlowContext) -> None:
        self.context = context
        self._brains: dict[str, object] = {}
        self._steps: dict[str, NextStepTool] = {}
        self._last = None  # the brain whose words the caller heard last

    def _brain(self, key: str, tools: tuple[str, ...], store: dict, intents: tuple[tuple[str, str], ...] = ()):
        from ..providers.llm.openai_brain import OpenAIBrain

        brain = self._brains.get(key)
        if brain is None:
            options = {k: v for k, v in self.context.llm_options.items() if k != "transfer_targets"}
            # Transfers belong to the flow's transfer nodes: the node's LLM gets no transfer tool.
            configs = [t for t in self.context.tools if t.get("name") in tools]
            brain = OpenAIBrain(options=options, tools=configs, state=BrainState(node="llm", variables=store),
                                max_reprompts=self.context.max_reprompts)
            if self.context.agent_id is not None and key != "_choose":
                from knowledge.tool import KnowledgeTool

                brain.add_tool(KnowledgeTool(self.context.agent_id, on_sources=self.context.note_sources))
            if intents:
                self._steps[key] = NextStepTool(intents)
                brain.add_tool(self._steps[key])
            self._brains[key] = brain
        return brain

    async def turn(self, effect: LlmTurn, variables: dict, outcome: Outcome) -> AsyncIterator[BrainOutput]:
        from ..providers.llm.openai_brain import VOICE_RULES

        store = variables.setdefault("_llm", {}).setdefault(effect.node, {})
        brain = self._brain(effect.node, effect.tools, store, effect.intents)
        step = self._steps.get(effect.node)
        if step is not None:
            step.chosen = None
        brain.convo.system_prompt = f"{effect.prompt}\n\n{VOICE_RULES}" + _and(brain.language_rule)
        spoke = False
        try:
            async for out in brain.respond(UserTurn(effect.text)):
                if isinstance(out, TextDelta):
                    spoke = True
                    self._last = brain
                yield out
        except ProviderError as exc:
            self._failed(exc)
            yield TextDelta(TROUBLE_LINE)
            outcome.value = LlmOutcome(failed=True, spoke=True)
            return
        outcome.value = LlmOutcome(intent=step.chosen if step else None, spoke=spoke)

    async def compose(self, effect: ComposeAnswer, outcome: Outcome) -> AsyncIterator[BrainOutput]:
        from ..providers.llm.openai_brain import VOICE_RULES

        brain = self._fresh("_compose")
        excerpts = "\n\n".join(f"[{h.title}{' > ' + h.heading if h.heading else ''}] {h.text}" for h in effect.chunks)
        brain.convo.system_prompt = (f"{COMPOSE_PROMPT.format(excerpts=excerpts)}\n\n{VOICE_RULES}"
                                     + _and(brain.language_rule))
        spoke = False
        try:
            async for out in brain.respond(UserTurn(effect.question)):
                if isinstance(out, TextDelta):  # its end_call tool is ignored: answering is all it may do here
                    spoke = spoke or bool(out.text.strip())
                    self._last = brain
                    yield out
        except ProviderError as exc:
            self._failed(exc)
            outcome.value = LlmOutcome(failed=True, spoke=spoke)
            return
        outcome.value = LlmOutcome(spoke=spoke)

    async def choose(self, effect: ChooseRoute) -> str | None:
        brain = self._fresh("_choose")
        intents = "\n".join(f"- {intent}: {description}" if description else f"- {intent}"
                            for intent, description in effect.intents)
        brain.convo.system_prompt = CHOOSE_PROMPT.format(intents=intents)
        words: list[str] = []
        try:
            async for out in brain.respond(UserTurn(effect.text)):
                if isinstance(out, TextDelta):
                    words.append(out.text)  # never spoken: a routing decision, not a reply
        except ProviderError as exc:
            log.warning("LLM route choice failed: %s", exc)
            return None
        answer = f" {normalize(''.join(words))} "
        for intent, _ in effect.intents:
            wanted = normalize(intent)
            if wanted and f" {wanted} " in answer:
                return intent
        return None

    def _failed(self, exc: ProviderError) -> None:
        detail = {"stage": "flow-llm", "provider": exc.provider, "error": str(exc)[:300]}
        self.context.event("provider_failure", detail)

    @property
    def last_ttfb_ms(self) -> float | None:
        return self._last.last_ttfb_ms if self._last is not None else None

    def _fresh(self, key: str):
        """A brain for one-off requests: no history from earlier uses."""
        brain = self._brain(key, (), {})
        brain.convo.messages.clear()
        brain.convo.summary = ""
        return brain

    def heard(self, full_text: str, heard_text: str, interrupted: bool) -> None:
        if self._last is not None:
            self._last.heard(full_text, heard_text, interrupted)
            self._last = None

    async def close(self) -> None:
        for brain in self._brains.values():
            try:
                await brain.close()
            except Exception as exc:  # closing one must not stop closing the others
                log.warning("closing a flow LLM failed: %r", exc)
        self._brains.clear()

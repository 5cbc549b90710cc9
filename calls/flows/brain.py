"""`FlowBrain`: the flow engine behind the async `Brain` contract, so a call runs with no LLM at all — or with
one for the nodes that ask for it.

Each event is decided synchronously (well under a millisecond) and the state is updated *before* the first
output is yielded, so cancelling the iteration on barge-in is safe: the flow has already moved on, exactly as
if the caller had heard the whole reply. Every `TextDelta` ends with a space, so the deltas concatenate into
well-formed text.

Effects (tools, knowledge, LLM, hand-over) are performed here, between the engine's steps. A barge-in while one
is under way abandons it: the flow goes back to the question it last asked, and the caller's new words are
taken there. After a hand-over every event goes to the other agent's brain (same call, same session).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from calls.providers.base import (
    ActionFailed,
    Brain,
    BrainInput,
    BrainOutput,
    BrainState,
    CallContext,
    Dtmf,
    Silence,
    TextDelta,
    UserTurn,
)

from .context import FlowContext, capabilities_for
from .demo import DEMO_FLOW
from .effects import Sources
from .engine import CompiledFlow, FlowEngine, is_effect
from .llm_bridge import Outcome
from .runtime import EffectRunner
from .schema import FlowError, validate_flow

log = logging.getLogger("calls.flows")

__all__ = ["FlowBrain"]

MAX_TRANSCRIPT = 40


class FlowBrain(Brain):
    """Speaks the agent's greeting, then follows the flow."""

    name = "flow"

    def __init__(
        self,
        flow: dict | CompiledFlow,
        greeting: str = "",
        state: BrainState | None = None,
        *,
        max_reprompts: int = 2,
        context: FlowContext | None = None,
    ) -> None:
        self.engine = FlowEngine(flow, state)
        self.greeting_text = greeting or ""
        self.max_reprompts = max_reprompts
        self.context: FlowContext | None = None
        self.runner = EffectRunner(None)
        self.delegate: Brain | None = None  # the agent that took the call over (hand-over)
        self.transcript: list[dict] = []  # what was said, as chat messages, for an LLM agent taking over
        if context is not None:
            self.attach(context)

    @classmethod
    def for_agent(cls, agent, state: BrainState | None) -> FlowBrain:
        """The agent's flow — the demo flow if it has none — as the provider registry builds brains."""
        return cls(agent.flow or DEMO_FLOW, agent.greeting, state, max_reprompts=agent.max_reprompts)

    @property
    def state(self) -> BrainState:  # type: ignore[override]
        return self.delegate.state if self.delegate is not None else self.engine.state

    @property
    def last_ttfb_ms(self) -> float | None:  # type: ignore[override]
        if self.delegate is not None:
            return self.delegate.last_ttfb_ms
        return self.runner.llm.last_ttfb_ms if self.runner.llm is not None else None

    def bind(self, call: CallContext) -> None:
        """The call's tools, LLM, knowledge base and variables, and where sources and events go (`FlowContext`).
        A flow that stands in for a failed LLM gets no LLM itself (it is there because the LLM failed)."""
        has_llm = False if call.as_fallback else None
        self.attach(FlowContext.for_agent(call.agent, call.call, call.recorder, has_llm=has_llm), call.agent)

    def attach(self, context: FlowContext, agent=None) -> None:
        """Use what this call offers (see `FlowContext`). Variables the call started with fill in what the saved
        state does not have. With `agent`, check the flow against it (and say so on the call if it does not fit)."""
        self.context = context
        self.engine.context = context.engine_context()
        for name, value in context.variables.items():
            self.engine.variables.setdefault(name, value)
        self.runner = EffectRunner(context)
        if agent is not None and agent.flow:  # an agent without a flow runs the demo, which is valid
            try:
                validate_flow(agent.flow, capabilities_for(agent))
            except FlowError as exc:  # the dashboard should have refused it; say so on the call record
                log.warning("agent %s: flow does not fit the agent: %s", agent.pk, exc)
                context.event("error", {"flow": str(exc)[:300]})

    # ------------------------------------------------------------ Brain contract

    async def greeting(self) -> AsyncIterator[BrainOutput]:
        if self.delegate is not None:
            async for out in self.delegate.greeting():
                yield out
            return
        actions: list = []
        text = self.engine.fill(self.greeting_text)
        if text:
            actions.append(TextDelta(text + " "))
        actions.extend(self.engine.start())
        async for out in self._run(actions):
            yield out

    async def respond(self, event: BrainInput) -> AsyncIterator[BrainOutput]:
        if isinstance(event, UserTurn) and event.text.strip():
            self._remember("user", event.text.strip())
        if self.delegate is not None:
            async for out in self.delegate.respond(event):
                yield out
            return
        handler = self._HANDLERS.get(type(event))
        actions = handler(self, event) if handler else []
        if not actions and self.engine.state.node is None and self.engine.pending is None:
            # Nowhere to resume from (a stream resumed after the flow was edited, or after a hand-over whose
            # agent this brain is not): start the flow rather than leave the caller in silence.
            actions = self.engine.start()
        async for out in self._run(actions):
            yield out

    def heard(self, full_text: str, heard_text: str, interrupted: bool) -> None:
        self._remember("assistant", heard_text if interrupted else full_text)
        if self.delegate is not None:
            self.delegate.heard(full_text, heard_text, interrupted)
        else:
            self.runner.heard(full_text, heard_text, interrupted)

    async def close(self) -> None:
        await self.runner.close()
        if self.delegate is not None:
            await self.delegate.close()

    # ------------------------------------------------------------ internals

    async def _run(self, actions: list) -> AsyncIterator[BrainOutput]:
        """Yield the engine's actions; perform an effect when one ends the list, then continue from its outcome."""
        spoke = False
        while True:
            effect = None
            for action in actions:
                if is_effect(action):
                    effect = action
                    break
                if isinstance(action, Sources):
                    self._note_sources(action.hits)
                    continue
                spoke = spoke or isinstance(action, TextDelta)
                yield action
            if effect is None:
                return
            outcome = Outcome()
            completed = False
            try:
                work = self.runner.perform(effect, outcome, variables=self.engine.variables,
                                           transcript=self.transcript, quiet=not spoke)
                last = ""
                async with contextlib.aclosing(work):
                    async for out in work:
                        if isinstance(out, TextDelta):
                            spoke, last = True, out.text or last
                        yield out
                completed = True
                if last and not last[-1].isspace():
                    yield TextDelta(" ")  # streamed LLM text ends mid-line: keep the flow's next sentence apart
            finally:
                if not completed:
                    self.engine.abandon()
            if isinstance(outcome.value, Brain):  # a hand-over: the other agent speaks from now on
                self.delegate = outcome.value
                self.engine.resume(True)
                async with contextlib.aclosing(self.delegate.greeting()) as opening:
                    async for out in opening:
                        yield out
                return
            actions = self.engine.resume(outcome.value)

    def _note_sources(self, hits) -> None:
        if self.context is not None and self.context.note_sources is not None:
            self.context.note_sources(list(hits))

    def _remember(self, role: str, text: str) -> None:
        if text:
            self.transcript.append({"role": role, "content": text})
            del self.transcript[:-MAX_TRANSCRIPT]

    def _on_turn(self, event: UserTurn) -> list:
        return self.engine.on_text(event.text)

    def _on_dtmf(self, event: Dtmf) -> list:
        return self.engine.on_dtmf(event.digit)

    def _on_silence(self, event: Silence) -> list:
        return self.engine.on_silence(event.count, self.max_reprompts)

    def _on_action_failed(self, event: ActionFailed) -> list:
        return self.engine.on_action_failed(event.line)

    _HANDLERS = {UserTurn: _on_turn, Dtmf: _on_dtmf, Silence: _on_silence, ActionFailed: _on_action_failed}

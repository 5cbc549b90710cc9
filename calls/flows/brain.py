"""`FlowBrain`: the flow engine behind the async `Brain` contract, so a call runs with no LLM at all."""

from __future__ import annotations

from collections.abc import AsyncIterator

from calls.providers.base import Brain, BrainInput, BrainOutput, BrainState, Dtmf, Silence, TextDelta, UserTurn

from .engine import CompiledFlow, FlowEngine

__all__ = ["FlowBrain"]


class FlowBrain(Brain):
    """Speaks the agent's greeting, then follows the flow.

    Each event is decided synchronously (well under a millisecond) and the state is updated *before* the first
    output is yielded, so cancelling the iteration on barge-in is safe: the flow has already moved on, exactly as
    if the caller had heard the whole reply. Every `TextDelta` ends with a space, so the deltas concatenate into
    well-formed text.
    """

    name = "flow"

    def __init__(
        self,
        flow: dict | CompiledFlow,
        greeting: str = "",
        state: BrainState | None = None,
        *,
        max_reprompts: int = 2,
    ) -> None:
        self.engine = FlowEngine(flow, state)
        self.state = self.engine.state
        self.greeting_text = greeting or ""
        self.max_reprompts = max_reprompts

    async def greeting(self) -> AsyncIterator[BrainOutput]:
        actions: list[BrainOutput] = []
        text = self.engine.fill(self.greeting_text)
        if text:
            actions.append(TextDelta(text + " "))
        actions.extend(self.engine.start())
        for action in actions:
            yield action

    async def respond(self, event: BrainInput) -> AsyncIterator[BrainOutput]:
        handler = self._HANDLERS.get(type(event))
        actions = handler(self, event) if handler else []
        for action in actions:
            yield action

    def _on_turn(self, event: UserTurn) -> list[BrainOutput]:
        return self.engine.on_text(event.text)

    def _on_dtmf(self, event: Dtmf) -> list[BrainOutput]:
        return self.engine.on_dtmf(event.digit)

    def _on_silence(self, event: Silence) -> list[BrainOutput]:
        return self.engine.on_silence(event.count, self.max_reprompts)

    _HANDLERS = {UserTurn: _on_turn, Dtmf: _on_dtmf, Silence: _on_silence}

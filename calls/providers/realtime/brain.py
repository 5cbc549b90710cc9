"""`RealtimeBrain`: the provider an agent chooses ("openai-realtime") for a speech-to-speech call.

It is a brain in the registry's sense — chosen per agent, built with `for_agent`, bound to the call — but it does not
answer text turns: the realtime session (`calls.session.realtime_session`) streams the call's audio to the model
through it. Asked to `respond` (by a cascaded session, which has no business holding it), it fails permanently, so
a fallback chain moves on at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from ..base import Brain, BrainOutput, BrainState, CallContext, ProviderError
from .config import RealtimeConfig
from .link import PROVIDER, RealtimeLink
from .tools import RealtimeTools


class RealtimeBrain(Brain):
    name = PROVIDER
    #: The session factory builds a realtime session for a brain that says this.
    speech_to_speech = True

    def __init__(self, config: RealtimeConfig) -> None:
        self.config = config
        self.tools = RealtimeTools(config)
        self.state = BrainState(node="realtime", variables={})

    @classmethod
    def for_agent(cls, agent, state: BrainState | None, variables: dict | None = None) -> RealtimeBrain:
        return cls(RealtimeConfig.from_agent(agent, variables))

    def bind(self, call: CallContext) -> None:
        """The agent's knowledge base as the `search_knowledge` tool (offered once it holds documents)."""
        if call.agent.pk is None:
            return
        # Imported on use, as the LLM brain does: the knowledge app brings its Django models.
        from knowledge.tool import KnowledgeTool

        self.tools.add_tool(KnowledgeTool(call.agent.pk, on_sources=getattr(call.recorder, "note_sources", None)))

    def link(self) -> RealtimeLink:
        c = self.config
        return RealtimeLink(model=c.model, base_url=c.base_url, connect_timeout_s=c.connect_timeout_s)

    async def greeting(self) -> AsyncIterator[BrainOutput]:
        raise ProviderError("a realtime brain speaks only in a realtime session", provider=PROVIDER, permanent=True)
        yield  # pragma: no cover  (an async generator)

    async def respond(self, event) -> AsyncIterator[BrainOutput]:
        raise ProviderError("a realtime brain speaks only in a realtime session", provider=PROVIDER, permanent=True)
        yield  # pragma: no cover

    async def close(self) -> None:
        await self.tools.close()

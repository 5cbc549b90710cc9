"""What a flow can use on a live call, and how a call gives it to the brain.

`FlowContext` is built from the agent (and call) at session start, without touching the database (the session
is built on the event loop): the HTTP tool configs, whether an LLM is configured, the initial variables. Anything
that needs the database (knowledge search, loading the agent of a hand-over) is an async function run on the
recorder's database thread when the flow gets there.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from .checks import Capabilities
from .effects import EngineContext, KnowledgeHit

log = logging.getLogger("calls.flows")

__all__ = ["FlowContext", "agent_has_llm", "capabilities_for", "bind_call"]


def agent_has_llm(agent) -> bool:
    """An LLM agent, or a flow agent with LLM options (`provider_options["llm"]`: model, prompt, ...)."""
    return agent.llm_provider != "flow" or bool((agent.provider_options or {}).get("llm"))


def capabilities_for(agent, agent_names: set[str] | None = None) -> Capabilities:
    configs = (agent.provider_options or {}).get("tools", [])
    tools = frozenset(str(t.get("name", "")) for t in configs if isinstance(t, dict))
    return Capabilities(has_llm=agent_has_llm(agent), tools=tools,
                        agents=frozenset(agent_names) if agent_names is not None else None)


@dataclass
class FlowContext:
    agent_id: int | None = None
    workspace_id: int | None = None
    agent_name: str = ""
    has_llm: bool = False
    llm_options: dict = field(default_factory=dict)
    tools: list[dict] = field(default_factory=list)  # HTTP tool configs (llm/tools.py format)
    variables: dict = field(default_factory=dict)  # set at call start; what the brain saved wins
    clock: Callable[[], datetime] | None = None
    max_reprompts: int = 2
    #: The chunks a reply used (recorder.note_sources on a call).
    note_sources: Callable[[list], None] | None = None
    #: A CallEvent (recorder.event on a call).
    on_event: Callable[[str, dict], None] | None = None
    #: Overrides for tests; by default the knowledge base and the Agent table.
    search: Callable[[str, int], Awaitable[list[KnowledgeHit]]] | None = None
    load_brain: Callable[[str, dict, list[dict]], Awaitable[object | None]] | None = None

    @property
    def has_knowledge(self) -> bool:
        return self.search is not None or self.agent_id is not None

    def engine_context(self) -> EngineContext:
        return EngineContext(has_llm=self.has_llm, has_knowledge=self.has_knowledge, clock=self.clock)

    def event(self, kind: str, detail: dict) -> None:
        if self.on_event is not None:
            try:
                self.on_event(kind, detail)
            except Exception:  # recording must never break the conversation
                log.exception("flow event %s not recorded", kind)

    @classmethod
    def for_agent(cls, agent, call=None, recorder=None, *, has_llm: bool | None = None) -> FlowContext:
        options = agent.provider_options or {}
        variables: dict = {}
        if call is not None:
            variables.update(call.variables or {})
            if call.from_number:
                variables.setdefault("caller", call.from_number)
        return cls(
            agent_id=agent.pk,
            workspace_id=agent.workspace_id,
            agent_name=agent.name,
            has_llm=agent_has_llm(agent) if has_llm is None else has_llm,
            llm_options=dict(options.get("llm") or {}),
            tools=[t for t in options.get("tools", []) if isinstance(t, dict)],
            variables=variables,
            max_reprompts=agent.max_reprompts,
            note_sources=getattr(recorder, "note_sources", None),
            on_event=getattr(recorder, "event", None),
        )


def bind_call(brain, agent, call=None, recorder=None) -> None:
    """Give a call's brain (however wrapped) what its flows and LLMs need on this call: the agent's tools, LLM,
    knowledge base, the call's variables, and where to record sources and events.

    A flow that is only the fallback of a failing LLM gets no LLM itself (it is there because the LLM failed).
    """
    import sys

    from ..providers.fallback import FallbackBrain
    from .brain import FlowBrain

    # Only look for LLM brains if their module is loaded: importing the openai SDK costs seconds, and a call
    # whose brain is a flow must not pay that before its greeting.
    llm_module = sys.modules.get("calls.providers.llm.openai_brain")
    OpenAIBrain = getattr(llm_module, "OpenAIBrain", ())

    def visit(node, *, fallback: bool) -> None:
        if isinstance(node, FallbackBrain):
            visit(node.primary, fallback=False)
            if node.secondary is not None:
                visit(node.secondary, fallback=True)
        elif isinstance(node, FlowBrain):
            node.bind(FlowContext.for_agent(agent, call, recorder, has_llm=False if fallback else None), agent)
        elif isinstance(node, OpenAIBrain) and agent.pk is not None:
            from knowledge.tool import KnowledgeTool

            node.add_tool(KnowledgeTool(agent.pk, on_sources=getattr(recorder, "note_sources", None)))

    visit(brain, fallback=False)

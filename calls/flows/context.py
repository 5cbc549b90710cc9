"""What a flow can use on a live call (`FlowBrain.bind` builds it from the call).

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

__all__ = ["FlowContext", "agent_has_llm", "capabilities_for"]


def agent_has_llm(agent) -> bool:
    """An LLM agent, or a flow agent with LLM options (`provider_options["llm"]`: model, prompt, ...)."""
    return agent.llm_provider != "flow" or bool((agent.provider_options or {}).get("llm"))


def agent_tools(agent) -> list[dict]:
    """The agent's HTTP tools: its own field, then any still in provider_options["tools"] (agents made before)."""
    configs = [*(getattr(agent, "tools", None) or []), *((agent.provider_options or {}).get("tools") or [])]
    return [t for t in configs if isinstance(t, dict)]


def llm_options(agent) -> dict:
    """The LLM settings a flow's LLM steps use: the agent's model fields, then provider_options["llm"]."""
    fields = {"model": getattr(agent, "llm_model", ""), "base_url": getattr(agent, "llm_base_url", ""),
              "temperature": getattr(agent, "llm_temperature", None), "language": getattr(agent, "language", "")}
    return {**{k: v for k, v in fields.items() if v not in ("", None)}, **((agent.provider_options or {}).get("llm")
                                                                         or {})}


def capabilities_for(agent, agent_names: set[str] | None = None) -> Capabilities:
    configs = agent_tools(agent)
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
            llm_options=llm_options(agent),
            tools=agent_tools(agent),
            variables=variables,
            max_reprompts=agent.max_reprompts,
            note_sources=getattr(recorder, "note_sources", None),
            on_event=getattr(recorder, "event", None),
        )

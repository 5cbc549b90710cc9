"""Loading the agent that takes over a call (`handover` nodes): same workspace, found by name, given the
conversation so far — the variables for a flow agent, the transcript and a summary for an LLM agent."""

from __future__ import annotations

from types import SimpleNamespace

from ..providers.base import BrainState, CallContext
from .context import FlowContext
from .effects import Handover

MAX_TRANSCRIPT = 40  # messages handed to an LLM agent; older ones are summarised by its own context budget


def _find_agent(workspace_id: int | None, name: str):
    from ..models import Agent

    return Agent.objects.filter(workspace_id=workspace_id, name=name).first()


async def load_brain(context: FlowContext, effect: Handover, variables: dict, transcript: list[dict]):
    from ..providers.chains import build_brain
    from ..db import run_db

    agent = await run_db(_find_agent, context.workspace_id, effect.agent)
    if agent is None or agent.pk == context.agent_id:
        return None
    if agent.llm_provider == "flow":
        kept = {k: v for k, v in variables.items() if not str(k).startswith("_")}
        state = BrainState(node=None, variables=kept)
    else:
        summary = f"The call was handed over from {context.agent_name or 'another agent'}: {effect.summary}"
        state = BrainState(node="llm", variables={"messages": list(transcript[-MAX_TRANSCRIPT:]), "summary": summary})
    brain = build_brain(agent, state)
    recorder = SimpleNamespace(note_sources=context.note_sources, event=context.on_event)
    brain.bind(CallContext(agent, None, recorder))
    context.event("info", {"handover": agent.name, "agent_id": agent.pk, "summary": effect.summary[:300]})
    return brain

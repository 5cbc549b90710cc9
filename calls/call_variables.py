"""One call's `{{variables}}`, and the agent as this call sees it: templates rendered, per-call overrides applied.

Where a value comes from, weakest first: the agent's declared defaults (`Agent.variable_defaults`), the call's own
(`Call.variables`: the outbound request, the campaign's CSV row, the call-starting webhook's answer), and the
built-ins (`caller_number`, `date`, ...), which nothing may fake. Keys starting with "_" are bookkeeping
(`OVERRIDES_KEY`), never a variable.
"""

from __future__ import annotations

import copy

from django.utils import timezone

from .models import Agent, Call
from .templating import render

#: Where the call-starting webhook's per-call overrides are kept (with the call, so a resumed stream has them).
OVERRIDES_KEY = "_overrides"
#: What that webhook may override for one call, and the type each must have.
OVERRIDABLE = {"system_prompt": str, "greeting": str, "llm_model": str, "llm_temperature": float, "voice": str}


def builtin_variables(call: Call) -> dict[str, str]:
    agent = call.agent
    caller, ours = call.from_number, call.to_number
    if call.direction == Call.Direction.OUTBOUND:
        caller, ours = call.to_number, call.from_number  # the person on the line is the one we called
    started = timezone.localtime(call.answered_at or call.created_at or timezone.now())
    return {
        "caller_number": caller or "",
        "agent_number": ours or "",
        "direction": call.direction,
        "call_id": str(call.pk or ""),
        "agent_name": agent.name if agent is not None else "",
        "date": started.date().isoformat(),
        "time": started.strftime("%H:%M"),
        "weekday": started.strftime("%A"),
    }


def call_values(agent: Agent, call: Call) -> dict:
    """Every variable of the call, as the templates see them."""
    own = {k: v for k, v in (call.variables or {}).items() if not str(k).startswith("_")}
    return {**(agent.variable_defaults or {}), **own, **builtin_variables(call)}


def agent_for_call(agent: Agent, call: Call) -> Agent:
    """A copy of `agent` (never saved) with the call's overrides applied and its templates rendered: what the
    brain and the session build from. The stored agent keeps its templates."""
    overrides = (call.variables or {}).get(OVERRIDES_KEY) or {}
    copied = copy.copy(agent)
    for field, kind in OVERRIDABLE.items():
        if field in overrides and isinstance(overrides[field], kind | int if kind is float else kind):
            setattr(copied, field, overrides[field])
    values = call_values(agent, call)
    copied.system_prompt = render(copied.system_prompt, values)
    copied.greeting = render(copied.greeting, values)
    # Variables only: a header's {{secret:NAME}} is filled at each request, never kept on an object.
    copied.tools = [
        {**tool, "headers": {k: render(v, values) for k, v in tool["headers"].items()}}
        if isinstance(tool, dict) and isinstance(tool.get("headers"), dict) else tool
        for tool in (agent.tools or [])
    ]
    return copied

"""The per-call statistics row analytics roll up (CallStats), computed from the stored call."""

from __future__ import annotations

from calls.models import Call, Turn

from .models import CallStats


def roll_up(call: Call, turns: list[Turn]) -> CallStats:
    """Create or refresh the call's CallStats; safe to run twice."""
    agent_turns = [t for t in turns if t.role == Turn.Role.AGENT]
    latencies = [m.end_to_end_ms for t in agent_turns
                 if (m := getattr(t, "metrics", None)) is not None and m.end_to_end_ms is not None]
    stats, _ = CallStats.objects.update_or_create(
        call=call,
        defaults=dict(
            workspace_id=call.workspace_id, agent_id=call.agent_id, day=call.created_at.date(),
            direction=call.direction, outcome=call.end_reason or call.status, answered_by=call.answered_by,
            duration_s=call.duration_s, caller_turns=len(turns) - len(agent_turns), agent_turns=len(agent_turns),
            interruptions=sum(t.interrupted for t in agent_turns),
            avg_end_to_end_ms=sum(latencies) / len(latencies) if latencies else None,
            max_end_to_end_ms=max(latencies) if latencies else None,
            last_node=agent_turns[-1].node if agent_turns else "",
        ),
    )
    return stats

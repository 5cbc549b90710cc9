"""Latency and volume over a period: the numbers of the analytics page, as JSON."""

from __future__ import annotations

from datetime import date
from typing import Any

from ninja import Field, Query, Router, Schema

from calls.models import Agent

from ..analytics import Period, call_report, calls_in, default_period, latency_report, metrics_in
from ..forms import MAX_PERIOD_DAYS
from .auth import READ
from .errors import invalid, not_found
from .params import Day, Id, reject_unknown_params

router = Router(tags=["metrics"])


class MetricsQuery(Schema):
    agent: Id | None = Field(None, description="Agent id; all agents when absent.")
    since: Day | None = Field(None, description="First day (default: 14 days ago).")
    until: Day | None = Field(None, description=f"Last day (default: today); at most {MAX_PERIOD_DAYS} days.")


class MetricsOut(Schema):
    since: date
    until: date
    agent_id: int | None
    latency_ms: dict[str, Any] = Field(description="p50/p95 per stage.")
    turns_with_metrics: int
    calls: int
    answered_calls: int
    avg_duration_s: float | None
    interruption_rate: float | None
    statuses: dict[str, int]
    hangup_nodes: list[dict[str, Any]]
    series: dict[str, Any]


@router.get("/metrics", response=MetricsOut, summary="Latency percentiles, volume, interruptions", **READ)
def metrics(request, query: Query[MetricsQuery]):
    reject_unknown_params(request, MetricsQuery)
    period = default_period()
    if query.since or query.until:
        period = Period(since=query.since or period.since, until=query.until or period.until)
    if period.since > period.until or (period.until - period.since).days >= MAX_PERIOD_DAYS:
        raise invalid({"until": [f"must be on or after since, and at most {MAX_PERIOD_DAYS} days after it"]})
    agent = None
    if query.agent is not None:
        agent = Agent.objects.filter(pk=query.agent, workspace=request.workspace).first()
        if agent is None:
            raise not_found("agent")
    latency = latency_report(metrics_in(request.workspace, period, agent), period)
    calls = call_report(calls_in(request.workspace, period, agent), period)
    return {
        "since": period.since, "until": period.until, "agent_id": agent.pk if agent else None,
        "latency_ms": latency["overall"], "turns_with_metrics": latency["turns"],
        "calls": calls["calls"], "answered_calls": calls["answered"], "avg_duration_s": calls["avg_duration_s"],
        "interruption_rate": calls["interruption_rate"], "statuses": calls["statuses"],
        "hangup_nodes": [{"node": node, "calls": n} for node, n in calls["hangup_nodes"]],
        "series": {"labels": latency["labels"], "end_to_end_ms": latency["series"]["end_to_end_ms"],
                   "volume": calls["volume"]},
    }

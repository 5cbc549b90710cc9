"""Analytics: latency percentiles over time, call volume, duration, interruptions, hang-up points; CSV export."""

from __future__ import annotations

import csv

from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.views import View

from calls.models import Turn

from ..analytics import (
    STAGES,
    Period,
    call_report,
    calls_in,
    cost_per_day,
    default_period,
    latency_report,
    metrics_in,
)
from ..forms import AnalyticsFilterForm
from ..transcript import METRIC_FIELDS
from ..workspace import WorkspaceMixin


def period_and_agent(form: AnalyticsFilterForm) -> tuple[Period, object]:
    period = default_period()
    agent = None
    form.include_tests = bool(form.is_bound and form.is_valid() and form.cleaned_data.get("include_tests"))
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        since = data.get("since") or (
            data["until"] - (period.until - period.since) if data.get("until") else period.since
        )
        period = Period(since=since, until=data.get("until") or period.until)
        agent = data.get("agent")
    return period, agent


class AnalyticsView(WorkspaceMixin, View):
    def get(self, request):
        form = AnalyticsFilterForm(request.GET or None, workspace=self.workspace)
        period, agent = period_and_agent(form)
        latency = latency_report(metrics_in(self.workspace, period, agent, form.include_tests), period)
        calls = call_report(calls_in(self.workspace, period, agent, form.include_tests), period)
        stage_rows = [("end_to_end_ms", "End to end"), *STAGES]
        context = {
            "form": form,
            "period": period,
            "agent": agent,
            "nav": "analytics",
            "latency": latency,
            "calls": calls,
            "stages": STAGES,
            "summary": [(label, latency["overall"][name]) for name, label in stage_rows],
            "charts": {
                "latency": latency,
                "calls": calls,
                "stages": [{"field": f, "label": label} for f, label in STAGES],
            },
            "export_query": request.GET.urlencode(),
            "costs": cost_per_day(calls_in(self.workspace, period, agent)),
        }
        return render(request, "dashboard/analytics.html", context)


class _Echo:
    """A file-like object whose write() returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


class AnalyticsExportView(WorkspaceMixin, View):
    """CSV of every agent turn in the period (with its call and latency), the raw data behind the charts."""

    def get(self, request):
        form = AnalyticsFilterForm(request.GET or None, workspace=self.workspace)
        period, agent = period_and_agent(form)
        turns = (
            Turn.objects.filter(call__in=calls_in(self.workspace, period, agent, form.include_tests))
            .select_related("call", "call__agent", "metrics")
            .order_by("call__created_at", "index")
        )
        header = [
            "call_id",
            "carrier",
            "carrier_call_id",
            "agent",
            "direction",
            "status",
            "call_created_at",
            "duration_s",
            "turn_index",
            "role",
            "node",
            "interrupted",
            "turn_started_at",
            *METRIC_FIELDS,
        ]

        def rows():
            writer = csv.writer(_Echo())
            yield writer.writerow(header)
            for turn in turns.iterator(chunk_size=500):
                call, metrics = turn.call, getattr(turn, "metrics", None)
                yield writer.writerow(
                    [
                        call.pk,
                        call.carrier,
                        call.carrier_call_id,
                        call.agent.name if call.agent else "",
                        call.direction,
                        call.status,
                        call.created_at.isoformat(),
                        "" if call.duration_s is None else round(call.duration_s, 2),
                        turn.index,
                        turn.role,
                        turn.node,
                        int(turn.interrupted),
                        turn.started_at.isoformat(),
                        *(
                            "" if metrics is None or getattr(metrics, f) is None else round(getattr(metrics, f), 1)
                            for f in METRIC_FIELDS
                        ),
                    ]
                )

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        filename = f"voicebot-turns-{period.since}-{period.until}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

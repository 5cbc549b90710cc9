"""The calls list as CSV, with the same filters: one row per call, its analysis fields as columns, and its cost."""

from __future__ import annotations

import csv

from django.http import StreamingHttpResponse
from django.views import View

from ..workspace import WorkspaceMixin
from .analytics import _Echo
from .calls import filtered_calls

BASE_COLUMNS = ["call_id", "created_at", "from", "to", "agent", "direction", "status", "duration_s", "end_reason",
                "summary", "success", "cost_total", "currency"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value) -> str | int | float:
    """A CSV cell; text a spreadsheet would run as a formula (a caller's words can start with "=") is quoted."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


class CallExportView(WorkspaceMixin, View):
    def get(self, request):
        calls = filtered_calls(request, self.workspace)[1].order_by("-created_at")
        # Columns for every analysis field of the agents in the export, in each agent's schema order.
        fields: list[str] = []
        for schema in calls.exclude(agent=None).values_list("agent__analysis_schema", flat=True).distinct():
            for field in schema or []:
                if isinstance(field, dict) and field.get("name") not in fields:
                    fields.append(field["name"])

        def rows():
            writer = csv.writer(_Echo())
            yield writer.writerow([*BASE_COLUMNS, *fields])
            for call in calls.iterator(chunk_size=500):
                analysis, cost = call.analysis or {}, call.cost or {}
                values = analysis.get("fields") or {}
                yield writer.writerow([cell(v) for v in [
                    call.pk, call.created_at.isoformat(), call.from_number, call.to_number,
                    call.agent.name if call.agent else "", call.direction, call.status,
                    None if call.duration_s is None else round(call.duration_s, 2), call.end_reason,
                    analysis.get("summary") or call.summary, analysis.get("success"), cost.get("total"),
                    cost.get("currency"), *(values.get(name) for name in fields),
                ]])

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="voicebot-calls.csv"'
        return response

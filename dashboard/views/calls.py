"""Calls: the filtered, searchable list, and one call's timeline with its latency waterfall."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views import View

from calls.models import Call

from ..call_queries import filter_calls
from ..forms import CallFilterForm
from ..transcript import latency_chart, timeline
from ..workspace import WorkspaceMixin
from .recordings import recording_file

PAGE_SIZE = 25


def filtered_calls(request, workspace) -> tuple[CallFilterForm, QuerySet[Call]]:
    """The workspace's calls under the list's filters (invalid filters are reported by the form and ignored)."""
    form = CallFilterForm(request.GET or None, workspace=workspace)
    calls = Call.objects.filter(workspace=workspace).select_related("agent")
    if form.is_bound and form.is_valid():
        calls = filter_calls(calls, form.cleaned_data)
    return form, calls


class CallListView(WorkspaceMixin, View):
    def get(self, request):
        form, calls = filtered_calls(request, self.workspace)
        page = Paginator(calls.order_by("-created_at"), PAGE_SIZE).get_page(request.GET.get("page"))
        # Page links keep the filters: everything in the query string but the page number.
        query = request.GET.copy()
        query.pop("page", None)
        context = {"form": form, "page": page, "query": query.urlencode(), "nav": "calls", "filtered": bool(query)}
        return render(request, "dashboard/calls/list.html", context)


class CallDetailView(WorkspaceMixin, View):
    def get(self, request, pk: int):
        call = get_object_or_404(Call.objects.select_related("agent"), pk=pk, workspace=self.workspace)
        chart = latency_chart(call)
        context = {
            "call": call,
            "timeline": timeline(call),
            "chart": chart,
            "nav": "calls",
            "chart_height": max(180, 60 + 34 * len(chart["labels"])),
            "recording_url": reverse("dashboard:call-recording", args=[call.pk]) if recording_file(call) else None,
            "variables": {k: v for k, v in (call.variables or {}).items() if not str(k).startswith("_")},
            "analysis_rows": list(((call.analysis or {}).get("fields") or {}).items()),
        }
        return render(request, "dashboard/calls/detail.html", context)

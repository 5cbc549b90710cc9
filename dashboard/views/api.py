"""The JSON API: calls list, call detail and latency/volume metrics, scoped to the token's workspace.

Described by dashboard/openapi.py (served at /api/openapi.json); keep the two in step.
"""

from __future__ import annotations

from django import forms
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from calls.export import call_as_dict
from calls.models import Agent, Call

from ..analytics import Period, call_report, calls_in, default_period, latency_report, metrics_in
from ..api_auth import token_required
from ..call_queries import filter_calls
from ..forms import MAX_PERIOD_DAYS

MAX_PAGE_SIZE = 200


class CallQueryForm(forms.Form):
    """Query parameters of GET /api/calls. Agents are given by id."""

    agent = forms.IntegerField(required=False)
    number = forms.CharField(required=False)
    status = forms.ChoiceField(choices=[("", ""), *Call.Status.choices], required=False)
    direction = forms.ChoiceField(choices=[("", ""), *Call.Direction.choices], required=False)
    since = forms.DateField(required=False)
    until = forms.DateField(required=False)
    min_duration = forms.FloatField(required=False, min_value=0)
    max_duration = forms.FloatField(required=False, min_value=0)
    q = forms.CharField(required=False)
    page = forms.IntegerField(required=False, min_value=1)
    page_size = forms.IntegerField(required=False, min_value=1, max_value=MAX_PAGE_SIZE)


class MetricsQueryForm(forms.Form):
    agent = forms.IntegerField(required=False)
    since = forms.DateField(required=False)
    until = forms.DateField(required=False)


def bad_request(form: forms.Form) -> JsonResponse:
    return JsonResponse(
        {"error": "bad_request", "fields": {k: [str(e) for e in v] for k, v in form.errors.items()}}, status=400
    )


def not_found(what: str) -> JsonResponse:
    # Another workspace's object is indistinguishable from a missing one.
    return JsonResponse({"error": "not_found", "detail": f"No such {what} in this workspace."}, status=404)


def call_summary(call: Call) -> dict:
    return {
        "id": call.pk,
        "carrier": call.carrier,
        "carrier_call_id": call.carrier_call_id,
        "agent": call.agent.name if call.agent else None,
        "agent_id": call.agent_id,
        "from": call.from_number,
        "to": call.to_number,
        "direction": call.direction,
        "status": call.status,
        "end_reason": call.end_reason,
        "created_at": call.created_at.isoformat(),
        "duration_s": None if call.duration_s is None else round(call.duration_s, 3),
    }


@require_GET
@token_required
def calls_list(request):
    form = CallQueryForm(request.GET)
    if not form.is_valid():
        return bad_request(form)
    filters = dict(form.cleaned_data)
    if filters.get("agent") is not None:
        # An agent id of another workspace simply matches nothing.
        filters["agent"] = Agent.objects.filter(pk=filters["agent"], workspace=request.workspace).first() or -1
    calls = filter_calls(Call.objects.filter(workspace=request.workspace).select_related("agent"), filters)
    paginator = Paginator(calls.order_by("-created_at"), filters.get("page_size") or 50)
    page = paginator.get_page(filters.get("page") or 1)
    return JsonResponse(
        {
            "count": paginator.count,
            "page": page.number,
            "pages": paginator.num_pages,
            "results": [call_summary(c) for c in page.object_list],
        }
    )


@require_GET
@token_required
def call_detail(request, pk: int):
    call = Call.objects.select_related("agent").filter(pk=pk, workspace=request.workspace).first()
    if call is None:
        return not_found("call")
    return JsonResponse({"id": call.pk, **call_as_dict(call)})


@require_GET
@token_required
def metrics(request):
    form = MetricsQueryForm(request.GET)
    if not form.is_valid():
        return bad_request(form)
    data = form.cleaned_data
    period = default_period()
    if data.get("since") or data.get("until"):
        period = Period(since=data.get("since") or period.since, until=data.get("until") or period.until)
    if period.since > period.until or (period.until - period.since).days >= MAX_PERIOD_DAYS:
        return JsonResponse(
            {
                "error": "bad_request",
                "fields": {"until": [f"must be on or after since, and at most {MAX_PERIOD_DAYS} days after it"]},
            },
            status=400,
        )
    agent = None
    if data.get("agent") is not None:
        agent = Agent.objects.filter(pk=data["agent"], workspace=request.workspace).first()
        if agent is None:
            return not_found("agent")
    latency = latency_report(metrics_in(request.workspace, period, agent), period)
    calls = call_report(calls_in(request.workspace, period, agent), period)
    return JsonResponse(
        {
            "since": period.since.isoformat(),
            "until": period.until.isoformat(),
            "agent_id": agent.pk if agent else None,
            "latency_ms": latency["overall"],
            "turns_with_metrics": latency["turns"],
            "calls": calls["calls"],
            "answered_calls": calls["answered"],
            "avg_duration_s": calls["avg_duration_s"],
            "interruption_rate": calls["interruption_rate"],
            "statuses": calls["statuses"],
            "hangup_nodes": [{"node": node, "calls": n} for node, n in calls["hangup_nodes"]],
            "series": {
                "labels": latency["labels"],
                "end_to_end_ms": latency["series"]["end_to_end_ms"],
                "volume": calls["volume"],
            },
        }
    )

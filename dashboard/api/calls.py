"""Calls: the list with filters, one call with everything recorded about it, placing one, hanging one up.

The list and detail keep the shapes the first API gave (`from`/`to`, `agent` as a name beside `agent_id`); the
detail is derived from the Call model, so a field added to it (analysis, usage, cost, ...) appears here unedited.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ninja import Field, ModelSchema, Query, Router, Schema, Status
from pydantic import ConfigDict

from calls.carriers import registry
from calls.carriers.rest_errors import CarrierRestError, NotConfigured
from calls.export import call_as_dict
from calls.models import Agent, Call, CallEvent, PhoneNumber, TurnMetrics
from calls.providers.base import ProviderError

from ..call_queries import filter_calls
from ..outbound_forms import OutboundCallForm
from ..views.outbound import dial
from .auth import CALLS_WRITE, READ
from .errors import ApiError, form_errors, invalid, not_found
from .params import numbers_are_numbers, Day, Id, PageQuery, page_of, paginate, reject_unknown_params

router = Router(tags=["calls"])

# Internal plumbing, never shown: the stream's single-use nonce, the brain's private state, the recording's path
# on disk. The numbers and the agent are shown under today's names (`from`, `to`, `agent`) instead.
CALL_HIDDEN = ["workspace", "stream_nonce", "brain_state", "recording", "from_number", "to_number", "agent",
               "served_by"]  # served_by: which server process holds the stream (calls/instances.py), internal
LIVE = (Call.Status.RINGING, Call.Status.IN_PROGRESS)
MAX_DURATION_S = 7 * 86400


class CallSummary(ModelSchema):
    agent: str | None = Field(None, description="The agent's name.")
    agent_id: int | None = None
    from_: str = Field(alias="from")
    to: str
    duration_s: float | None = Field(None, description="Answered to ended, in seconds.")

    class Meta:
        model = Call
        fields = ["id", "carrier", "carrier_call_id", "direction", "status", "end_reason", "created_at"]


class TurnMetricsOut(ModelSchema):
    class Meta:
        model = TurnMetrics
        exclude = ["id", "turn"]


class SourceOut(Schema):
    document: str
    document_id: int | None
    chunk: int | None
    score: float


class TurnOut(Schema):
    index: int
    role: str
    text: str
    heard_text: str
    interrupted: bool
    node: str
    started_at: datetime
    ended_at: datetime
    metrics: TurnMetricsOut | None
    sources: list[SourceOut]


class EventOut(ModelSchema):
    class Meta:
        model = CallEvent
        fields = ["kind", "detail", "at"]


class CallDetail(ModelSchema):
    agent: str | None = Field(None, description="The agent's name.")
    agent_id: int | None = None
    from_: str = Field(alias="from")
    to: str
    duration_s: float | None = None
    turns: list[TurnOut]
    events: list[EventOut]

    class Meta:
        model = Call
        exclude = CALL_HIDDEN


class CallFilters(Schema):
    agent: Id | None = Field(None, description="Agent id.")
    number: str | None = Field(None, description="Calls from or to this number.")
    status: Call.Status | None = None
    direction: Call.Direction | None = None
    since: Day | None = Field(None, description="Created on or after this day.")
    until: Day | None = Field(None, description="Created on or before this day.")
    # Bounded: a duration of 1e16 s cannot become a timedelta (it was a 500 before the bound).
    min_duration: float | None = Field(None, ge=0, le=MAX_DURATION_S, description="Seconds.")
    max_duration: float | None = Field(None, ge=0, le=MAX_DURATION_S, description="Seconds.")
    q: str | None = Field(None, description="Search the transcripts (and call ids, numbers).")


class OutboundIn(Schema):
    model_config = ConfigDict(extra="forbid")
    _numbers = numbers_are_numbers()

    agent: Id = Field(description="The agent that talks.")
    to: str = Field(max_length=32, description="E.164; spaces, dots, dashes and brackets are dropped.")
    from_: str | None = Field(None, alias="from", description="Our number to call from (E.164). Default: one "
                              "bound to the agent.")
    carrier: str | None = Field(None, description="When `from` is bound on both carriers: which one.")
    variables: dict[str, Any] | None = Field(None, description="Per-call variables, e.g. {\"customer_name\": \"Ada\"}.")


class HangupOut(Schema):
    id: int
    status: str
    hangup_requested: bool


def summary(call: Call) -> dict:
    return {
        "id": call.pk, "carrier": call.carrier, "carrier_call_id": call.carrier_call_id,
        "agent": call.agent.name if call.agent else None, "agent_id": call.agent_id,
        "from": call.from_number, "to": call.to_number, "direction": call.direction, "status": call.status,
        "end_reason": call.end_reason, "created_at": call.created_at,
        "duration_s": None if call.duration_s is None else round(call.duration_s, 3),
    }


def detail(call: Call) -> dict:
    fields = {f.name: getattr(call, f.attname) for f in Call._meta.concrete_fields if f.name not in CALL_HIDDEN}
    return {**fields, **call_as_dict(call), "agent_id": call.agent_id,
            "duration_s": None if call.duration_s is None else round(call.duration_s, 3)}


def owned_call(request, pk: int) -> Call:
    call = Call.objects.select_related("agent").filter(pk=pk, workspace=request.workspace).first()
    if call is None:
        raise not_found("call")
    return call


@router.get("/calls", response=page_of(CallSummary), by_alias=True, summary="List calls", **READ)
def list_calls(request, filters: Query[CallFilters], paging: Query[PageQuery]):
    reject_unknown_params(request, CallFilters, PageQuery)
    values = filters.model_dump()
    if values["agent"] is not None:
        # An agent id of another workspace simply matches nothing.
        values["agent"] = Agent.objects.filter(pk=values["agent"], workspace=request.workspace).first() or -1
    calls = filter_calls(Call.objects.filter(workspace=request.workspace).select_related("agent"), values)
    return paginate(calls.order_by("-created_at", "-pk"), paging, summary)


@router.get("/calls/{int:pk}", response=CallDetail, by_alias=True, summary="One call: turns, metrics, events, "
            "variables, analysis, cost", **READ)
def get_call(request, pk: int):
    return detail(owned_call(request, pk))


@router.post("/calls/outbound", response={201: CallSummary}, by_alias=True, summary="Place an outbound call",
             **CALLS_WRITE)
def place_outbound(request, payload: OutboundIn):
    # The form's `variables` is a JSON textarea on the page: it reads JSON text.
    data = {"agent": payload.agent, "to": payload.to, "variables": json.dumps(payload.variables or {})}
    if payload.from_:
        numbers = PhoneNumber.objects.filter(workspace=request.workspace, e164=payload.from_)
        if payload.carrier:
            numbers = numbers.filter(carrier=payload.carrier)
        number = numbers.exclude(carrier="browser").order_by("carrier").first()
        if number is None:
            raise invalid({"from": ["Not a number of this workspace."]})
        data["number"] = number.pk
    form = OutboundCallForm(data, workspace=request.workspace)
    if not form.is_valid():
        raise invalid(form_errors(form.errors))
    try:
        call = dial(form)
    except NotConfigured as exc:
        raise ApiError(503, "carrier_not_configured", str(exc)) from exc
    except CarrierRestError as exc:
        raise ApiError(502, "carrier_error", str(exc)) from exc
    call.agent = form.cleaned_data["agent"]
    return Status(201, summary(call))


@router.post("/calls/{int:pk}/hangup", response={202: HangupOut}, summary="Hang up a live call", **CALLS_WRITE)
async def hang_up(request, pk: int):
    """Asks the carrier to end the call (its REST API); the call's own stream end then stores the last turns and
    runs the post-call work, exactly as when the caller hangs up. Async: the carrier request is awaited here
    instead of holding a worker thread."""
    call = await Call.objects.filter(pk=pk, workspace=request.workspace).afirst()
    if call is None:
        raise not_found("call")
    if call.status not in LIVE:
        raise ApiError(409, "call_not_live", f"The call is {call.status}: there is nothing to hang up.")
    kit = registry.kit(call.carrier)
    control = kit.control() if kit is not None else None
    if control is None:
        raise ApiError(409, "hangup_unsupported", f"Calls through {call.carrier} cannot be hung up over the API "
                       "(no carrier REST credentials, or a browser call).")
    try:
        await control.hang_up(call.carrier_call_id)
    except ProviderError as exc:
        raise ApiError(502, "carrier_error", str(exc)) from exc
    await CallEvent.objects.acreate(call=call, workspace_id=call.workspace_id, kind=CallEvent.Kind.HANGUP,
                                    detail={"by": "api"})
    return Status(202, {"id": call.pk, "status": call.status, "hangup_requested": True})



"""Phone numbers: bind a number (per carrier) to an agent, rebind it, unbind it.

Checked by the dashboard's form: E.164, a telephone carrier, an agent of this workspace, the (number, carrier)
pair not bound elsewhere (without saying whose it is).
"""

from __future__ import annotations

from ninja import Field, ModelSchema, Query, Router, Schema, Status
from pydantic import ConfigDict

from calls.models import PhoneNumber

from ..forms import PhoneNumberForm
from .auth import AGENTS_WRITE, READ
from .errors import not_found
from .model_writes import save_checked
from .params import numbers_are_numbers, Id, PageQuery, foreign_id, page_of, paginate, reject_unknown_params

router = Router(tags=["numbers"])


class NumberOut(ModelSchema):
    agent: int = foreign_id("agent", "The id of the agent that answers.")

    class Meta:
        model = PhoneNumber
        exclude = ["workspace", "agent"]


class NumberIn(ModelSchema):
    model_config = ConfigDict(extra="forbid")
    _numbers = numbers_are_numbers()
    agent: Id = Field(description="The id of the agent that answers.")

    class Meta:
        model = PhoneNumber
        exclude = ["id", "workspace", "agent"]


class NumberPatch(ModelSchema):
    model_config = ConfigDict(extra="forbid")
    _numbers = numbers_are_numbers()
    agent: Id | None = Field(None, description="The id of the agent that answers.")

    class Meta:
        model = PhoneNumber
        exclude = ["id", "workspace", "agent"]
        fields_optional = "__all__"


class NumberFilters(Schema):
    agent: Id | None = Field(None, description="Only the numbers bound to this agent.")


def owned_number(request, pk: int) -> PhoneNumber:
    number = PhoneNumber.objects.filter(pk=pk, workspace=request.workspace).first()
    if number is None:
        raise not_found("number")
    return number


@router.get("/numbers", response=page_of(NumberOut), summary="List phone numbers", **READ)
def list_numbers(request, filters: Query[NumberFilters], paging: Query[PageQuery]):
    reject_unknown_params(request, NumberFilters, PageQuery)
    numbers = PhoneNumber.objects.filter(workspace=request.workspace).order_by("e164", "carrier", "pk")
    if filters.agent is not None:
        numbers = numbers.filter(agent_id=filters.agent)
    return paginate(numbers, paging)


@router.post("/numbers", response={201: NumberOut}, summary="Bind a number to an agent", **AGENTS_WRITE)
def create_number(request, payload: NumberIn):
    number = PhoneNumber(workspace=request.workspace)
    return Status(201, save_checked(PhoneNumberForm, number, payload.model_dump(exclude_unset=True),
                                    request.workspace))


@router.get("/numbers/{int:pk}", response=NumberOut, summary="One phone number", **READ)
def get_number(request, pk: int):
    return owned_number(request, pk)


@router.patch("/numbers/{int:pk}", response=NumberOut, summary="Change a number (e.g. bind it to another agent)",
              **AGENTS_WRITE)
def update_number(request, pk: int, payload: NumberPatch):
    number = owned_number(request, pk)
    return save_checked(PhoneNumberForm, number, payload.model_dump(exclude_unset=True), request.workspace)


@router.delete("/numbers/{int:pk}", response={204: None}, summary="Unbind a number", **AGENTS_WRITE)
def delete_number(request, pk: int):
    owned_number(request, pk).delete()
    return Status(204, None)

"""Agents: list, create, read, change, delete, clone.

The schemas are derived from the Agent model (`exclude` lists, not hand lists of fields), so a field added to
the model appears in the API without an edit here. Secrets (`*_secret`) can be written, never read back.
"""

from __future__ import annotations

from ninja import ModelSchema, Query, Router, Status
from pydantic import ConfigDict

from calls.models import Agent

from ..forms import STARTER_FLOW, AgentForm
from ..views.agents import clone_agent
from .auth import AGENTS_WRITE, READ
from .errors import not_found
from .model_writes import save_checked
from .params import numbers_are_numbers, PageQuery, page_of, paginate, reject_unknown_params

router = Router(tags=["agents"])

SECRETS = [f.name for f in Agent._meta.concrete_fields if f.name.endswith("_secret")]
# Set by the server: the workspace is the token's, the flow version is bumped when the flow changes.
SERVER_SET = ["id", "workspace", "created_at", "updated_at", "flow_version"]
MANY = [f.name for f in Agent._meta.many_to_many]


class AgentOut(ModelSchema):
    class Meta:
        model = Agent
        exclude = ["workspace", *SECRETS, *MANY]


class AgentIn(ModelSchema):
    """A new agent. Only `name` is required: the rest starts as the dashboard's new-agent page does (a starter
    flow and a greeting) and the model's defaults."""

    model_config = ConfigDict(extra="forbid")
    _numbers = numbers_are_numbers()

    class Meta:
        model = Agent
        exclude = [*SERVER_SET, *MANY]


class AgentPatch(ModelSchema):
    model_config = ConfigDict(extra="forbid")
    _numbers = numbers_are_numbers()

    class Meta:
        model = Agent
        exclude = [*SERVER_SET, *MANY]
        fields_optional = "__all__"


def owned_agent(request, pk: int) -> Agent:
    agent = Agent.objects.filter(pk=pk, workspace=request.workspace).first()
    if agent is None:
        raise not_found("agent")
    return agent


@router.get("/agents", response=page_of(AgentOut), summary="List agents", **READ)
def list_agents(request, paging: Query[PageQuery]):
    reject_unknown_params(request, PageQuery)
    return paginate(Agent.objects.filter(workspace=request.workspace).order_by("name", "pk"), paging)


@router.post("/agents", response={201: AgentOut}, summary="Create an agent", **AGENTS_WRITE)
def create_agent(request, payload: AgentIn):
    agent = Agent(workspace=request.workspace, flow=STARTER_FLOW, greeting="Hello, thanks for calling.")
    return Status(201, save_checked(AgentForm, agent, payload.model_dump(exclude_unset=True), request.workspace))


@router.get("/agents/{int:pk}", response=AgentOut, summary="One agent", **READ)
def get_agent(request, pk: int):
    return owned_agent(request, pk)


@router.patch("/agents/{int:pk}", response=AgentOut, summary="Change an agent (only the fields sent)",
              **AGENTS_WRITE)
def update_agent(request, pk: int, payload: AgentPatch):
    agent = owned_agent(request, pk)
    return save_checked(AgentForm, agent, payload.model_dump(exclude_unset=True), request.workspace)


@router.delete("/agents/{int:pk}", response={204: None}, summary="Delete an agent (409 while numbers or "
               "campaigns use it; its past calls are kept)", **AGENTS_WRITE)
def delete_agent(request, pk: int):
    owned_agent(request, pk).delete()  # ProtectedError -> 409 conflict (errors.translate)
    return Status(204, None)


@router.post("/agents/{int:pk}/clone", response={201: AgentOut}, summary="Copy an agent (its numbers stay on "
             "the original)", **AGENTS_WRITE)
def clone(request, pk: int):
    return Status(201, clone_agent(owned_agent(request, pk)))

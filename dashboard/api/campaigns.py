"""Campaigns: create one from a CSV of contacts, follow its progress, start, pause or cancel it.

The CSV is read by the dashboard's campaign form (a `number` column, every other column a per-call variable), so
the page and the API accept and refuse the same files.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from ninja import Field, File, Form, ModelSchema, Query, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import ConfigDict

from automation import campaigns as dialling
from automation.models import Campaign, Contact
from automation.tasks import run_campaign

from ..outbound_forms import MAX_CSV_BYTES, CampaignForm
from ..views.campaigns import progress
from .auth import CALLS_WRITE, READ
from .errors import ApiError, form_errors, invalid, not_found
from .params import Id, PageQuery, foreign_id, page_of, paginate, reject_unknown_params

router = Router(tags=["campaigns"])


class CampaignOut(ModelSchema):
    agent: int = foreign_id("agent", "The id of the agent that talks.")
    progress: dict[str, Any] = Field(description="status, total, per contact status, percent finished.")

    class Meta:
        model = Campaign
        exclude = ["workspace", "agent"]

    @staticmethod
    def resolve_progress(campaign: Campaign) -> dict:
        return progress(campaign)


class ContactOut(ModelSchema):
    call: int | None = foreign_id("call", "The id of the contact's latest call.", default=None)

    class Meta:
        model = Contact
        exclude = ["campaign", "call"]


class CampaignIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=120)
    agent: Id = Field(description="The agent's id.")
    number: Id = Field(description="The id of the phone number to call from.")
    concurrency_cap: int = Field(2, description="Calls at once (1-50).")
    max_attempts: int = Field(2, description="Attempts per contact (1-10).")
    retry_delay_s: int = Field(300, description="Seconds before a retry (10 s - 7 days).")
    start: bool = Field(False, description="Start dialling at once (else it waits as a draft).")


def owned_campaign(request, pk: int) -> Campaign:
    campaign = Campaign.objects.filter(pk=pk, workspace=request.workspace).first()
    if campaign is None:
        raise not_found("campaign")
    return campaign


def _start(campaign: Campaign) -> None:
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.RUNNING)
    run_campaign.delay(campaign.pk)


@router.get("/campaigns", response=page_of(CampaignOut), summary="List campaigns", **READ)
def list_campaigns(request, paging: Query[PageQuery]):
    reject_unknown_params(request, PageQuery)
    return paginate(Campaign.objects.filter(workspace=request.workspace).order_by("-created_at", "-pk"), paging)


@router.post("/campaigns", response={201: CampaignOut}, summary="Create a campaign from a CSV of contacts",
             **CALLS_WRITE)
def create_campaign(request, payload: Form[CampaignIn], contacts: File[UploadedFile]):
    """multipart/form-data. `contacts`: a CSV with a header row; the `number` column (or phone, to) is called,
    every other column becomes a variable of that contact's call."""
    if contacts.size > MAX_CSV_BYTES:
        raise ApiError(413, "payload_too_large", f"The CSV is larger than {MAX_CSV_BYTES // 1024 // 1024} MB.")
    data = payload.model_dump(exclude={"start"})
    form = CampaignForm(data, {"contacts": contacts}, workspace=request.workspace)
    if not form.is_valid():
        raise invalid(form_errors(form.errors))
    with transaction.atomic():  # the campaign and all its contacts, or nothing
        campaign = form.save()
    if payload.start:
        _start(campaign)
    campaign.refresh_from_db()
    return Status(201, campaign)


@router.get("/campaigns/{int:pk}", response=CampaignOut, summary="One campaign and its progress", **READ)
def get_campaign(request, pk: int):
    return owned_campaign(request, pk)


@router.get("/campaigns/{int:pk}/contacts", response=page_of(ContactOut), summary="A campaign's contacts and "
            "their results", **READ)
def list_contacts(request, pk: int, paging: Query[PageQuery]):
    reject_unknown_params(request, PageQuery)
    return paginate(owned_campaign(request, pk).contacts.order_by("pk"), paging)


@router.post("/campaigns/{int:pk}/start", response=CampaignOut, summary="Start or resume dialling", **CALLS_WRITE)
def start(request, pk: int):
    campaign = owned_campaign(request, pk)
    if campaign.status not in (Campaign.Status.DRAFT, Campaign.Status.PAUSED):
        raise ApiError(409, "campaign_not_startable", f"The campaign is {campaign.status}.")
    _start(campaign)
    campaign.refresh_from_db()
    return campaign


@router.post("/campaigns/{int:pk}/pause", response=CampaignOut, summary="Pause dialling (calls in progress go "
             "on)", **CALLS_WRITE)
def pause(request, pk: int):
    campaign = owned_campaign(request, pk)
    if campaign.status != Campaign.Status.RUNNING:
        raise ApiError(409, "campaign_not_running", f"The campaign is {campaign.status}.")
    Campaign.objects.filter(pk=pk, status=Campaign.Status.RUNNING).update(status=Campaign.Status.PAUSED)
    campaign.refresh_from_db()
    return campaign


@router.post("/campaigns/{int:pk}/cancel", response=CampaignOut, summary="Cancel: contacts not yet called are "
             "never called (result `canceled`); calls in progress go on", **CALLS_WRITE)
def cancel(request, pk: int):
    campaign = owned_campaign(request, pk)
    if campaign.status == Campaign.Status.COMPLETED:
        raise ApiError(409, "campaign_finished", "The campaign has finished already.")
    dialling.cancel(campaign.pk)
    campaign.refresh_from_db()
    return campaign



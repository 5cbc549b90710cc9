"""Webhook deliveries: every attempt to POST an event to the customer's URL, so a failing endpoint is visible."""

from __future__ import annotations

from ninja import Field, ModelSchema, Query, Router, Schema

from automation.models import WebhookDelivery

from .auth import READ
from .errors import not_found
from .params import Id, PageQuery, foreign_id, page_of, paginate, reject_unknown_params

router = Router(tags=["webhooks"])


class DeliveryOut(ModelSchema):
    call: int | None = foreign_id("call", "The id of the call the event is about (null once it is purged).",
                                  default=None)

    class Meta:
        model = WebhookDelivery
        # task_id is the Celery task that owns the retries: internal.
        exclude = ["workspace", "call", "task_id"]


class DeliveryFilters(Schema):
    status: WebhookDelivery.Status | None = None
    event: str | None = Field(None, description="e.g. call.completed")
    call: Id | None = Field(None, description="Only the deliveries about this call.")


@router.get("/webhook-deliveries", response=page_of(DeliveryOut), summary="List webhook delivery attempts, "
            "newest first", **READ)
def list_deliveries(request, filters: Query[DeliveryFilters], paging: Query[PageQuery]):
    reject_unknown_params(request, DeliveryFilters, PageQuery)
    deliveries = WebhookDelivery.objects.filter(workspace=request.workspace).order_by("-created_at", "-pk")
    if filters.status:
        deliveries = deliveries.filter(status=filters.status)
    if filters.event:
        deliveries = deliveries.filter(event=filters.event)
    if filters.call is not None:
        deliveries = deliveries.filter(call_id=filters.call)
    return paginate(deliveries, paging)


@router.get("/webhook-deliveries/{int:pk}", response=DeliveryOut, summary="One delivery attempt", **READ)
def get_delivery(request, pk: int):
    delivery = WebhookDelivery.objects.filter(pk=pk, workspace=request.workspace).first()
    if delivery is None:
        raise not_found("webhook delivery")
    return delivery

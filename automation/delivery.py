"""The call-completed webhook of one call: build the event, make one attempt, record it (WebhookDelivery).

Attempts of one event are serialised by a row lock on the Call, and owned by one Celery task (its id survives
retries): a second task for the same event, or an attempt already made, stops instead of posting again.
"""

from __future__ import annotations

import enum
import json

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from calls.export import call_as_dict
from calls.models import Call

from . import webhooks
from .models import WebhookDelivery

EVENT = "call.completed"


class Result(enum.Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"
    SKIPPED = "skipped"  # no webhook, no call, or not ours to make


def event_id(call: Call) -> str:
    return f"{EVENT}:{call.pk}"


def body(call: Call) -> bytes:
    data = {
        "event": EVENT,
        "event_id": event_id(call),
        "sent_at": timezone.now().isoformat(),
        "call": {"id": call.pk, **call_as_dict(call), "summary": call.summary, "answered_by": call.answered_by,
                 "variables": call.variables},
    }
    return json.dumps(data, cls=DjangoJSONEncoder).encode()


def attempt(call_id: int, task_id: str, number: int) -> Result:
    """Attempt `number` (1-based) for the call's event, unless it was made already or belongs to another task."""
    with transaction.atomic():
        call = Call.objects.select_for_update().filter(pk=call_id).first()
        agent = call.agent if call is not None else None
        if agent is None or not agent.post_call_webhook_url:
            return Result.SKIPPED
        made = WebhookDelivery.objects.filter(event_id=event_id(call)).order_by("-attempt").first()
        if made is not None:
            if made.status == WebhookDelivery.Status.DELIVERED or made.task_id != task_id:
                return Result.SKIPPED
            if made.attempt >= number:  # this run was delivered twice (late acks): only the retry may be missing
                return Result.RETRY if made.status == WebhookDelivery.Status.RETRYING else Result.SKIPPED
        final = number >= settings.WEBHOOK_MAX_ATTEMPTS
        outcome = webhooks.post(agent.post_call_webhook_url, body(call), agent.post_call_webhook_secret,
                                event_id(call), settings.WEBHOOK_TIMEOUT_S)
        if outcome.ok:
            status = WebhookDelivery.Status.DELIVERED
        elif outcome.retryable and not final:
            status = WebhookDelivery.Status.RETRYING
        else:
            status = WebhookDelivery.Status.FAILED
        WebhookDelivery.objects.create(
            workspace_id=call.workspace_id, call=call, event=EVENT, event_id=event_id(call),
            url=agent.post_call_webhook_url, attempt=number, task_id=task_id, status=status,
            status_code=outcome.status_code, error=outcome.error, duration_ms=outcome.duration_ms,
        )
    return {WebhookDelivery.Status.DELIVERED: Result.DELIVERED, WebhookDelivery.Status.RETRYING: Result.RETRY,
            WebhookDelivery.Status.FAILED: Result.FAILED}[status]

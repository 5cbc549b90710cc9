"""One webhook event of one subject (a call, a transfer, a campaign): make one attempt, record it (WebhookDelivery).

Attempts of one event are serialised by a row lock on the call (or the campaign), and owned by one Celery task (its
id survives retries): a second task for the same event, or an attempt already made, stops instead of posting again.
The events, their bodies and schemas: `events.py`.
"""

from __future__ import annotations

import enum

from django.conf import settings
from django.db import transaction

from calls.models import Call, CallEvent

from . import events, webhooks
from .models import Campaign, WebhookDelivery

EVENT = events.CALL_ENDED


class Result(enum.Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"
    SKIPPED = "skipped"  # no webhook, no subject, or not ours to make


def event_id(call: Call) -> str:
    return events.event_id(EVENT, call.pk)


def body(call: Call) -> bytes:
    return events.body(EVENT, call)


def _locked_subject(event: str, subject_id: int):
    """The event's subject, with its call (or campaign) row locked for this attempt."""
    kind = events.CATALOGUE[event].subject
    if kind is CallEvent:
        subject = CallEvent.objects.select_related("call__agent").filter(pk=subject_id).first()
        if subject is None or subject.call_id is None:
            return None
        Call.objects.select_for_update().filter(pk=subject.call_id).first()
        return subject
    query = Campaign.objects if kind is Campaign else Call.objects
    # of=self: PostgreSQL cannot lock the nullable side of the outer join to the agent (nor needs to).
    return query.select_for_update(of=("self",)).select_related("agent").filter(pk=subject_id).first()


def attempt(subject_id: int, task_id: str, number: int, event: str = EVENT) -> Result:
    """Attempt `number` (1-based) for the subject's event, unless it was made already or belongs to another task."""
    with transaction.atomic():
        subject = _locked_subject(event, subject_id)
        agent = events.agent_of(subject) if subject is not None else None
        if agent is None or not agent.post_call_webhook_url:
            return Result.SKIPPED
        this_id = events.event_id(event, subject.pk)
        made = WebhookDelivery.objects.filter(event_id=this_id).order_by("-attempt").first()
        if made is not None:
            if made.status == WebhookDelivery.Status.DELIVERED or made.task_id != task_id:
                return Result.SKIPPED
            if made.attempt >= number:  # this run was delivered twice (late acks): only the retry may be missing
                return Result.RETRY if made.status == WebhookDelivery.Status.RETRYING else Result.SKIPPED
        final = number >= settings.WEBHOOK_MAX_ATTEMPTS
        outcome = webhooks.post(agent.post_call_webhook_url, events.body(event, subject),
                                agent.post_call_webhook_secret, this_id, settings.WEBHOOK_TIMEOUT_S)
        if outcome.ok:
            status = WebhookDelivery.Status.DELIVERED
        elif outcome.retryable and not final:
            status = WebhookDelivery.Status.RETRYING
        else:
            status = WebhookDelivery.Status.FAILED
        call = events.call_of(subject)
        WebhookDelivery.objects.create(
            workspace_id=agent.workspace_id, call=call, event=event, event_id=this_id,
            url=agent.post_call_webhook_url, attempt=number, task_id=task_id, status=status,
            status_code=outcome.status_code, error=outcome.error, duration_ms=outcome.duration_ms,
        )
    return {WebhookDelivery.Status.DELIVERED: Result.DELIVERED, WebhookDelivery.Status.RETRYING: Result.RETRY,
            WebhookDelivery.Status.FAILED: Result.FAILED}[status]

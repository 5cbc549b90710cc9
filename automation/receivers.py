"""What automation does when the call engine, or one of its own modules, says something happened: it queues the
Celery task for it. Connected in `AutomationConfig.ready`; the senders own the transaction (they send after the
commit), a receiver only enqueues."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_save

from calls.models import CallEvent
from calls.signals import call_finished, call_started

from . import events, signals, tasks


def queue_post_call(sender, call_id: int, **kwargs) -> None:
    """A call ended: its post-call work (a broker outage is logged, not raised)."""
    tasks.enqueue_post_call(call_id)


def wake_campaign(sender, campaign_id: int, **kwargs) -> None:
    tasks.run_campaign.delay(campaign_id)


def deliver_webhook(sender, call_id: int, event: str = events.CALL_ENDED, **kwargs) -> None:
    tasks.deliver_call_webhook.delay(call_id, event)


def announce_start(sender, call_id: int, **kwargs) -> None:
    tasks.deliver_call_webhook.delay(call_id, events.CALL_STARTED)


def queue_analysis(sender, call_id: int, **kwargs) -> None:
    tasks.analyze_call.delay(call_id)


def announce_transfer(sender, instance: CallEvent, created: bool, **kwargs) -> None:
    """A transfer (or a failed one) was recorded: transfer.started / transfer.failed, for an agent with a webhook."""
    event = events.transfer_event(instance) if created else None
    if event is None or instance.call_id is None:
        return
    agent = instance.call.agent if instance.call is not None else None
    if agent is not None and agent.post_call_webhook_url:
        transaction.on_commit(lambda: tasks.deliver_call_webhook.delay(instance.pk, event))


def connect() -> None:
    call_finished.connect(queue_post_call, dispatch_uid="automation.queue_post_call")
    call_started.connect(announce_start, dispatch_uid="automation.announce_start")
    signals.contact_settled.connect(wake_campaign, dispatch_uid="automation.wake_campaign")
    signals.webhook_due.connect(deliver_webhook, dispatch_uid="automation.deliver_webhook")
    signals.analysis_due.connect(queue_analysis, dispatch_uid="automation.queue_analysis")
    post_save.connect(announce_transfer, sender=CallEvent, dispatch_uid="automation.announce_transfer")

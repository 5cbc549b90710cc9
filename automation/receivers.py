"""What automation does when the call engine, or one of its own modules, says something happened: it queues the
Celery task for it. Connected in `AutomationConfig.ready`; the senders own the transaction (they send after the
commit), a receiver only enqueues."""

from __future__ import annotations

from calls.signals import call_finished

from . import signals, tasks


def queue_post_call(sender, call_id: int, **kwargs) -> None:
    """A call ended: its post-call work (a broker outage is logged, not raised)."""
    tasks.enqueue_post_call(call_id)


def wake_campaign(sender, campaign_id: int, **kwargs) -> None:
    tasks.run_campaign.delay(campaign_id)


def deliver_webhook(sender, call_id: int, **kwargs) -> None:
    tasks.deliver_call_webhook.delay(call_id)


def connect() -> None:
    call_finished.connect(queue_post_call, dispatch_uid="automation.queue_post_call")
    signals.contact_settled.connect(wake_campaign, dispatch_uid="automation.wake_campaign")
    signals.webhook_due.connect(deliver_webhook, dispatch_uid="automation.deliver_webhook")

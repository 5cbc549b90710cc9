"""Celery tasks of outbound campaigns."""

from __future__ import annotations

import logging
import threading

from celery import shared_task
from django.conf import settings

from calls.tasks import TRANSIENT_DB

from . import campaigns
from .models import Campaign

log = logging.getLogger("automation.tasks")


@shared_task(autoretry_for=TRANSIENT_DB, retry_backoff=2, retry_backoff_max=60, retry_jitter=True, max_retries=5)
def run_campaign(campaign_id: int) -> int:
    """Dial what is due within the concurrency cap; come back when a pending retry falls due. Safe to run twice:
    the cap is counted in the database under a lock, so extra runs dial nothing extra."""
    dialled = campaigns.dial_due(campaign_id)
    wait = campaigns.seconds_until_due(campaign_id)
    if wait is not None:
        _later(campaign_id, wait)
    return dialled


@shared_task
def tick_campaigns() -> int:
    """Beat's safety net: nudge every running campaign (a lost wake-up must not stall one forever)."""
    ids = list(Campaign.objects.filter(status=Campaign.Status.RUNNING).values_list("pk", flat=True))
    for pk in ids:
        run_campaign.delay(pk)
    return len(ids)


def _later(campaign_id: int, wait_s: float) -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        # No broker (embedded default): an eager countdown would run at once, in a loop. A timer in this process
        # stands in; it does not survive a restart, which is what the broker is for.
        timer = threading.Timer(wait_s, run_campaign.delay, args=(campaign_id,))
        timer.daemon = True
        timer.start()
    else:
        run_campaign.apply_async((campaign_id,), countdown=wait_s)

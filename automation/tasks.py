"""Celery tasks of the work around calls: after a call (`post_call`, then its webhook), retention, and outbound
campaigns. Their names (`automation.tasks.<function>`) are what the beat schedule and `send_task` use.

Each task takes ids, is safe to run twice and exits cleanly when its row is gone. Retries are narrow: a database
that is briefly unreachable (OperationalError / InterfaceError) for the row work, and for the webhook only what the
receiver's answer says is transient (connection errors, timeouts, 429, 5xx) — with exponential backoff and jitter.
"""

from __future__ import annotations

import logging
import threading

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from kombu.exceptions import KombuError

from calls.instances import close_unstarted
from calls.instances import reconcile as reconcile_lost

from . import campaigns
from .backoff import delay_s
from .analysis import run as run_analysis
from .delivery import EVENT, Result, attempt
from .models import Campaign
from .post_call import run as run_post_call
from .retention import purge_expired

log = logging.getLogger("automation.tasks")

TRANSIENT_DB = (OperationalError, InterfaceError)
_DB_RETRY = dict(autoretry_for=TRANSIENT_DB, retry_backoff=2, retry_backoff_max=120, retry_jitter=True, max_retries=5)


# ---------------------------------------------------------------- after a call


@shared_task(**_DB_RETRY)
def post_call(call_id: int) -> str:
    """Campaign result, PII redaction, summary, statistics, usage and cost, then the call.ended webhook and the
    analysis (their own tasks)."""
    return run_post_call(call_id)


@shared_task(bind=True, max_retries=None)
def deliver_call_webhook(self, call_id: int, event: str = EVENT) -> str:
    """One attempt per run of one event (`call_id`: its subject's id, see events.CATALOGUE); a transient failure
    schedules the next (settings.WEBHOOK_* set the policy)."""
    number = self.request.retries + 1
    result = attempt(call_id, self.request.id or "", number, event)
    if result is Result.RETRY:
        raise self.retry(countdown=delay_s(number, settings.WEBHOOK_RETRY_BASE_S))
    return result.value


@shared_task(**_DB_RETRY)
def analyze_call(call_id: int) -> str:
    """The agent's analysis fields, summary and success (LLM or the flow's slots), then the call.analyzed webhook."""
    return run_analysis(call_id)


def enqueue_post_call(call_id: int) -> None:
    """Queue `post_call`; a broker outage is logged, not raised (the call itself is already stored)."""
    try:
        post_call.delay(call_id)
    except KombuError as exc:
        log.error("call %s: post-call work not queued (broker unavailable): %s", call_id, exc)


# ---------------------------------------------------------------- calls a dead server left open


@shared_task(**_DB_RETRY)
def reconcile_lost_calls() -> int:
    """In-progress calls whose server stopped heartbeating (failed, server-lost) and ringing calls whose media never
    started (failed, no-media), with their post-call work (calls.instances). Returns how many were closed."""
    return len(reconcile_lost()) + len(close_unstarted())


# ---------------------------------------------------------------- retention


@shared_task(**_DB_RETRY)
def purge_expired_calls() -> int:
    return purge_expired()


# ---------------------------------------------------------------- campaigns


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

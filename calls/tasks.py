"""Celery tasks of the call engine: the work after a call, its webhook, and retention.

Each task takes ids, is safe to run twice and exits cleanly when its row is gone. Retries are narrow: a database
that is briefly unreachable (OperationalError / InterfaceError) for the row work, and for the webhook only what the
receiver's answer says is transient (connection errors, timeouts, 429, 5xx) — with exponential backoff and jitter.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from kombu.exceptions import KombuError

log = logging.getLogger("calls.tasks")

TRANSIENT_DB = (OperationalError, InterfaceError)
_DB_RETRY = dict(autoretry_for=TRANSIENT_DB, retry_backoff=2, retry_backoff_max=120, retry_jitter=True, max_retries=5)


@shared_task(**_DB_RETRY)
def post_call(call_id: int) -> str:
    """Campaign result, PII redaction, summary, statistics, then the call-completed webhook (its own task)."""
    from automation.post_call import run

    return run(call_id)


@shared_task(bind=True, max_retries=None)
def deliver_call_webhook(self, call_id: int) -> str:
    """One attempt per run; a transient failure schedules the next (settings.WEBHOOK_* set the policy)."""
    from automation.backoff import delay_s
    from automation.delivery import Result, attempt

    number = self.request.retries + 1
    result = attempt(call_id, self.request.id or "", number)
    if result is Result.RETRY:
        raise self.retry(countdown=delay_s(number, settings.WEBHOOK_RETRY_BASE_S))
    return result.value


@shared_task(**_DB_RETRY)
def purge_expired_calls() -> int:
    from automation.retention import purge_expired

    return purge_expired()


def enqueue_post_call(call_id: int) -> None:
    """Queue `post_call`; a broker outage is logged, not raised (the call itself is already stored)."""
    try:
        post_call.delay(call_id)
    except KombuError as exc:
        log.error("call %s: post-call work not queued (broker unavailable): %s", call_id, exc)

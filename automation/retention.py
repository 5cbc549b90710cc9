"""Retention: each agent's finished calls older than its `retention_days` go, with their recording files."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from calls.models import Agent, Call

log = logging.getLogger("automation.retention")

BATCH = 500
LIVE = (Call.Status.RINGING, Call.Status.IN_PROGRESS)


def purge_expired(now: datetime | None = None) -> int:
    """Delete expired calls of every agent with a retention period; returns how many. Safe to run twice."""
    now = now or timezone.now()
    deleted = 0
    for agent in Agent.objects.filter(retention_days__isnull=False).only("pk", "retention_days"):
        cutoff = now - timedelta(days=agent.retention_days)
        expired = Call.objects.filter(agent=agent, created_at__lt=cutoff).exclude(status__in=LIVE)
        while batch := list(expired.values_list("pk", "recording")[:BATCH]):
            with transaction.atomic():
                Call.objects.filter(pk__in=[pk for pk, _ in batch]).delete()
            # Files after the rows: a crash in between leaves an orphan file, never a row without its recording.
            for _, recording in batch:
                _remove(recording)
            deleted += len(batch)
    if deleted:
        log.info("retention: %d expired calls deleted", deleted)
    return deleted


def _remove(relative: str) -> None:
    if not relative:
        return
    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root):  # a path stored as "../x" must not reach outside the media folder
        log.warning("retention: recording path %r is outside MEDIA_ROOT; left alone", relative)
        return
    path.unlink(missing_ok=True)

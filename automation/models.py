"""Rows the background work writes: per-call statistics, webhook delivery attempts, outbound campaigns.

A separate app from `calls` so its migrations never collide with the call engine's.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from calls.models import Agent, Call, Carrier, Workspace


class CallStats(models.Model):
    """One finished call, reduced to the numbers analytics roll up (written once by `post_call`, idempotently)."""

    call = models.OneToOneField(Call, on_delete=models.CASCADE, related_name="stats")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="call_stats")
    agent = models.ForeignKey(Agent, on_delete=models.SET_NULL, null=True, blank=True, related_name="call_stats")
    day = models.DateField(db_index=True)
    direction = models.CharField(max_length=10)
    outcome = models.CharField(max_length=64, blank=True, default="")
    answered_by = models.CharField(max_length=16, blank=True, default="")
    duration_s = models.FloatField(null=True)
    caller_turns = models.PositiveIntegerField(default=0)
    agent_turns = models.PositiveIntegerField(default=0)
    interruptions = models.PositiveIntegerField(default=0)
    avg_end_to_end_ms = models.FloatField(null=True)
    max_end_to_end_ms = models.FloatField(null=True)
    last_node = models.CharField(max_length=80, blank=True, default="")
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "day"])]


class WebhookDelivery(models.Model):
    """One attempt to POST an event to a customer's URL. Kept after the call is purged, so failures stay visible."""

    class Status(models.TextChoices):
        DELIVERED = "delivered"
        RETRYING = "retrying"  # failed, another attempt is scheduled
        FAILED = "failed"  # failed for good (a 4xx, or the last attempt)

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="webhook_deliveries")
    call = models.ForeignKey(Call, on_delete=models.SET_NULL, null=True, blank=True, related_name="webhook_deliveries")
    event = models.CharField(max_length=40)
    # The same for every attempt of one event: receivers use it to drop duplicates.
    event_id = models.CharField(max_length=80, db_index=True)
    url = models.URLField(max_length=500)
    attempt = models.PositiveSmallIntegerField()
    # The Celery task whose retries make the attempts (its id survives retries): a second task for the same event
    # (post_call run twice) finds attempts it does not own and stops, so receivers are not hit twice as often.
    task_id = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True, default="")
    duration_ms = models.FloatField(null=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["workspace", "-created_at"])]


class Campaign(models.Model):
    """Outbound calls to a list of contacts, at most `concurrency_cap` at once, each retried up to `max_attempts`."""

    class Status(models.TextChoices):
        DRAFT = "draft"
        RUNNING = "running"
        PAUSED = "paused"
        COMPLETED = "completed"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="campaigns")
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="campaigns")
    name = models.CharField(max_length=120)
    from_number = models.CharField(max_length=20)
    carrier = models.CharField(max_length=12, choices=[c for c in Carrier.choices if c[0] != Carrier.BROWSER])
    concurrency_cap = models.PositiveSmallIntegerField(default=2)
    max_attempts = models.PositiveSmallIntegerField(default=2)
    retry_delay_s = models.PositiveIntegerField(default=300)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"  # waiting for its (next) attempt
        DIALING = "dialing"  # a call is placed and not finished: counts against the concurrency cap
        DONE = "done"
        FAILED = "failed"  # attempts exhausted

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="contacts")
    number = models.CharField(max_length=20)
    variables = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    result = models.CharField(max_length=40, blank=True, default="")
    call = models.ForeignKey(Call, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["campaign", "status"])]

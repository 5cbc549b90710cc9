"""Scenarios kept with their agent, and every run of them: which agent version it tested, and each result."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from calls.models import Agent, Call


class Scenario(models.Model):
    """One scenario file (YAML) of an agent's test suite, editable in the dashboard."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="scenarios")
    name = models.CharField(max_length=120)
    source = models.TextField(help_text="The scenario as YAML: caller lines and expectations.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        unique_together = [("agent", "name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SuiteRun(models.Model):
    """Scenarios run together against one version of an agent.

    The version is the agent's `flow_version` (bumped on every flow change) with its `updated_at` (any saved change,
    a prompt too): a result is shown beside the version that produced it."""

    class Status(models.TextChoices):
        RUNNING = "running"
        PASSED = "passed"
        FAILED = "failed"

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="suite_runs")
    flow_version = models.PositiveIntegerField()
    agent_saved_at = models.DateTimeField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING)
    trigger = models.CharField(max_length=16, default="cli")  # cli | dashboard
    concurrency = models.PositiveSmallIntegerField(default=1)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]

    @property
    def version_label(self) -> str:
        return f"flow v{self.flow_version} · saved {timezone.localtime(self.agent_saved_at):%Y-%m-%d %H:%M}"


class ScenarioResult(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        PASSED = "passed"
        FAILED = "failed"
        TIMED_OUT = "timed out"
        ERROR = "error"  # the call could not be placed (no number, server unreachable...)

    run = models.ForeignKey(SuiteRun, on_delete=models.CASCADE, related_name="results")
    name = models.CharField(max_length=120)
    source = models.TextField(help_text="The scenario as it was run.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    failures = models.JSONField(default=list, blank=True, help_text="The expectations not met, as sentences.")
    transcript = models.JSONField(default=list, blank=True)
    call = models.ForeignKey(Call, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    duration_s = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    @property
    def passed(self) -> bool:
        return self.status == self.Status.PASSED

"""Celery app: the work after a call (summaries, analytics, webhooks, retention)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voicebot.settings")

app = Celery("voicebot")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

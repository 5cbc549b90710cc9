"""The live monitor page. Calls in progress are rendered from the database; updates come over the WebSocket
(dashboard.consumers.LiveCallsConsumer) and are appended by static/dashboard/js/live.js."""

from __future__ import annotations

import time
from datetime import timedelta

from asgiref.sync import async_to_sync
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views import View

from calls import live
from calls.models import Call

from ..workspace import WorkspaceMixin

# A call the engine never closed (a crashed process) must not haunt the page forever.
STALE_AFTER = timedelta(hours=4)
# The health endpoint probes the layer itself when no send has told it anything for this long.
PROBE_AFTER_S = 10.0


class LiveView(WorkspaceMixin, View):
    def get(self, request):
        active = (
            Call.objects.filter(
                workspace=self.workspace,
                status__in=[Call.Status.RINGING, Call.Status.IN_PROGRESS],
                created_at__gte=timezone.now() - STALE_AFTER,
            )
            .select_related("agent")
            .prefetch_related("turns")
            .order_by("-created_at")
        )
        return render(request, "dashboard/live.html", {"active": active, "nav": "live", "live_health": live.health()})


class LiveHealthView(WorkspaceMixin, View):
    """Polled by the live page: is the layer that carries live updates working? (`calls.live.HEALTH`)"""

    def get(self, request):
        last = live.HEALTH.last_attempt_at
        if last is None or time.time() - last > PROBE_AFTER_S:
            return JsonResponse(async_to_sync(live.probe)())
        return JsonResponse(live.health())

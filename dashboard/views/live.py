"""The live monitor page. Calls in progress are rendered from the database; updates come over the WebSocket
(dashboard.consumers.LiveCallsConsumer) and are appended by static/dashboard/js/live.js."""

from __future__ import annotations

from datetime import timedelta

from django.shortcuts import render
from django.utils import timezone
from django.views import View

from calls.models import Call

from ..workspace import WorkspaceMixin

# A call the engine never closed (a crashed process) must not haunt the page forever.
STALE_AFTER = timedelta(hours=4)


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
        return render(request, "dashboard/live.html", {"active": active, "nav": "live"})

"""Recent webhook deliveries, one row per attempt, so a failing endpoint is visible."""

from __future__ import annotations

from django.shortcuts import render
from django.views import View

from automation.models import WebhookDelivery

from ..workspace import WorkspaceMixin

SHOWN = 100


class WebhookDeliveryListView(WorkspaceMixin, View):
    def get(self, request):
        deliveries = WebhookDelivery.objects.filter(workspace=self.workspace).select_related("call")[:SHOWN]
        return render(request, "dashboard/webhooks.html", {"deliveries": deliveries, "nav": "webhooks"})

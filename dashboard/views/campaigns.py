"""One campaign: its contacts and results, start/pause, and the progress JSON its page polls."""

from __future__ import annotations

from django.db.models import Count
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from automation.models import Campaign, Contact
from automation.tasks import run_campaign

from ..workspace import WorkspaceMixin

CONTACTS_SHOWN = 200


def progress(campaign: Campaign) -> dict:
    counts = dict(campaign.contacts.values_list("status").annotate(n=Count("pk")).order_by())
    total = sum(counts.values())
    finished = counts.get(Contact.Status.DONE, 0) + counts.get(Contact.Status.FAILED, 0)
    return {
        "status": campaign.status,
        "total": total,
        **{s: counts.get(s, 0) for s in Contact.Status.values},
        "percent": round(100 * finished / total, 1) if total else 0.0,
    }


class CampaignView(WorkspaceMixin, View):
    def get(self, request, pk: int):
        campaign = get_object_or_404(Campaign.objects.select_related("agent"), pk=pk, workspace=self.workspace)
        context = {
            "campaign": campaign,
            "progress": progress(campaign),
            "contacts": campaign.contacts.select_related("call")[:CONTACTS_SHOWN],
            "nav": "outbound",
        }
        return render(request, "dashboard/campaign.html", context)

    def post(self, request, pk: int):
        campaign = get_object_or_404(Campaign, pk=pk, workspace=self.workspace)
        action = request.POST.get("action")
        if action == "start" and campaign.status in (Campaign.Status.DRAFT, Campaign.Status.PAUSED):
            Campaign.objects.filter(pk=pk).update(status=Campaign.Status.RUNNING)
            run_campaign.delay(campaign.pk)
        elif action == "pause" and campaign.status == Campaign.Status.RUNNING:
            Campaign.objects.filter(pk=pk).update(status=Campaign.Status.PAUSED)  # calls in progress go on
        return redirect("dashboard:campaign", pk=pk)


class CampaignProgressView(WorkspaceMixin, View):
    def get(self, request, pk: int):
        campaign = get_object_or_404(Campaign, pk=pk, workspace=self.workspace)
        return JsonResponse(progress(campaign))

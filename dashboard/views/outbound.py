"""Outbound calling: call one number now, or create a campaign from a CSV; the campaigns list."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.views import View

from automation.models import Campaign
from calls.carriers.rest_errors import CarrierRestError
from calls.outbound import place_call

from ..outbound_forms import CampaignForm, OutboundCallForm
from ..workspace import WorkspaceMixin


def dial(form: OutboundCallForm):
    """Place the call a valid form describes (shared by the page and the API). Raises CarrierRestError."""
    data = form.cleaned_data
    number = data["number"]
    return place_call(data["agent"], number.carrier, number.e164, data["to"], data.get("variables") or {})


class OutboundView(WorkspaceMixin, View):
    def get(self, request, call_form=None, campaign_form=None, status: int = 200):
        context = {
            "call_form": call_form or OutboundCallForm(workspace=self.workspace),
            "campaign_form": campaign_form or CampaignForm(workspace=self.workspace),
            "campaigns": Campaign.objects.filter(workspace=self.workspace).select_related("agent")[:50],
            "nav": "outbound",
        }
        return render(request, "dashboard/outbound.html", context, status=status)

    def post(self, request):
        if request.POST.get("action") == "campaign":
            return self._create_campaign(request)
        form = OutboundCallForm(request.POST, workspace=self.workspace)
        if not form.is_valid():
            return self.get(request, call_form=form, status=400)
        try:
            call = dial(form)
        except CarrierRestError as exc:
            form.add_error(None, f"The call was not placed: {exc}")
            return self.get(request, call_form=form, status=502)
        messages.success(request, f"Calling {call.to_number} with “{form.cleaned_data['agent'].name}”.")
        return redirect("dashboard:call-detail", pk=call.pk)

    def _create_campaign(self, request):
        form = CampaignForm(request.POST, request.FILES, workspace=self.workspace)
        if not form.is_valid():
            return self.get(request, campaign_form=form, status=400)
        with transaction.atomic():
            campaign = form.save()
        messages.success(request, f"Campaign “{campaign.name}” created with {campaign.contacts.count()} contacts.")
        return redirect("dashboard:campaign", pk=campaign.pk)

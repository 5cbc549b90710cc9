"""Phone numbers: bind a number to an agent per carrier, and the exact webhook URLs to paste into the carrier."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from calls.carriers.common import public_url, stream_url
from calls.models import Carrier, PhoneNumber

from ..forms import PhoneNumberForm
from ..workspace import WorkspaceMixin


def carrier_setup() -> list[dict]:
    """What to paste where, per carrier, and whether incoming requests are signature-checked with real keys."""
    telnyx_real = settings.TELNYX_CREDENTIALS_ARE_REAL
    return [
        {
            "carrier": "twilio",
            "name": "Twilio",
            "where": "Phone Numbers → your number → Voice Configuration (HTTP POST)",
            "urls": [
                ("A call comes in (voice webhook)", public_url("/twilio/voice")),
                ("Call status changes (status callback)", public_url("/twilio/status")),
                ("Media stream (set by the TwiML; nothing to paste)", stream_url("twilio")),
            ],
            "signed": settings.TWILIO_CREDENTIALS_ARE_REAL,
            "signature_note": (
                "Signatures are checked with TWILIO_AUTH_TOKEN."
                if settings.TWILIO_CREDENTIALS_ARE_REAL
                else "Not set up for real calls: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN. "
                "Until then requests are checked with a generated local token, so Twilio's "
                "own requests will be refused."
            ),
        },
        {
            "carrier": "telnyx",
            "name": "Telnyx",
            "where": "TeXML Application → Voice URL and status callback (HTTP POST); call control webhook",
            "urls": [
                ("TeXML voice URL", public_url("/telnyx/texml")),
                ("Status callback", public_url("/telnyx/status")),
                ("Call control webhook", public_url("/telnyx/events")),
                ("Media stream (set by the TeXML; nothing to paste)", stream_url("telnyx")),
            ],
            "signed": telnyx_real,
            "signature_note": (
                "Signatures are checked with TELNYX_PUBLIC_KEY."
                if telnyx_real
                else "Not set up for real calls: set TELNYX_PUBLIC_KEY (Mission Control → Keys). "
                "Until then requests are checked with a generated local key."
            ),
        },
    ]


class NumberListView(WorkspaceMixin, View):
    """The numbers table, the bind form and the carrier set-up panel on one page."""

    def get(self, request):
        return self.render_page(request, PhoneNumberForm(workspace=self.workspace))

    def post(self, request):
        form = PhoneNumberForm(request.POST, workspace=self.workspace)
        if not form.is_valid():
            return self.render_page(request, form, status=400)
        with transaction.atomic():
            number = form.save()
        messages.success(
            request, f"{number.e164} on {number.get_carrier_display()} now answers with “{number.agent.name}”."
        )
        return redirect("dashboard:numbers")

    def render_page(self, request, form: PhoneNumberForm, status: int = 200):
        numbers = (
            PhoneNumber.objects.filter(workspace=self.workspace).select_related("agent").order_by("e164", "carrier")
        )
        context = {
            "numbers": numbers,
            "form": form,
            "carriers": carrier_setup(),
            "nav": "numbers",
            "public_base_url": settings.PUBLIC_BASE_URL,
            "public_url_is_local": not settings.PUBLIC_BASE_URL.startswith("https://"),
        }
        return render(request, "dashboard/numbers/list.html", context, status=status)


class NumberEditView(WorkspaceMixin, View):
    def get(self, request, pk: int):
        number = get_object_or_404(PhoneNumber, pk=pk, workspace=self.workspace)
        form = PhoneNumberForm(instance=number, workspace=self.workspace)
        return render(request, "dashboard/numbers/edit.html", {"form": form, "number": number, "nav": "numbers"})

    def post(self, request, pk: int):
        number = get_object_or_404(PhoneNumber, pk=pk, workspace=self.workspace)
        form = PhoneNumberForm(request.POST, instance=number, workspace=self.workspace)
        if not form.is_valid():
            return render(
                request, "dashboard/numbers/edit.html", {"form": form, "number": number, "nav": "numbers"}, status=400
            )
        with transaction.atomic():
            form.save()
        messages.success(request, f"{number.e164} updated.")
        return redirect("dashboard:numbers")


class NumberDeleteView(WorkspaceMixin, View):
    def post(self, request, pk: int):
        number = get_object_or_404(PhoneNumber, pk=pk, workspace=self.workspace)
        number.delete()
        messages.success(
            request,
            f"{number.e164} unbound from {dict(Carrier.choices)[number.carrier]}: "
            "calls to it are no longer answered here.",
        )
        return redirect("dashboard:numbers")

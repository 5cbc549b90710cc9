"""POST /api/calls/outbound: place one outbound call with an agent (token-authenticated, JSON in and out)."""

from __future__ import annotations

import json

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from calls.carriers.rest_errors import CarrierRestError, NotConfigured
from calls.models import PhoneNumber

from ..api_auth import token_required
from ..outbound_forms import OutboundCallForm
from .api import bad_request, call_summary
from .outbound import dial


def _error(status: int, error: str, detail: str) -> JsonResponse:
    return JsonResponse({"error": error, "detail": detail}, status=status)


@csrf_exempt  # a bearer token, not a cookie, authenticates: there is no session to forge requests with
@require_POST
@token_required
def outbound_call(request):
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return _error(400, "bad_request", "The body must be a JSON object.")
    if not isinstance(body, dict):
        return _error(400, "bad_request", "The body must be a JSON object.")
    data = {"agent": body.get("agent"), "to": body.get("to") or ""}
    if body.get("variables") is not None:
        data["variables"] = json.dumps(body["variables"])
    if body.get("from"):
        # The API names the number to call from as E.164 (and a carrier, when it is bound to both).
        numbers = PhoneNumber.objects.filter(workspace=request.workspace, e164=body["from"])
        if body.get("carrier"):
            numbers = numbers.filter(carrier=body["carrier"])
        number = numbers.exclude(carrier="browser").order_by("carrier").first()
        if number is None:
            return JsonResponse({"error": "bad_request", "fields": {"from": ["Not a number of this workspace."]}},
                                status=400)
        data["number"] = number.pk
    form = OutboundCallForm(data, workspace=request.workspace)
    if not form.is_valid():
        return bad_request(form)
    try:
        call = dial(form)
    except NotConfigured as exc:
        return _error(503, "carrier_not_configured", str(exc))
    except CarrierRestError as exc:
        return _error(502, "carrier_error", str(exc))
    call.agent = form.cleaned_data["agent"]
    return JsonResponse(call_summary(call), status=201)

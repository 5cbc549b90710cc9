"""Call Control events for the calls we dial (their `webhook_url`): answer, AMD verdict, voicemail, hang-up.

Kept apart from telnyx_webhooks (inbound), which ignores outbound legs. Every request must carry a valid Ed25519
signature; the row is found through our `client_state`, set at dial time and repeated by Telnyx in every event.
"""

from __future__ import annotations

import json
import logging
from functools import partial

from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .. import outbound
from ..models import Call, Carrier
from . import common, outbound_telnyx, telnyx_signature
from .rest_errors import CarrierRestError
from .telnyx_webhooks import HANGUP_STATUS

log = logging.getLogger("calls.carriers.telnyx")

VERDICT = {"human": "human", "machine": "machine", "not_sure": "unknown"}


@csrf_exempt
@require_POST
def events(request: HttpRequest) -> HttpResponse:
    if not telnyx_signature.verified(request):
        return HttpResponseForbidden("invalid signature")
    try:
        data = json.loads(request.body)["data"]
        kind, payload = str(data["event_type"]), data["payload"]
        if not isinstance(payload, dict):
            raise TypeError("payload is not an object")
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("telnyx outbound event rejected: not a Call Control event (%s)", exc)
        return HttpResponseBadRequest("not a call control event")
    call = _call_for(payload)
    handler = _HANDLERS.get(kind)
    if call is not None and handler is not None:
        try:
            handler(call, payload)
        except CarrierRestError as exc:
            log.warning("telnyx outbound call %s: %s failed: %s", call.pk, kind, exc)
    return HttpResponse(status=204)  # unknown or late events too: a 2xx stops Telnyx retrying


def _call_for(payload: dict) -> Call | None:
    pk = outbound_telnyx.decode_state(payload.get("client_state"))
    call = Call.objects.select_related("agent").filter(
        pk=pk or 0, carrier=Carrier.TELNYX, direction=Call.Direction.OUTBOUND).first()
    if call is None or not outbound.adopt_carrier_id(call, str(payload.get("call_control_id") or "")):
        return None
    return call


def _answered(call: Call, payload: dict) -> None:
    if call.agent is None or call.agent.machine_detection == "off":
        outbound.record_answer(call, "unknown")
        outbound_telnyx.start_stream(call, common.grant_stream(call))
    # With AMD on, the verdict decides (call.machine.detection.ended).


def _verdict(call: Call, payload: dict) -> None:
    action = outbound.record_answer(call, VERDICT.get(str(payload.get("result")), "unknown"))
    if action == "stream":
        outbound_telnyx.start_stream(call, common.grant_stream(call))
    elif action == "hangup":
        outbound_telnyx.hang_up(call)
    # "message": wait for the greeting's end (call.machine.greeting.ended), then speak.


def _greeting_ended(call: Call, payload: dict) -> None:
    if call.answered_by == "machine" and call.end_reason == "machine:message":
        outbound_telnyx.speak(call, call.agent.voicemail_message)


def _spoken(call: Call, payload: dict) -> None:
    if call.answered_by == "machine":
        outbound_telnyx.hang_up(call)


def _hangup(call: Call, payload: dict) -> None:
    cause = str(payload.get("hangup_cause") or "")
    common.update_status(Carrier.TELNYX, call.carrier_call_id, HANGUP_STATUS.get(cause, "completed"))
    from ..tasks import enqueue_post_call

    transaction.on_commit(partial(enqueue_post_call, call.pk))


_HANDLERS = {
    "call.answered": _answered,
    "call.machine.detection.ended": _verdict,
    "call.machine.greeting.ended": _greeting_ended,
    "call.speak.ended": _spoken,
    "call.hangup": _hangup,
}

"""Call Control events for the calls we dial (their `webhook_url`): answer, AMD verdict, voicemail, hang-up.

Kept apart from webhooks.py (inbound), which ignores outbound legs. Every request must carry a valid Ed25519
signature (event_webhook.py); the row is found through our `client_state`, set at dial time and repeated by Telnyx
in every event.
"""

from __future__ import annotations

import logging

from ...models import Call, Carrier
from .. import common, dialled
from ..rest_errors import CarrierRestError
from . import client_state, outbound
from .event_webhook import HANGUP_STATUS, call_control_webhook

log = logging.getLogger("calls.carriers.telnyx")

VERDICT = {"human": "human", "machine": "machine", "not_sure": "unknown"}


@call_control_webhook("telnyx outbound event")
def events(kind: str, payload: dict) -> None:
    call = _call_for(payload)
    handler = _HANDLERS.get(kind)
    if call is not None and handler is not None:
        try:
            handler(call, payload)
        except CarrierRestError as exc:
            log.warning("telnyx outbound call %s: %s failed: %s", call.pk, kind, exc)


def _call_for(payload: dict) -> Call | None:
    pk = client_state.decode_call(payload.get("client_state"))
    call = Call.objects.select_related("agent").filter(
        pk=pk or 0, carrier=Carrier.TELNYX, direction=Call.Direction.OUTBOUND).first()
    if call is None or not dialled.adopt_carrier_id(call, str(payload.get("call_control_id") or "")):
        return None
    return call


def _answered(call: Call, payload: dict) -> None:
    if call.agent is None or call.agent.machine_detection == "off":
        dialled.record_answer(call, "unknown")
        outbound.start_stream(call, common.grant_stream(call))
    # With AMD on, the verdict decides (call.machine.detection.ended).


def _verdict(call: Call, payload: dict) -> None:
    action = dialled.record_answer(call, VERDICT.get(str(payload.get("result")), "unknown"))
    if action == "stream":
        outbound.start_stream(call, common.grant_stream(call))
    elif action == "hangup":
        outbound.hang_up(call)
    # "message": wait for the greeting's end (call.machine.greeting.ended), then speak.


def _greeting_ended(call: Call, payload: dict) -> None:
    if call.answered_by == "machine" and call.end_reason == "machine:message":
        outbound.speak(call, call.agent.voicemail_message)


def _spoken(call: Call, payload: dict) -> None:
    if call.answered_by == "machine":
        outbound.hang_up(call)


def _hangup(call: Call, payload: dict) -> None:
    cause = str(payload.get("hangup_cause") or "")
    common.update_status(Carrier.TELNYX, call.carrier_call_id, HANGUP_STATUS.get(cause, "completed"))
    dialled.announce_end(call)


_HANDLERS = {
    "call.answered": _answered,
    "call.machine.detection.ended": _verdict,
    "call.machine.greeting.ended": _greeting_ended,
    "call.speak.ended": _spoken,
    "call.hangup": _hangup,
}

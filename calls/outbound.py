"""Outbound calls: the Call row first, then the carrier dials; and what to do when a machine answers.

The row exists before the REST request so a failed dial is still a visible call (status failed, with the reason),
and so the carrier's first callback can never arrive for a call we do not know. Its carrier id is a placeholder
until the carrier returns the real one.

The stream token is issued when the callee answers (`carriers.common.grant_stream`), not at dial time: it is bound
to the carrier's call id, which does not exist before the dial, and it lives STREAM_TOKEN_TTL_S (60 s), less than
ringing plus answering-machine detection can take.
"""

from __future__ import annotations

import logging
import uuid

from django.utils import timezone

from .carriers import outbound_telnyx, outbound_twilio
from .carriers.rest_errors import CarrierRestError, NotConfigured
from .models import Agent, Call, CallEvent

log = logging.getLogger("calls.outbound")

PENDING_PREFIX = "pending:"
_DIALERS = {"twilio": outbound_twilio, "telnyx": outbound_telnyx}


def place_call(agent: Agent, carrier: str, from_number: str, to: str, variables: dict | None = None) -> Call:
    """Dial `to` from our `from_number` with `agent`. Raises CarrierRestError (NotConfigured: no row written)."""
    dialer = _DIALERS.get(carrier)
    if dialer is None:
        raise NotConfigured(f"outbound calls are not supported through {carrier}", carrier=carrier)
    dialer.check_configured()
    call = Call.objects.create(
        workspace_id=agent.workspace_id, agent=agent, carrier=carrier,
        carrier_call_id=PENDING_PREFIX + uuid.uuid4().hex, from_number=from_number, to_number=to,
        direction=Call.Direction.OUTBOUND, status=Call.Status.RINGING, variables=variables or {},
        flow_version=agent.flow_version,
    )
    call.agent = agent
    try:
        carrier_call_id = dialer.dial(call)
    except CarrierRestError as exc:
        log.warning("outbound call %s to %s failed: %s", call.pk, to, exc)
        Call.objects.filter(pk=call.pk).update(status=Call.Status.FAILED, ended_at=timezone.now(),
                                               end_reason=f"dial-failed: {exc}"[:64])
        raise
    Call.objects.filter(pk=call.pk).update(carrier_call_id=carrier_call_id)
    call.carrier_call_id = carrier_call_id
    return call


def adopt_carrier_id(call: Call, carrier_call_id: str) -> bool:
    """A callback named the carrier's id before `place_call` stored it (a race); False if it names another call."""
    if not carrier_call_id or call.carrier_call_id == carrier_call_id:
        return True
    if not call.carrier_call_id.startswith(PENDING_PREFIX):
        return False
    Call.objects.filter(pk=call.pk).update(carrier_call_id=carrier_call_id)
    call.carrier_call_id = carrier_call_id
    return True


def record_answer(call: Call, answered_by: str) -> str:
    """Store who answered (human | machine | unknown); return what to do: "stream", "hangup" or "message"."""
    action = "stream"
    if answered_by == "machine" and call.agent is not None and call.agent.machine_detection != "off":
        action = "message" if call.agent.machine_detection == "message" and call.agent.voicemail_message else "hangup"
    fields: dict = {"answered_by": answered_by}
    if action != "stream":
        fields["end_reason"] = f"machine:{action}"
    Call.objects.filter(pk=call.pk).update(**fields)
    call.answered_by = answered_by
    CallEvent.objects.create(call=call, workspace_id=call.workspace_id, kind=CallEvent.Kind.INFO,
                             detail={"answered_by": answered_by, "action": action})
    return action

"""The row of a call we dialled, as the carriers' callbacks update it: its carrier id, and who answered.

Carrier-neutral: both carriers' outbound callbacks (twilio/outbound_hooks.py, telnyx/outbound_hooks.py) call these;
the dial itself is calls.outbound.place_call, above the carrier folders.
"""

from __future__ import annotations

from functools import partial

from django.db import transaction

from ..models import Call, CallEvent
from ..signals import call_finished

# The carrier id of a dialled call until the carrier returns the real one (calls.outbound.place_call).
PENDING_PREFIX = "pending:"


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


def announce_end(call: Call) -> None:
    """The carrier reported the dialled call over: once this transaction commits, tell whoever does the post-call
    work (calls.signals.call_finished; automation listens)."""
    transaction.on_commit(partial(call_finished.send, sender=Call, call_id=call.pk))

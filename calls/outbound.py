"""Outbound calls: the Call row first, then the carrier dials.

The row exists before the REST request so a failed dial is still a visible call (status failed, with the reason),
and so the carrier's first callback can never arrive for a call we do not know. Its carrier id is a placeholder
until the carrier returns the real one.

The stream token is issued when the callee answers (`carriers.common.grant_stream`), not at dial time: it is bound
to the carrier's call id, which does not exist before the dial, and it lives STREAM_TOKEN_TTL_S (60 s), less than
ringing plus answering-machine detection can take.

This module sits above the carrier folders and finds the carrier's dialer in calls.carriers.registry; what the
carriers' callbacks do to the dialled call's row (its carrier id, who answered) is calls.carriers.dialled, below
the folders, so that no carrier module imports this one.
"""

from __future__ import annotations

import logging
import uuid

from django.utils import timezone

from .carriers import registry
from .carriers.dialled import PENDING_PREFIX
from .carriers.rest_errors import CarrierRestError, NotConfigured
from .models import Agent, Call

log = logging.getLogger("calls.outbound")


def place_call(agent: Agent, carrier: str, from_number: str, to: str, variables: dict | None = None) -> Call:
    """Dial `to` from our `from_number` with `agent`. Raises CarrierRestError (NotConfigured: no row written)."""
    kit = registry.kit(carrier)
    dialer = kit.dialer if kit is not None else None
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

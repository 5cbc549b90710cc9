"""Telnyx as the carrier-neutral code sees it (listed in calls.carriers.registry)."""

from __future__ import annotations

from ..kit import CarrierKit, Dialer, StreamResume, unsigned_upgrade
from . import outbound
from .control import telnyx_control
from .media import TelnyxSerializer
from .rest import client_options

KIT = CarrierKit(
    serializer=TelnyxSerializer,
    # Telnyx does not sign the media WebSocket upgrade: the single-use stream token in `start` is the gate.
    check_upgrade=unsigned_upgrade,
    control=telnyx_control,
    dialer=Dialer(check_configured=outbound.check_configured, dial=outbound.dial),
    # `start_streaming` opens a stream on a live call, whether it never had one (dialled) or lost it.
    resume=StreamResume(check_configured=client_options, reconnect=outbound.start_stream),
)

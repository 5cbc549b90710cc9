"""Twilio as the carrier-neutral code sees it (listed in calls.carriers.registry)."""

from __future__ import annotations

from ..kit import CarrierKit, Dialer, StreamResume
from . import outbound, resume
from .control import twilio_control
from .media import TwilioSerializer
from .rest import client
from .upgrade import check_upgrade

KIT = CarrierKit(
    serializer=TwilioSerializer,
    check_upgrade=check_upgrade,
    control=twilio_control,
    dialer=Dialer(check_configured=outbound.check_configured, dial=outbound.dial),
    # Building the REST client is the check: it raises NotConfigured without credentials.
    resume=StreamResume(check_configured=client, reconnect=resume.reconnect),
)

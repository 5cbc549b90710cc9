"""The browser carrier as the carrier-neutral code sees it (listed in calls.carriers.registry)."""

from __future__ import annotations

from ..kit import CarrierKit, no_control
from .media import BrowserSerializer
from .transcript import with_transcript
from .upgrade import check_upgrade

# No dialer and no stream resume: the page opens every call, and a dropped socket is the page gone.
KIT = CarrierKit(BrowserSerializer, check_upgrade, no_control, watch_records=with_transcript)

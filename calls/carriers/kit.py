"""What a carrier folder hands the carrier-neutral code: its `CarrierKit`.

The shapes live here, below the carrier folders, so that a folder can build its kit (`<carrier>/kit.py`) without
importing the registry that lists the folders (calls.carriers.registry).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .base import CallControl, MediaSerializer

if TYPE_CHECKING:
    from ..models import Call


@dataclass(frozen=True)
class Dialer:
    """Dialling out through the carrier's REST API (calls.outbound.place_call)."""

    # Raises NotConfigured (calls.carriers.rest_errors) when the credentials or settings a dial needs are missing.
    check_configured: Callable[[], object]
    # Places the call; returns the carrier's call id. Raises CarrierRestError.
    dial: Callable[[Call], str]


@dataclass(frozen=True)
class StreamResume:
    """Asking the carrier, over REST, to reopen a dropped media stream on a live call (calls.resume)."""

    check_configured: Callable[[], object]  # raises NotConfigured without REST credentials
    reconnect: Callable[[Call, str], None]  # (call, fresh stream token); raises CarrierRestError


@dataclass(frozen=True)
class CarrierKit:
    serializer: Callable[[], MediaSerializer]
    # Checks the WebSocket upgrade request (headers, path); returns an error string or None.
    check_upgrade: Callable[[dict], str | None]
    control: Callable[[], CallControl | None]
    # Wraps a call's record publisher (publish, serializer, send) -> publish; the browser phone shows the transcript.
    watch_records: Callable | None = None
    dialer: Dialer | None = None  # None: the carrier cannot dial out
    resume: StreamResume | None = None  # None: a dropped stream cannot be reopened


def unsigned_upgrade(scope: dict) -> str | None:
    """For a carrier that does not sign its media WebSocket upgrade: the single-use stream token is the gate."""
    return None


def no_control() -> CallControl | None:
    """For a carrier without a REST API on live calls: hanging up closes the socket, transfers are recorded only."""
    return None

"""Which serializer, upgrade check and call control belong to each carrier's media socket."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .base import CallControl, MediaSerializer


@dataclass(frozen=True)
class CarrierKit:
    serializer: Callable[[], MediaSerializer]
    # Checks the WebSocket upgrade request (headers, path); returns an error string or None.
    check_upgrade: Callable[[dict], str | None]
    control: Callable[[], CallControl | None]
    # Wraps a call's record publisher (publish, serializer, send) -> publish; the browser phone shows the transcript.
    watch_records: Callable | None = None


def _twilio() -> CarrierKit:
    from .twilio_control import twilio_control
    from .twilio_media import TwilioSerializer
    from .twilio_upgrade import check_upgrade

    return CarrierKit(TwilioSerializer, check_upgrade, twilio_control)


def _telnyx() -> CarrierKit:
    from .telnyx_control import telnyx_control
    from .telnyx_media import TelnyxSerializer

    return CarrierKit(TelnyxSerializer, _unsigned_upgrade, telnyx_control)


def _browser() -> CarrierKit:
    from .browser_media import BrowserSerializer, check_upgrade, no_control, with_transcript

    return CarrierKit(BrowserSerializer, check_upgrade, no_control, watch_records=with_transcript)


def _unsigned_upgrade(scope: dict) -> str | None:
    # Telnyx does not sign the media WebSocket upgrade: the single-use stream token in `start` is the gate.
    return None


_FACTORIES = {"twilio": _twilio, "telnyx": _telnyx, "browser": _browser}
_cache: dict[str, CarrierKit] = {}


def kit(carrier: str) -> CarrierKit | None:
    if carrier not in _cache:
        factory = _FACTORIES.get(carrier)
        if factory is None:
            return None
        _cache[carrier] = factory()
    return _cache[carrier]

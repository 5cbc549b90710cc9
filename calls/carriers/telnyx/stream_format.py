"""Which audio format to ask Telnyx for on a call's media stream (narrowband G.711, or L16 for wideband).

The session runs at whatever rate the stream carries, so wideband is purely a carrier-side choice: ask for L16 at
16 kHz and speech recognition gets twice the bandwidth (see docs/benchmarks.md, "Wideband"). An agent can choose
per number through `provider_options["telephony"] = {"codec": "L16", "sample_rate": 16000}`; otherwise the
TELNYX_STREAM_CODEC / TELNYX_STREAM_RATE settings apply (PCMU at 8 kHz by default: it works on every leg).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings

log = logging.getLogger("calls.carriers.telnyx")

# G.711 is defined at 8 kHz only; L16 is plain PCM, so any rate the session supports works.
SUPPORTED: dict[str, frozenset[int]] = {
    "PCMU": frozenset({8000}),
    "PCMA": frozenset({8000}),
    "L16": frozenset({8000, 16000}),
}
NARROWBAND = ("PCMU", 8000)


@dataclass(frozen=True, slots=True)
class StreamFormat:
    codec: str
    sample_rate: int


def stream_format(agent) -> StreamFormat:
    """The agent's choice, else the settings; a combination we cannot decode falls back to PCMU 8 kHz."""
    options = (getattr(agent, "provider_options", None) or {}).get("telephony") or {}
    codec = str(options.get("codec") or settings.TELNYX_STREAM_CODEC).strip().upper()
    try:
        rate = int(options.get("sample_rate") or settings.TELNYX_STREAM_RATE)
    except (TypeError, ValueError):
        rate = 0
    if rate not in SUPPORTED.get(codec, ()):
        log.warning("telnyx stream format %s/%s not supported (PCMU/PCMA 8000, L16 8000|16000): using %s/%s",
                    codec, rate, *NARROWBAND)
        codec, rate = NARROWBAND
    return StreamFormat(codec, rate)

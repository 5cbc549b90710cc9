"""The carrier boundary: one serializer per carrier turns its media-socket JSON into these events and back.

Nothing past this module knows which carrier it serves. Serializers never perform side effects (no REST, no
database); `parse` raises `BadMessage` for junk so the consumer can count it, and returns nothing for events
that need no action.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from dataclasses import dataclass, field

# CallControl is re-exported: the carriers implement it beside their serializers.
from ..pipeline.ports import CallControl, CallStart, MediaEncoder  # noqa: F401


class BadMessage(Exception):
    """A media-socket message we cannot use. `reason` is a short, countable label."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def load_message(text: str) -> dict:
    """One media-socket text message as a JSON object, or BadMessage (never another exception)."""
    try:
        msg = json.loads(text)
    except (ValueError, TypeError, RecursionError) as exc:  # RecursionError: "[[[[…" nested too deep
        raise BadMessage("invalid_json", str(exc)[:80]) from None
    if not isinstance(msg, dict):
        raise BadMessage("not_an_object")
    return msg


@dataclass(slots=True)
class AudioIn:
    """Caller audio, already decoded to PCM16LE at the stream's sample rate."""

    pcm: bytes


@dataclass(slots=True)
class DtmfIn:
    digit: str


@dataclass(slots=True)
class MarkPlayed:
    """The carrier played all audio queued before mark `name` (or dropped it on a clear)."""

    name: str


@dataclass(slots=True)
class StreamStopped:
    reason: str = "stop"


@dataclass(slots=True)
class Connected:
    pass


CarrierEvent = CallStart | AudioIn | DtmfIn | MarkPlayed | StreamStopped | Connected


@dataclass(slots=True)
class SerializerStats:
    """Per-stream counters of what the carrier sent us that we could not use, or had to repair."""

    bad: dict = field(default_factory=dict)
    late_dropped: int = 0
    duplicates: int = 0
    concealed: int = 0

    def count(self, reason: str) -> None:
        self.bad[reason] = self.bad.get(reason, 0) + 1


class MediaSerializer(MediaEncoder):
    """Carrier media-socket JSON <-> carrier events. One instance per stream (it may hold codec state).

    The encoding half (`MediaEncoder`) is all the session and playout see of it."""

    carrier: str = ""

    def __init__(self) -> None:
        self.stats = SerializerStats()
        self.started: CallStart | None = None

    @abstractmethod
    def parse(self, text: str) -> list[CarrierEvent]:
        """Events in one text message; raises BadMessage for junk."""

    def flush(self) -> list[CarrierEvent]:
        """Events still held (e.g. in a reorder buffer) when the stream ends."""
        return []

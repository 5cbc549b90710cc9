"""What a call session needs from the carrier edge, defined here so that the edge depends on the session and
pipeline, never the other way round.

A carrier's serializer (`calls.carriers.base.MediaSerializer`) is a `MediaEncoder`; its REST client is a
`CallControl`; its `start` event is normalised into a `CallStart`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field


@dataclass(slots=True)
class CallStart:
    """The carrier's `start` event, normalised."""

    carrier: str
    call_id: str
    stream_id: str
    sample_rate: int
    codec: str
    params: dict = field(default_factory=dict)


class MediaEncoder(ABC):
    """Outbound media messages for one stream: audio, marks and clear, as the carrier's socket expects them."""

    @abstractmethod
    def encode_audio(self, pcm: bytes) -> str:
        """One outbound media message carrying `pcm` (PCM16LE at the stream rate)."""

    @abstractmethod
    def encode_mark(self, name: str) -> str:
        """A mark the carrier echoes once the audio sent before it has been played."""

    @abstractmethod
    def encode_clear(self) -> str:
        """Drop audio the carrier has buffered but not yet played (barge-in)."""


class CallControl(ABC):
    """REST side effects on a live call. Implementations exist only when credentials do."""

    @abstractmethod
    async def hang_up(self, call_id: str) -> None: ...

    @abstractmethod
    async def transfer(self, call_id: str, target: str, summary: str = "", options=None) -> None:
        """Hand the call to `target` (number or SIP URI). `options` (`providers.base.TransferOptions`, optional):
        warm or cold, and the intent and slots sent along as SIP headers."""

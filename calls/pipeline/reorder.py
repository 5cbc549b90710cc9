"""Bounded reorder (jitter) buffer for carrier media frames.

Some carriers (Telnyx) deliver WebSocket media frames out of order. Frames
are held briefly so they can be released in sequence, but never for long:
once more than `window` frames are waiting on a missing sequence number the
gap is given up on (optionally filled with concealment audio), so latency and
memory stay bounded whatever the network does.

Sequence numbers are plain increasing integers (as carriers number WebSocket
media messages); callers with 16-bit RTP sequence numbers must unwrap them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

__all__ = ["ReorderBuffer", "ReorderStats"]

_HISTORY_BITS = 64  # released-frame memory used to tell duplicates from late frames
_HISTORY_MASK = (1 << _HISTORY_BITS) - 1


@dataclass(slots=True)
class ReorderStats:
    """Counters; received == released + late_dropped + duplicates + pending."""

    received: int = 0
    released: int = 0  # real frames handed out (concealment not included)
    late_dropped: int = 0  # arrived after its slot was released or concealed
    duplicates: int = 0  # same sequence number seen twice
    concealed: int = 0  # missing sequence numbers given up on
    resyncs: int = 0  # sequence jumps too large to bridge


class ReorderBuffer:
    """Releases payloads in sequence order, waiting at most `window` frames."""

    def __init__(
        self,
        window: int = 5,
        conceal: Callable[[], bytes] | None = None,
        max_jump: int = 50,
    ) -> None:
        if window < 0:
            raise ValueError(f"window must be >= 0, got {window}")
        if max_jump < window:
            raise ValueError(f"max_jump ({max_jump}) must be >= window ({window})")
        self.window = window
        self.max_jump = max_jump
        self._conceal = conceal
        self._held: dict[int, bytes] = {}
        self._next = 0  # next sequence number to release (valid once started)
        self._started = False
        self._history = 0  # bit i set: sequence _next-1-i was released as a real frame
        self.stats = ReorderStats()

    @property
    def pending(self) -> int:
        """Frames held waiting for a gap to fill."""
        return len(self._held)

    @property
    def next_seq(self) -> int | None:
        """Sequence number the buffer is waiting for (None before the first frame)."""
        return self._next if self._started else None

    def push(self, seq: int, payload: bytes) -> list[bytes]:
        """Accept one frame; return every payload that is now ready, in order."""
        self.stats.received += 1
        if not self._started:
            self._started = True
            self._next = seq
        if seq < self._next:
            self._drop_old(seq)
            return []
        out: list[bytes] = []
        if seq - self._next > self.max_jump:
            self._resync(seq, out)
        if seq in self._held:
            self.stats.duplicates += 1
            return out
        self._held[seq] = payload
        self._drain(out)
        while len(self._held) > self.window:
            self._skip_gap(out)
        return out

    def flush(self) -> list[bytes]:
        """Release everything held, concealing the gaps between held frames."""
        out: list[bytes] = []
        while self._held:
            self._skip_gap(out)
        return out

    # -- internals ---------------------------------------------------------

    def _drop_old(self, seq: int) -> None:
        age = self._next - 1 - seq
        if age < _HISTORY_BITS and (self._history >> age) & 1:
            self.stats.duplicates += 1
        else:
            self.stats.late_dropped += 1

    def _resync(self, seq: int, out: list[bytes]) -> None:
        """Don't emit seconds of concealment for a jump; restart at `seq`."""
        out.extend(self.flush())
        self.stats.resyncs += 1
        self._next = seq
        self._history = 0

    def _drain(self, out: list[bytes]) -> None:
        """Release the contiguous run starting at the expected sequence."""
        held = self._held
        while self._next in held:
            out.append(held.pop(self._next))
            self._advance(real=True)

    def _skip_gap(self, out: list[bytes]) -> None:
        """Give up on the missing frames before the oldest held one."""
        first = min(self._held)
        while self._next < first:
            if self._conceal is not None:
                out.append(self._conceal())
            self.stats.concealed += 1
            self._advance(real=False)
        self._drain(out)

    def _advance(self, real: bool) -> None:
        self._history = ((self._history << 1) | real) & _HISTORY_MASK
        self._next += 1
        if real:
            self.stats.released += 1

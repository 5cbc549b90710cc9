"""`ReplayBuffer`: audio sent to a streaming recogniser that no final result has covered yet.

Offsets are global byte counts since the stream began, so they survive reconnects: a new socket starts its own
clock at zero, and the recogniser's timestamps on it are mapped back through the offset it started from.
"""

from __future__ import annotations


class ReplayBuffer:
    """Append-only PCM16 with three cursors: `base` (acknowledged up to here), `sent`, `total` (appended)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes - max_bytes % 2
        self._buf = bytearray()
        self.base = 0
        self.sent = 0

    @property
    def total(self) -> int:
        return self.base + len(self._buf)

    @property
    def unsent(self) -> int:
        return self.total - self.sent

    def append(self, pcm: bytes) -> None:
        self._buf += pcm
        overflow = len(self._buf) - self.max_bytes
        if overflow > 0:
            # A recogniser that never finalises (or a long outage) must not grow memory without bound: forget the
            # oldest audio. Only a replay after a drop can lose it, and only beyond `max_bytes` of backlog.
            overflow += overflow % 2
            del self._buf[:overflow]
            self.base += overflow
            self.sent = max(self.sent, self.base)

    def take(self, max_bytes: int) -> bytes:
        """The next unsent bytes (at most `max_bytes`), marked as sent."""
        start = self.sent - self.base
        chunk = bytes(self._buf[start : start + max_bytes])
        self.sent += len(chunk)
        return chunk

    def ack(self, upto: int) -> None:
        """A final result covers audio up to global offset `upto`: it never needs replaying."""
        upto = min(upto, self.sent)
        upto -= upto % 2  # stay on a sample boundary
        drop = upto - self.base
        if drop > 0:
            del self._buf[:drop]
            self.base = upto

    def rewind(self) -> None:
        """A new connection: everything not acknowledged is sent again."""
        self.sent = self.base

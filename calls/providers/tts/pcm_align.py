"""`PcmAligner`: cut a byte stream into whole 16-bit samples.

Streamed audio arrives in network-sized pieces (HTTP chunks, base64 frames) that need not end on a sample
boundary; a half sample handed on would shift every later sample by one byte and turn the audio into noise.
"""

from __future__ import annotations


class PcmAligner:
    def __init__(self) -> None:
        self._carry = b""

    def feed(self, data: bytes) -> bytes:
        data = self._carry + data
        cut = len(data) - len(data) % 2
        self._carry = data[cut:]
        return data[:cut]

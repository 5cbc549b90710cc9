"""The call's audio in the model's format and back.

The Realtime API takes and returns G.711 (`audio/pcmu` μ-law and `audio/pcma` A-law, 8 kHz): for a G.711 carrier
at 8 kHz those are the very bytes on the phone line, so nothing is resampled — the session's PCM (decoded by the
carrier serializer) is re-encoded by table lookup, which gives back the carrier's bytes exactly (G.711
decode/encode round-trips). Any other stream (L16, 16 kHz, the browser) is resampled to the API's 24 kHz PCM and
back.
"""

from __future__ import annotations

import base64

from ...pipeline.audio import Resampler, alaw_decode, alaw_encode, ulaw_decode, ulaw_encode

PCMU = "audio/pcmu"
PCMA = "audio/pcma"
PCM = "audio/pcm"
MODEL_PCM_RATE = 24000  # `audio/pcm` is 24 kHz only (`types/realtime/realtime_audio_formats_param.py`)


class AudioBridge:
    """Per call: `to_model(pcm)` -> base64 for `input_audio_buffer.append` (or `model_audio` then `for_append`);
    `from_model(b64)` -> PCM16 at the call's rate for playout."""

    def __init__(self, sample_rate: int, codec: str) -> None:
        self.sample_rate = sample_rate
        g711 = {"PCMU": (PCMU, ulaw_encode, ulaw_decode), "AUDIO/X-MULAW": (PCMU, ulaw_encode, ulaw_decode),
                "PCMA": (PCMA, alaw_encode, alaw_decode), "AUDIO/X-ALAW": (PCMA, alaw_encode, alaw_decode)}
        law = g711.get(codec.upper()) if sample_rate == 8000 else None
        self.passthrough = law is not None
        if law is not None:
            kind, self._encode, self._decode = law
            self.format = {"type": kind}
        else:
            self.format = {"type": PCM, "rate": MODEL_PCM_RATE}
            self._up = Resampler(sample_rate, MODEL_PCM_RATE)
            self._down = Resampler(MODEL_PCM_RATE, sample_rate)
        self.bytes_per_ms = sample_rate * 2 // 1000  # of the PCM16 the session and playout use

    def to_model(self, pcm: bytes) -> str:
        return self.for_append(self.model_audio(pcm))

    def model_audio(self, pcm: bytes) -> bytes:
        """The call's PCM16 as the model's input format (bytes: consecutive frames may be joined into one append)."""
        return self._encode(pcm) if self.passthrough else self._up.process(pcm)

    @staticmethod
    def for_append(audio: bytes) -> str:
        return base64.b64encode(audio).decode("ascii")

    def from_model(self, delta: str) -> bytes:
        """Raises ValueError for bad base64 (the caller counts it as a malformed event)."""
        payload = base64.b64decode(delta, validate=True)
        if self.passthrough:
            return self._decode(payload)
        if len(payload) % 2:
            raise ValueError("odd-length PCM16 audio")
        return self._down.process(payload)


def heard_ms(heard_pcm_bytes: int, bytes_per_ms: int, received_ms: int | None = None) -> int:
    """`audio_end_ms` for `conversation.item.truncate`: the playout's confirmed-heard PCM16 bytes at the call's rate
    as milliseconds of the model's audio (the same timeline: passthrough or resampled, a millisecond is a
    millisecond), never more than the model sent (the API rejects a truncate past the item's audio)."""
    ms = max(0, heard_pcm_bytes) // max(1, bytes_per_ms)
    return ms if received_ms is None else min(ms, received_ms)

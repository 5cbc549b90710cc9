"""Twilio Media Streams wire format <-> carrier events.

Twilio sends numbers as JSON strings, speaks only μ-law 8 kHz, and accepts text frames only (binary is error
31950). A `mark` comes back once the audio queued before it has played — or at once when we `clear`.
"""

from __future__ import annotations

import base64
import json

from ...pipeline.audio import get_codec
from ..base import (
    AudioIn,
    BadMessage,
    CallStart,
    CarrierEvent,
    Connected,
    DtmfIn,
    MarkPlayed,
    MediaSerializer,
    StreamStopped,
    decode_payload,
    dtmf_digit,
    section_field,
    start_body,
)


class TwilioSerializer(MediaSerializer):
    carrier = "twilio"

    def __init__(self) -> None:
        super().__init__()
        self.codec = get_codec("PCMU", 8000)
        self.stream_sid = ""
        # Outbound messages share everything but the payload: build the prefix once.
        self._media_prefix = ""

    # ------------------------------------------------------------------ inbound, one method per event

    def on_media(self, msg: dict, media: dict) -> list[CarrierEvent]:
        if media.get("track", "inbound") != "inbound":
            return []
        payload = decode_payload(media)
        if not payload:
            return []
        return [AudioIn(self.codec.decode(payload))]

    def on_start(self, msg: dict) -> list[CarrierEvent]:
        start = start_body(msg)
        fmt = start.get("mediaFormat") or {}
        if not isinstance(fmt, dict):
            raise BadMessage("unsupported_media_format", f"mediaFormat {str(fmt)[:40]}")
        encoding = str(fmt.get("encoding", "audio/x-mulaw"))
        if encoding != "audio/x-mulaw" or _int(fmt.get("sampleRate", 8000)) != 8000:
            raise BadMessage("unsupported_media_format", f"{encoding[:40]} at {str(fmt.get('sampleRate'))[:20]}")
        if self.started is not None:
            # A second start must not re-point the stream: audio sent with another streamSid is dropped by Twilio.
            raise BadMessage("duplicate_start")
        self.stream_sid = str(start.get("streamSid") or msg.get("streamSid") or "")
        params = start.get("customParameters") or {}
        if not isinstance(params, dict):
            params = {}
        self.started = CallStart(
            carrier=self.carrier,
            call_id=str(start.get("callSid", "")),
            stream_id=self.stream_sid,
            sample_rate=8000,
            codec="PCMU",
            params={str(k): str(v) for k, v in params.items()},
        )
        self._media_prefix = '{"event":"media","streamSid":%s,"media":{"payload":"' % json.dumps(self.stream_sid)
        return [self.started]

    def on_mark(self, msg: dict) -> list[CarrierEvent]:
        return [MarkPlayed(str(section_field(msg, "mark", "name")))]

    def on_dtmf(self, msg: dict) -> list[CarrierEvent]:
        return [DtmfIn(dtmf_digit(msg))]

    def on_stop(self, msg: dict) -> list[CarrierEvent]:
        return [StreamStopped("stop")]

    def on_connected(self, msg: dict) -> list[CarrierEvent]:
        return [Connected()]

    # ------------------------------------------------------------------ outbound

    def encode_audio(self, pcm: bytes) -> str:
        return self._media_prefix + base64.b64encode(self.codec.encode(pcm)).decode() + '"}}'

    def encode_mark(self, name: str) -> str:
        return json.dumps({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": name}})

    def encode_clear(self) -> str:
        return json.dumps({"event": "clear", "streamSid": self.stream_sid})


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: 1e400 / Infinity
        return None

"""Twilio Media Streams wire format <-> carrier events.

Twilio sends numbers as JSON strings, speaks only μ-law 8 kHz, and accepts text frames only (binary is error
31950). A `mark` comes back once the audio queued before it has played — or at once when we `clear`.
"""

from __future__ import annotations

import base64
import binascii
import json

from ..pipeline.audio import get_codec
from .base import (
    AudioIn,
    BadMessage,
    CallStart,
    CarrierEvent,
    Connected,
    DtmfIn,
    MarkPlayed,
    MediaSerializer,
    StreamStopped,
    load_message,
)

_NOTHING: list[CarrierEvent] = []


class TwilioSerializer(MediaSerializer):
    carrier = "twilio"

    def __init__(self) -> None:
        super().__init__()
        self.codec = get_codec("PCMU", 8000)
        self.stream_sid = ""
        # Outbound messages share everything but the payload: build the prefix once.
        self._media_prefix = ""

    def parse(self, text: str) -> list[CarrierEvent]:
        msg = load_message(text)
        event = msg.get("event")
        if event == "media":
            return self._media(msg)
        if event == "start":
            return [self._start(msg)]
        if event == "mark":
            name = _field(msg, "mark", "name")
            return [MarkPlayed(str(name))]
        if event == "dtmf":
            digit = str(_field(msg, "dtmf", "digit"))
            if len(digit) != 1 or digit not in "0123456789*#ABCD":
                raise BadMessage("bad_dtmf", digit[:8])
            return [DtmfIn(digit)]
        if event == "stop":
            return [StreamStopped("stop")]
        if event == "connected":
            return [Connected()]
        raise BadMessage("unknown_event", str(event)[:40])

    def _media(self, msg: dict) -> list[CarrierEvent]:
        if self.started is None:
            raise BadMessage("media_before_start")
        media = msg.get("media")
        if not isinstance(media, dict):
            raise BadMessage("bad_media")
        if media.get("track", "inbound") != "inbound":
            return _NOTHING
        try:
            payload = base64.b64decode(media["payload"], validate=True)
        except (KeyError, TypeError, binascii.Error, ValueError) as exc:
            raise BadMessage("invalid_base64") from exc
        if not payload:
            return _NOTHING
        return [AudioIn(self.codec.decode(payload))]

    def _start(self, msg: dict) -> CallStart:
        start = msg.get("start")
        if not isinstance(start, dict):
            raise BadMessage("bad_start")
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
        return self.started

    def encode_audio(self, pcm: bytes) -> str:
        return self._media_prefix + base64.b64encode(self.codec.encode(pcm)).decode() + '"}}'

    def encode_mark(self, name: str) -> str:
        return json.dumps({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": name}})

    def encode_clear(self) -> str:
        return json.dumps({"event": "clear", "streamSid": self.stream_sid})


def _field(msg: dict, section: str, key: str):
    body = msg.get(section)
    if not isinstance(body, dict) or key not in body:
        raise BadMessage(f"bad_{section}")
    return body[key]


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: 1e400 / Infinity
        return None

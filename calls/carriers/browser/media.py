"""The "browser" carrier: a dashboard user talks to an agent from the page, over the same media pipeline.

Wire format (JSON text frames, shaped like Twilio's so the consumer and session treat it as any carrier):

    browser → server
      {"event": "start", "start": {"token": "<stream token>", "sample_rate": 16000}}
      {"event": "media", "media": {"payload": "<base64 PCM16LE mono 16 kHz>"}}      20 ms per message
      {"event": "mark",  "mark": {"name": "<name>"}}     echoed once the audio sent before it has played
      {"event": "stop"}
    server → browser
      {"event": "media", "media": {"payload": "<base64 PCM16LE mono 16 kHz>"}}
      {"event": "mark",  "mark": {"name": "<name>"}}
      {"event": "clear"}                                 stop playing now; echo the pending marks
      {"event": "transcript", "kind": "turn" | "partial" | "event" | "call", "data": {...}}

Unlike a phone carrier, the browser is also the page showing the conversation, so transcript updates ride on the
same socket (`transcript.with_transcript`): the page needs no second socket, no channel layer, and sees each turn
in order with the audio. The start token comes from a login-protected, CSRF-checked POST (dashboard.views.talk),
so only a member of the agent's workspace can open a stream; the socket itself carries no cookie check.
"""

from __future__ import annotations

import base64
import json
import secrets

from ..base import (
    AudioIn,
    BadMessage,
    CallStart,
    CarrierEvent,
    MarkPlayed,
    MediaSerializer,
    StreamStopped,
    decode_payload,
    start_body,
)

SAMPLE_RATE = 16000
_MEDIA_PREFIX = '{"event":"media","media":{"payload":"'
_MEDIA_SUFFIX = '"}}'
_CLEAR = '{"event":"clear"}'


class BrowserSerializer(MediaSerializer):
    carrier = "browser"

    # ------------------------------------------------------------------ inbound, one method per event

    def on_media(self, msg: dict, media: dict) -> list[CarrierEvent]:
        pcm = decode_payload(media)
        if len(pcm) % 2:
            raise BadMessage("odd_pcm_length")  # not PCM16: a half sample would shift every later one
        return [AudioIn(pcm)] if pcm else []

    def on_mark(self, msg: dict) -> list[CarrierEvent]:
        body = msg.get("mark")
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            raise BadMessage("bad_mark")
        return [MarkPlayed(body["name"])]

    def on_start(self, msg: dict) -> list[CarrierEvent]:
        start = start_body(msg)
        rate = start.get("sample_rate", SAMPLE_RATE)
        if rate != SAMPLE_RATE:
            raise BadMessage("unsupported_media_format", f"sample_rate {str(rate)[:12]}")
        token = start.get("token")
        self.started = CallStart(
            carrier=self.carrier,
            call_id="",  # the token names the call; the browser has no call id of its own
            stream_id=f"BS{secrets.token_hex(8)}",
            sample_rate=SAMPLE_RATE,
            codec="PCM16LE",
            params={"token": token if isinstance(token, str) else ""},
        )
        return [self.started]

    def on_stop(self, msg: dict) -> list[CarrierEvent]:
        return [StreamStopped("stop")]

    # ------------------------------------------------------------------ outbound

    def encode_audio(self, pcm: bytes) -> str:
        return _MEDIA_PREFIX + base64.b64encode(pcm).decode() + _MEDIA_SUFFIX

    def encode_mark(self, name: str) -> str:
        return json.dumps({"event": "mark", "mark": {"name": name}})

    def encode_clear(self) -> str:
        return _CLEAR

    def encode_transcript(self, kind: str, data: dict) -> str:
        return json.dumps({"event": "transcript", "kind": kind, "data": data}, default=str)

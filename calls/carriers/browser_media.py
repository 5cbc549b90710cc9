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
same socket (`with_transcript`): the page needs no second socket, no channel layer, and sees each turn in order
with the audio. The start token comes from a login-protected, CSRF-checked POST (dashboard.views.talk), so only a
member of the agent's workspace can open a stream; the socket itself carries no cookie check.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from .base import (
    AudioIn,
    BadMessage,
    CallStart,
    CarrierEvent,
    MarkPlayed,
    MediaSerializer,
    StreamStopped,
    load_message,
)

log = logging.getLogger("calls.carriers.browser")

SAMPLE_RATE = 16000
_NOTHING: list[CarrierEvent] = []
_MEDIA_PREFIX = '{"event":"media","media":{"payload":"'
_MEDIA_SUFFIX = '"}}'
_CLEAR = '{"event":"clear"}'


class BrowserSerializer(MediaSerializer):
    carrier = "browser"

    def parse(self, text: str) -> list[CarrierEvent]:
        msg = load_message(text)
        event = msg.get("event")
        if event == "media":
            return self._media(msg)
        if event == "mark":
            body = msg.get("mark")
            if not isinstance(body, dict) or not isinstance(body.get("name"), str):
                raise BadMessage("bad_mark")
            return [MarkPlayed(body["name"])]
        if event == "start":
            return [self._start(msg)]
        if event == "stop":
            return [StreamStopped("stop")]
        raise BadMessage("unknown_event", str(event)[:40])

    def _media(self, msg: dict) -> list[CarrierEvent]:
        if self.started is None:
            raise BadMessage("media_before_start")
        media = msg.get("media")
        if not isinstance(media, dict):
            raise BadMessage("bad_media")
        try:
            pcm = base64.b64decode(media["payload"], validate=True)
        except (KeyError, TypeError, binascii.Error, ValueError) as exc:
            raise BadMessage("invalid_base64") from exc
        if len(pcm) % 2:
            raise BadMessage("odd_pcm_length")  # not PCM16: a half sample would shift every later one
        return [AudioIn(pcm)] if pcm else _NOTHING

    def _start(self, msg: dict) -> CallStart:
        start = msg.get("start")
        if not isinstance(start, dict):
            raise BadMessage("bad_start")
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
        return self.started

    def encode_audio(self, pcm: bytes) -> str:
        return _MEDIA_PREFIX + base64.b64encode(pcm).decode() + _MEDIA_SUFFIX

    def encode_mark(self, name: str) -> str:
        return json.dumps({"event": "mark", "mark": {"name": name}})

    def encode_clear(self) -> str:
        return _CLEAR

    def encode_transcript(self, kind: str, data: dict) -> str:
        return json.dumps({"event": "transcript", "kind": kind, "data": data}, default=str)


def check_upgrade(scope: dict) -> str | None:
    """Refuse sockets opened by another site's page (the token is the real gate; this is defence in depth)."""
    headers = dict(scope.get("headers") or [])
    origin = headers.get(b"origin", b"").decode("latin-1")
    if not origin:
        return None  # not a browser: the token decides
    host = headers.get(b"host", b"").decode("latin-1")
    if urlsplit(origin).netloc.lower() != host.lower():
        return f"cross-origin browser stream from {origin[:80]}"
    return None


def no_control():
    """A browser call has no carrier REST API: hanging up closes the socket, transfers are recorded only."""
    return None


def with_transcript(
    publish: Callable[[str, dict], None] | None,
    serializer: BrowserSerializer,
    send: Callable[[str], Awaitable[None]],
) -> Callable[[str, dict], None]:
    """The call recorder's `on_written` for a browser call: the live monitor as usual, and the caller's page."""
    pending: set[asyncio.Task] = set()

    def written(kind: str, data: dict) -> None:
        task = asyncio.get_running_loop().create_task(_send(send, serializer.encode_transcript(kind, data)))
        pending.add(task)
        task.add_done_callback(pending.discard)
        if publish is not None:
            publish(kind, data)

    return written


async def _send(send: Callable[[str], Awaitable[None]], text: str) -> None:
    try:
        await send(text)
    except Exception as exc:  # the page may be gone; the call record is written regardless
        log.info("transcript update not delivered: %r", exc)

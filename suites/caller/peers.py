"""The carrier side of the simulator: webhook signing, TwiML following and media-socket messages per carrier."""

from __future__ import annotations

import base64
import json
import random
import secrets
import time
import uuid
import xml.etree.ElementTree as ET
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from urllib.parse import urlencode

import httpx
from django.conf import settings
from twilio.request_validator import RequestValidator

from calls.carriers.telnyx.signature import sign
from calls.carriers.telnyx.stream_format import SUPPORTED
from calls.pipeline.audio import get_codec
from voicebot.env import local_ed25519_keypair


class SimulationError(Exception):
    pass


@dataclass
class StreamTarget:
    url: str
    params: dict
    headers: dict = field(default_factory=dict)


class CarrierPeer(ABC):
    codec = "PCMU"
    sample_rate = 8000

    def __init__(self, base_url: str, to_number: str, from_number: str = "+15550199999") -> None:
        self.base_url = base_url.rstrip("/")
        self.to_number = to_number
        self.from_number = from_number
        self.call_id = ""
        self.twiml = ""
        self._seq = 0

    @abstractmethod
    async def answer(self) -> StreamTarget:
        """Place the call: POST the signed webhook, follow the answer to the media stream."""

    def _next_seq(self) -> str:
        self._seq += 1
        return str(self._seq)  # both carriers send numbers as strings

    async def _webhook_stream(self, path: str, language: str, **post) -> ET.Element:
        """POST the voice webhook as the carrier does; the `<Connect><Stream>` of its answer (TwiML or TeXML)."""
        async with httpx.AsyncClient(timeout=10) as client:
            resp = await client.post(self.base_url + path, **post)
        if resp.status_code != 200:
            raise SimulationError(f"{language} webhook answered {resp.status_code}: {resp.text[:200]}")
        self.twiml = resp.text
        stream = ET.fromstring(resp.text).find("./Connect/Stream")
        if stream is None:
            raise SimulationError(f"no <Connect><Stream> in {language}: {resp.text[:300]}")
        return stream

    def _target(self, stream: ET.Element, headers: dict | None = None) -> StreamTarget:
        """The stream to open: its path on our local server (even when the public URL is a tunnel), its parameters."""
        url = stream.get("url", "")
        params = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
        local = self.base_url.replace("http://", "ws://").replace("https://", "wss://")
        path = url.split("/", 3)[3] if url.count("/") >= 3 else ""
        return StreamTarget(url=f"{local}/{path}", params=params, headers=headers or {})

    @abstractmethod
    def opening_messages(self, stream: StreamTarget) -> list[str]: ...

    @abstractmethod
    def media_message(self, payload: bytes) -> str: ...

    @abstractmethod
    def mark_message(self, name: str) -> str: ...

    @abstractmethod
    def dtmf_message(self, digit: str) -> str: ...

    @abstractmethod
    def stop_message(self) -> str: ...

    def parse(self, raw: str) -> tuple[str, object]:
        """('media', payload bytes) | ('mark', name) | ('clear', None) | ('other', None).

        Both carriers send the agent's audio, marks and clears in the same shape (`event`, `media.payload`,
        `mark.name`); they differ in what the caller's side sends."""
        msg = json.loads(raw)
        event = msg.get("event")
        if event == "media":
            return "media", base64.b64decode(msg["media"]["payload"])
        if event == "mark":
            return "mark", msg["mark"]["name"]
        if event == "clear":
            return "clear", None
        return "other", None


class TwilioPeer(CarrierPeer):
    """Behaves as Twilio Media Streams does (JSON shapes as recorded from Twilio, numbers as strings)."""

    def __init__(self, *args, auth_token: str | None = None, public_base_url: str | None = None, **kw) -> None:
        super().__init__(*args, **kw)
        self.auth_token = auth_token or settings.TWILIO_AUTH_TOKEN
        # Twilio signs the URL it was configured with, which is the public one.
        self.public_base_url = (public_base_url or settings.PUBLIC_BASE_URL).rstrip("/")
        self.call_id = "CA" + secrets.token_hex(16)
        self.stream_sid = "MZ" + secrets.token_hex(16)
        self.account_sid = "AC" + "0" * 32
        self._chunk = 0

    async def answer(self) -> StreamTarget:
        params = {
            "CallSid": self.call_id, "AccountSid": self.account_sid, "From": self.from_number,
            "To": self.to_number, "CallStatus": "ringing", "Direction": "inbound", "ApiVersion": "2010-04-01",
        }
        signature = RequestValidator(self.auth_token).compute_signature(self.public_base_url + "/twilio/voice", params)
        stream = await self._webhook_stream("/twilio/voice", "TwiML", data=params,
                                            headers={"X-Twilio-Signature": signature})
        # Twilio signs the WebSocket upgrade too, over the stream URL as given.
        ws_sig = RequestValidator(self.auth_token).compute_signature(stream.get("url", ""), {})
        return self._target(stream, headers={"X-Twilio-Signature": ws_sig})

    def opening_messages(self, stream: StreamTarget) -> list[str]:
        connected = {"event": "connected", "protocol": "Call", "version": "1.0.0"}
        start = {
            "event": "start", "sequenceNumber": self._next_seq(), "streamSid": self.stream_sid,
            "start": {
                "accountSid": self.account_sid, "streamSid": self.stream_sid, "callSid": self.call_id,
                "tracks": ["inbound"], "customParameters": stream.params,
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            },
        }
        return [json.dumps(connected), json.dumps(start)]

    def media_message(self, payload: bytes) -> str:
        self._chunk += 1
        return json.dumps({
            "event": "media", "sequenceNumber": self._next_seq(), "streamSid": self.stream_sid,
            "media": {"track": "inbound", "chunk": str(self._chunk), "timestamp": str(self._chunk * 20),
                      "payload": base64.b64encode(payload).decode()},
        })

    def mark_message(self, name: str) -> str:
        return json.dumps({"event": "mark", "sequenceNumber": self._next_seq(), "streamSid": self.stream_sid,
                           "mark": {"name": name}})

    def dtmf_message(self, digit: str) -> str:
        return json.dumps({"event": "dtmf", "sequenceNumber": self._next_seq(), "streamSid": self.stream_sid,
                           "dtmf": {"track": "inbound_track", "digit": digit}})

    def stop_message(self) -> str:
        return json.dumps({"event": "stop", "sequenceNumber": self._next_seq(), "streamSid": self.stream_sid,
                           "stop": {"accountSid": self.account_sid, "callSid": self.call_id}})


class TelnyxPeer(CarrierPeer):
    """Behaves as Telnyx does: an Ed25519-signed TeXML webhook, then snake_case media JSON.

    `codec`/`rate` choose what this carrier actually sends (and so what the `start` announces), whatever the TeXML
    asked for: PCMA where PCMU was requested, or L16 at 16 kHz, is exactly the case the serializer must follow.
    `shuffle=N` delivers media frames out of order within a window of N, as Telnyx may; marks, DTMF and stop
    share the one `sequence_number` counter, as on the real socket. Marks are echoed once the audio before them
    has played, and `clear` drops the playback buffer (SimulatedCaller does both for every peer).
    """

    def __init__(self, *args, codec: str = "PCMU", rate: int | None = None, shuffle: int = 0,
                 private_key: str | None = None, seed: int = 7, **kw) -> None:
        super().__init__(*args, **kw)
        self.codec = codec.upper()
        self.sample_rate = rate or (16000 if self.codec == "L16" else 8000)
        if self.sample_rate not in SUPPORTED.get(self.codec, ()):
            raise SimulationError(f"telnyx peer cannot send {self.codec} at {self.sample_rate} Hz")
        if private_key is None:
            private_key = local_ed25519_keypair(settings.VAR_DIR)[0]
        # Unlike Twilio's, the signature covers no URL: only the timestamp and the body.
        self.private_key = private_key
        # TeXML CallSids look like call control ids ("v3:..."); the stream reports the same id here.
        self.call_id = "v3:" + secrets.token_urlsafe(24)
        self.stream_id = str(uuid.uuid4())
        self.shuffle = max(0, shuffle)
        self._rng = random.Random(seed)
        self._silence = get_codec(self.codec, self.sample_rate).silence(20)
        self._captured: list[str] = []  # media messages made, not yet in a shuffled block
        self._block: list[str] = []  # the current block, in its shuffled sending order
        self._chunk = 0

    async def answer(self) -> StreamTarget:
        params = {
            "AccountSid": str(uuid.uuid4()), "CallSid": self.call_id, "CallSidLegacy": self.call_id,
            "CallStatus": "ringing", "ConnectionId": "1" * 19, "Direction": "inbound", "From": self.from_number,
            "To": self.to_number, "CallbackSource": "call-progress-events", "SequenceNumber": "0",
            "Timestamp": str(int(time.time())),
        }
        # Telnyx signs the exact bytes it posts: build them once, sign them, send them unchanged.
        body = urlencode(params).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body, self.private_key)}
        stream = await self._webhook_stream("/telnyx/texml", "TeXML", content=body, headers=headers)
        if stream.get("bidirectionalMode") != "rtp":
            raise SimulationError("TeXML stream is not bidirectional rtp: Telnyx would send mp3 back, not frames")
        return self._target(stream)

    def opening_messages(self, stream: StreamTarget) -> list[str]:
        connected = {"event": "connected", "version": "1.0.0"}
        start = {
            "event": "start", "sequence_number": self._next_seq(), "stream_id": self.stream_id,
            "start": {
                "user_id": str(uuid.uuid4()), "call_control_id": self.call_id, "call_session_id": str(uuid.uuid4()),
                "from": self.from_number, "to": self.to_number, "tags": [], "client_state": None,
                "custom_parameters": stream.params,
                "media_format": {"encoding": self.codec, "sample_rate": self.sample_rate, "channels": 1},
            },
        }
        if self.shuffle > 1:
            # shuffle-1 frames of line silence already "in flight" when the clock starts: with them, a whole
            # block of `shuffle` frames is at hand on each block's first tick, yet one message leaves per tick.
            self._captured = [self._media(self._silence) for _ in range(self.shuffle - 1)]
        return [json.dumps(connected), json.dumps(start)]

    def _media(self, payload: bytes) -> str:
        self._chunk += 1
        return json.dumps({
            "event": "media", "sequence_number": self._next_seq(), "stream_id": self.stream_id,
            "media": {"track": "inbound", "chunk": str(self._chunk), "timestamp": str(self._chunk * 20),
                      "payload": base64.b64encode(payload).decode()},
        })

    def media_message(self, payload: bytes) -> str:
        message = self._media(payload)
        if self.shuffle <= 1:
            return message
        # One message out per frame in (the caller's clock), sent in a random order within consecutive blocks of
        # `shuffle` frames: no frame arrives more than shuffle-1 places from its own (the reorder window covers
        # that), at a constant cost of shuffle-1 frames of delay.
        self._captured.append(message)
        if not self._block:
            self._block, self._captured = self._captured[: self.shuffle], self._captured[self.shuffle :]
            self._rng.shuffle(self._block)
        return self._block.pop(0)

    def mark_message(self, name: str) -> str:
        return json.dumps({"event": "mark", "sequence_number": self._next_seq(), "stream_id": self.stream_id,
                           "mark": {"name": name}})

    def dtmf_message(self, digit: str) -> str:
        return json.dumps({"event": "dtmf", "sequence_number": self._next_seq(), "stream_id": self.stream_id,
                           "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                           "dtmf": {"digit": digit}})

    def stop_message(self) -> str:
        return json.dumps({"event": "stop", "sequence_number": self._next_seq(), "stream_id": self.stream_id,
                           "stop": {"user_id": str(uuid.uuid4()), "call_control_id": self.call_id}})


PEERS = {"twilio": TwilioPeer, "telnyx": TelnyxPeer}

"""The carrier side of the simulator: webhook signing, TwiML following and media-socket messages per carrier."""

from __future__ import annotations

import base64
import json
import secrets
import xml.etree.ElementTree as ET
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import httpx
from django.conf import settings
from twilio.request_validator import RequestValidator


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

    @abstractmethod
    async def answer(self) -> StreamTarget:
        """Place the call: POST the signed webhook, follow the answer to the media stream."""

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

    @abstractmethod
    def parse(self, raw: str) -> tuple[str, object]:
        """('media', payload bytes) | ('mark', name) | ('clear', None) | ('other', None)."""


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
        self._seq = 0
        self._chunk = 0

    async def answer(self) -> StreamTarget:
        params = {
            "CallSid": self.call_id, "AccountSid": self.account_sid, "From": self.from_number,
            "To": self.to_number, "CallStatus": "ringing", "Direction": "inbound", "ApiVersion": "2010-04-01",
        }
        signature = RequestValidator(self.auth_token).compute_signature(self.public_base_url + "/twilio/voice", params)
        async with httpx.AsyncClient(timeout=10) as client:
            resp = await client.post(self.base_url + "/twilio/voice", data=params,
                                     headers={"X-Twilio-Signature": signature})
        if resp.status_code != 200:
            raise SimulationError(f"voice webhook answered {resp.status_code}: {resp.text[:200]}")
        self.twiml = resp.text
        root = ET.fromstring(resp.text)
        stream = root.find("./Connect/Stream")
        if stream is None:
            raise SimulationError(f"no <Connect><Stream> in TwiML: {resp.text[:300]}")
        url = stream.get("url", "")
        params = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
        # Connect to our local server even when the public URL is a tunnel.
        local = self.base_url.replace("http://", "ws://").replace("https://", "wss://")
        path = url.split("/", 3)[3] if url.count("/") >= 3 else ""
        ws_sig = RequestValidator(self.auth_token).compute_signature(url, {})
        return StreamTarget(url=f"{local}/{path}", params=params, headers={"X-Twilio-Signature": ws_sig})

    def _next_seq(self) -> str:
        self._seq += 1
        return str(self._seq)

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

    def parse(self, raw: str) -> tuple[str, object]:
        msg = json.loads(raw)
        event = msg.get("event")
        if event == "media":
            return "media", base64.b64decode(msg["media"]["payload"])
        if event == "mark":
            return "mark", msg["mark"]["name"]
        if event == "clear":
            return "clear", None
        return "other", None


PEERS = {"twilio": TwilioPeer}

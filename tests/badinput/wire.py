"""Valid carrier messages for driving the media consumer: a start carrying the call's token, paced-free media
frames, marks and digits, numbered the way each carrier numbers them."""

from __future__ import annotations

import base64
import json

from calls.pipeline.audio import get_codec


class Wire:
    def __init__(self, carrier: str, token: str) -> None:
        self.carrier = carrier
        self.token = token
        self.codec = get_codec("PCMU", 8000)
        self.seq = 0

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def start(self) -> str:
        if self.carrier == "twilio":
            return json.dumps({"event": "start", "sequenceNumber": str(self._next()), "streamSid": "MZ1", "start": {
                "streamSid": "MZ1", "callSid": "", "accountSid": "AC1", "tracks": ["inbound"],
                "customParameters": {"token": self.token},
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}})
        return json.dumps({"event": "start", "sequence_number": str(self._next()), "stream_id": "S1", "start": {
            "call_control_id": "", "custom_parameters": {"token": self.token},
            "media_format": {"encoding": "PCMU", "sample_rate": 8000, "channels": 1}}})

    def media(self, pcm: bytes) -> list[str]:
        out = []
        for off in range(0, len(pcm), 320):
            payload = base64.b64encode(self.codec.encode(pcm[off : off + 320])).decode()
            if self.carrier == "twilio":
                out.append(json.dumps({"event": "media", "streamSid": "MZ1", "sequenceNumber": str(self._next()),
                                       "media": {"track": "inbound", "payload": payload}}))
            else:
                out.append(json.dumps({"event": "media", "sequence_number": str(self._next()), "stream_id": "S1",
                                       "media": {"track": "inbound", "payload": payload}}))
        return out

    def mark(self, name: str) -> str:
        key = "sequenceNumber" if self.carrier == "twilio" else "sequence_number"
        return json.dumps({"event": "mark", key: str(self._next()), "mark": {"name": name}})

    def dtmf(self, digit: str) -> str:
        key = "sequenceNumber" if self.carrier == "twilio" else "sequence_number"
        return json.dumps({"event": "dtmf", key: str(self._next()), "dtmf": {"track": "inbound_track", "digit": digit}})

    def stop(self) -> str:
        key = "sequenceNumber" if self.carrier == "twilio" else "sequence_number"
        return json.dumps({"event": "stop", key: str(self._next()), "stop": {}})

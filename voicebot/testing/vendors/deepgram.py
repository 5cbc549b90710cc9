"""A fake Deepgram live-transcription server (`wss://api.deepgram.com/v1/listen`) on 127.0.0.1.

It speaks the v1 live protocol the real SDK expects:

- the upgrade carries the options as query parameters (`encoding=linear16&sample_rate=…&interim_results=true…`)
  and `Authorization: Token <key>` — a wrong key gets HTTP 401 at the handshake, as Deepgram does;
- binary frames are audio; text frames are control messages `{"type": "KeepAlive" | "Finalize" | "CloseStream"}`;
- it answers with `Results` (`is_final`, `speech_final`, `from_finalize`, `start`, `duration`,
  `channel.alternatives[0].transcript`), `SpeechStarted` (vad_events), `UtteranceEnd` (utterance_end_ms) and, on
  CloseStream, a `Metadata` summary before closing;
- with no audio and no text message for `idle_timeout_s` it closes with 1011, like the real ~10 s timeout.

It cannot recognise speech, so the words are scripted: each utterance (a run of loud frames, found by a simple
energy detector on linear16 audio) takes the next string of `transcripts`. Interim results reveal the words as voiced
audio accumulates; silence of `endpointing` ms gives an `is_final` + `speech_final` result; `Finalize` gives an
`is_final` + `from_finalize` result after `finalize_delay_s`.

    fake = FakeDeepgram(transcripts=["book a table"], finalize_delay_s=0.1)
    await fake.start()            # fake.url == "http://127.0.0.1:<port>"; set DEEPGRAM_BASE_URL to it
    fake.faults.append(DeepgramFault(drop_after_bytes=16000))   # the next connection drops mid-stream
    ...
    await fake.stop()

Faults apply to the next connection, in order: `reject_status` (handshake refused with that HTTP status),
`drop_after_bytes` (TCP abort after that much audio), `malformed_first` (a non-JSON text frame first), `mute`
(accept audio, never answer). For the socket already open: `drop_current_after = nbytes` or `drop_all()`.
`connections` records what each socket received.

A `language` Deepgram does not list (it has "es" and "es-419", not "es-ES") is refused at the handshake with
HTTP 400, as the real service refuses it, so a client that sends the agent's tag unmapped fails here too.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import deque
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from ..pcm import peak
from .aio_server import FakeServer

API_KEY = "test-deepgram-key"
# Deepgram's streaming languages (nova-2/nova-3 list, abridged to the ones a test may name).
LANGUAGES = frozenset(
    "multi bg ca zh zh-CN zh-TW cs da da-DK nl nl-BE en en-US en-AU en-GB en-NZ en-IN et fi fr fr-CA de de-CH el "
    "hi hu id it ja ko ko-KR lv lt ms no pl pt pt-BR pt-PT ro ru sk es es-419 sv sv-SE th tr uk vi".split()
)
_MODEL_INFO = {"name": "general-nova-3", "version": "2024-12-20.0", "arch": "nova-3"}


@dataclass
class DeepgramFault:
    reject_status: int | None = None
    drop_after_bytes: int | None = None
    malformed_first: bool = False
    mute: bool = False


@dataclass
class DeepgramConnection:
    """What one socket received and how it ended."""

    query: dict
    headers: dict
    #: Every query parameter in order, repeated ones too (keyterm=...&keyterm=...).
    params: list[tuple[str, str]] = field(default_factory=list)
    audio: bytearray = field(default_factory=bytearray)
    controls: list[str] = field(default_factory=list)
    sent: list[dict] = field(default_factory=list)
    closed_by: str = ""  # "client" | "close-stream" | "idle-timeout" | "fault"


class FakeDeepgram(FakeServer):
    def __init__(
        self,
        *,
        transcripts: list[str] | None = None,
        api_key: str = API_KEY,
        finalize_delay_s: float = 0.1,
        idle_timeout_s: float = 10.0,
        ms_per_word: int = 200,
        voice_threshold: int = 1000,
    ) -> None:
        self.transcripts = deque(transcripts or [])
        self.api_key = api_key
        self.finalize_delay_s = finalize_delay_s
        self.idle_timeout_s = idle_timeout_s
        self.ms_per_word = ms_per_word
        self.voice_threshold = voice_threshold
        self.faults: deque[DeepgramFault] = deque()
        #: Abort the socket that is open now once it has received this many bytes (then reset to None).
        self.drop_current_after: int | None = None
        self.connections: list[DeepgramConnection] = []
        self._open: dict[int, web.Request] = {}
        self.utterances = 0
        super().__init__()

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/v1/listen", self._listen)

    def next_transcript(self) -> str:
        self.utterances += 1
        return self.transcripts.popleft() if self.transcripts else f"utterance {self.utterances}"

    async def _listen(self, request: web.Request) -> web.StreamResponse:
        language = request.query.get("language", "en")
        if language not in LANGUAGES:
            return web.json_response({"err_code": "Bad Request",
                                      "err_msg": "No such model/language/tier combination found."}, status=400)
        fault = self.faults.popleft() if self.faults else DeepgramFault()
        if request.headers.get("Authorization") != f"Token {self.api_key}":
            return web.json_response({"err_code": "INVALID_AUTH", "err_msg": "Invalid credentials."}, status=401)
        if fault.reject_status:
            return web.json_response({"err_code": "INTERNAL", "err_msg": "fault"}, status=fault.reject_status)
        conn = DeepgramConnection(query=dict(request.query), headers=dict(request.headers),
                                  params=list(request.query.items()))
        self.connections.append(conn)
        ws = await self.accept(request)
        self._open[id(request)] = request
        try:
            await _Session(self, request, ws, conn, fault).run()
        finally:
            self._open.pop(id(request), None)
            self.forget(ws)
        return ws

    def drop_all(self) -> None:
        """Abort every open socket now (a network outage)."""
        for request in list(self._open.values()):
            FakeServer.abort(request)


class _Session:
    """One live socket: an energy detector standing in for the recogniser, plus the control messages."""

    def __init__(self, fake: FakeDeepgram, request: web.Request, ws: web.WebSocketResponse,
                 conn: DeepgramConnection, fault: DeepgramFault) -> None:
        self.fake, self.request, self.ws, self.conn, self.fault = fake, request, ws, conn, fault
        q = conn.query
        self.rate = int(q.get("sample_rate", 16000))
        self.frame_bytes = self.rate * 2 // 50  # 20 ms
        self.interim = q.get("interim_results") == "true"
        self.vad_events = q.get("vad_events") == "true"
        self.endpointing_ms = int(q.get("endpointing", 10))
        self.utterance_end_ms = int(q["utterance_end_ms"]) if "utterance_end_ms" in q else None
        self.request_id = str(uuid.uuid4())
        self.pending = b""
        self.t = 0.0  # seconds of audio received
        self.final_upto = 0.0  # audio covered by final results
        self.in_speech = False
        self.voiced_ms = 0
        self.silent_ms = 0
        self.words: list[str] = []  # the current utterance's script
        self.last_word_end = 0.0
        self.utterance_end_due = False
        self.opened_at = time.monotonic()

    async def run(self) -> None:
        if self.fault.malformed_first:
            await self.ws.send_str("{this is not json")
        while True:
            try:
                msg = await self.ws.receive(timeout=self.fake.idle_timeout_s)
            except TimeoutError:
                self.conn.closed_by = "idle-timeout"
                await self.ws.close(code=1011, message=b"Deepgram did not receive audio data or a text message "
                                                       b"within the timeout window.")
                return
            if msg.type == WSMsgType.BINARY:
                self.conn.audio += msg.data
                drop = self.fault.drop_after_bytes
                if self.fake.drop_current_after is not None and len(self.conn.audio) >= self.fake.drop_current_after:
                    self.fake.drop_current_after = None
                    drop = 0
                if drop is not None and len(self.conn.audio) >= drop:
                    self.conn.closed_by = "fault"
                    FakeServer.abort(self.request)
                    return
                if not self.fault.mute:
                    await self._on_audio(msg.data)
            elif msg.type == WSMsgType.TEXT:
                kind = json.loads(msg.data).get("type", "")
                self.conn.controls.append(kind)
                if self.fault.mute:
                    continue
                if kind == "Finalize":
                    self.fake.spawn(self._send_later(self._finalize(from_finalize=True), self.fake.finalize_delay_s))
                elif kind == "CloseStream":
                    await self._close_stream()
                    return
            else:  # CLOSE / CLOSED / ERROR
                self.conn.closed_by = self.conn.closed_by or "client"
                return

    # ------------------------------------------------------------------ recognition stand-in

    async def _on_audio(self, data: bytes) -> None:
        self.pending += data
        while len(self.pending) >= self.frame_bytes:
            frame, self.pending = self.pending[: self.frame_bytes], self.pending[self.frame_bytes :]
            self.t += 0.02
            await self._on_frame(peak(frame) >= self.fake.voice_threshold)

    async def _on_frame(self, voiced: bool) -> None:
        if voiced:
            self.silent_ms = 0
            if not self.in_speech:
                if self.t - 0.02 - self.final_upto >= 0.1:
                    # As Deepgram does, the silence before new speech is finalised on its own (an empty is_final
                    # result), so the new utterance's results start where its speech starts.
                    self.t -= 0.02
                    await self._send(self._finalize())
                    self.t += 0.02
                self.in_speech = True
                self.voiced_ms = 0
                if not self.words:
                    self.words = self.fake.next_transcript().split()
                if self.vad_events:
                    await self._send({"type": "SpeechStarted", "channel": [0], "timestamp": round(self.t - 0.02, 3)})
            self.voiced_ms += 20
            self.last_word_end = self.t
            if self.interim and self.voiced_ms % 200 == 0:
                await self._send(self._results(self._heard_words(), is_final=False))
            return
        self.silent_ms += 20
        if self.in_speech and self.silent_ms >= self.endpointing_ms:
            self.in_speech = False
            await self._send(self._finalize(speech_final=True))
            self.utterance_end_due = True
        gap_ms = self.utterance_end_ms
        if self.utterance_end_due and gap_ms and self.interim and self.silent_ms >= gap_ms:
            self.utterance_end_due = False
            await self._send({"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": round(self.last_word_end, 3)})

    def _heard_words(self) -> str:
        count = max(1, self.voiced_ms // self.fake.ms_per_word)
        return " ".join(self.words[:count])

    def _finalize(self, *, speech_final: bool = False, from_finalize: bool = False) -> dict:
        """An is_final result for everything not yet final; the utterance's words are spent."""
        text = " ".join(self.words)
        self.words = []
        self.in_speech = self.in_speech and not from_finalize
        result = self._results(text, is_final=True, speech_final=speech_final, from_finalize=from_finalize)
        self.final_upto = self.t
        return result

    def _results(self, text: str, *, is_final: bool, speech_final: bool = False, from_finalize: bool = False) -> dict:
        start = self.final_upto
        words = [{"word": w.lower().strip(".,?!"), "start": start, "end": self.t, "confidence": 0.99,
                  "punctuated_word": w} for w in text.split()]
        return {
            "type": "Results",
            "channel_index": [0, 1],
            "duration": round(self.t - start, 3),
            "start": round(start, 3),
            "is_final": is_final,
            "speech_final": speech_final,
            "from_finalize": from_finalize,
            "channel": {"alternatives": [{"transcript": text, "confidence": 0.99 if text else 0.0, "words": words}]},
            "metadata": {"request_id": self.request_id, "model_info": _MODEL_INFO, "model_uuid": str(uuid.uuid4())},
        }

    # ------------------------------------------------------------------ sending

    async def _send(self, message: dict) -> None:
        if self.ws.closed:
            return
        self.conn.sent.append(message)
        try:
            await self.ws.send_str(json.dumps(message))
        except ConnectionError:
            pass  # the client went away; the receive loop will see it

    async def _send_later(self, message: dict, delay: float) -> None:
        await asyncio.sleep(delay)
        await self._send(message)

    async def _close_stream(self) -> None:
        if self.words or self.in_speech:
            await self._send(self._finalize())
        await self._send({
            "type": "Metadata", "transaction_key": "deprecated", "request_id": self.request_id,
            "sha256": "0" * 64, "created": "2025-01-01T00:00:00.000Z", "duration": round(self.t, 3), "channels": 1,
        })
        self.conn.closed_by = "close-stream"
        await self.ws.close(code=1000)

"""A fake ElevenLabs text-to-speech server on 127.0.0.1: WebSocket input streaming and HTTP streaming.

WebSocket `/v1/text-to-speech/{voice_id}/stream-input?model_id=…&output_format=pcm_8000&inactivity_timeout=…`:
the key comes in the `xi-api-key` header (401 at the handshake if wrong) or as `xi_api_key` in the first message;
the first message must be `{"text": " "}` (it may carry `voice_settings`); later messages are text chunks that
end with a space, `flush: true` synthesises what is buffered, `{"text": ""}` ends the input. Audio goes back as
`{"audio": <base64 PCM16LE>, "isFinal": null, "normalizedAlignment": …, "alignment": …}`; after the end of input,
`{"isFinal": true}` and a normal close. No message for `inactivity_timeout` s (default 20) → close 1008.

HTTP `POST /v1/text-to-speech/{voice_id}/stream?output_format=pcm_8000` with a JSON body `{"text", "model_id", …}`
streams raw PCM in chunks; a wrong key gets 401 `{"detail": {"status": "invalid_api_key", …}}`.

The "speech" is a tone, `ms_per_char` ms per character of text, sent in `chunk_ms` pieces:

    fake = FakeElevenLabs(first_audio_delay_s=0.15)
    await fake.start()       # ELEVENLABS_BASE_URL = fake.url (the WebSocket is on the same port)
    fake.ws_faults.append(ElevenLabsFault(drop_after_chunks=1))      # next socket dies after one audio chunk
    fake.http_faults.append(ElevenLabsFault(status=500))             # next HTTP request fails
    await fake.client_closed.wait()   # a client closed a socket before its final audio (barge-in)

Faults: `status` (handshake / HTTP error status), `drop_after_chunks` (TCP abort), `malformed_first` (a non-JSON
frame before the audio, WebSocket only), `stall` (never any audio), `error` (an error message then close 1008),
`first_audio_delay_s` (override for one connection/request).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections import deque
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from ..pcm import tone
from .aio_server import FakeServer

API_KEY = "test-elevenlabs-key"


@dataclass
class ElevenLabsFault:
    status: int | None = None
    drop_after_chunks: int | None = None
    malformed_first: bool = False
    stall: bool = False
    error: str | None = None
    first_audio_delay_s: float | None = None


@dataclass
class TtsConnection:
    voice_id: str
    query: dict
    messages: list[dict] = field(default_factory=list)
    audio_chunks: int = 0
    closed_by: str = ""  # "final" | "client" | "inactivity" | "fault" | "error"

    @property
    def text(self) -> str:
        return "".join(m.get("text", "") for m in self.messages[1:])


class FakeElevenLabs(FakeServer):
    def __init__(
        self,
        *,
        api_key: str = API_KEY,
        first_audio_delay_s: float = 0.0,
        chunk_delay_s: float = 0.0,
        ms_per_char: int = 10,
        chunk_ms: int = 100,
    ) -> None:
        self.api_key = api_key
        self.first_audio_delay_s = first_audio_delay_s
        self.chunk_delay_s = chunk_delay_s
        self.ms_per_char = ms_per_char
        self.chunk_ms = chunk_ms
        self.ws_faults: deque[ElevenLabsFault] = deque()
        self.http_faults: deque[ElevenLabsFault] = deque()
        self.connections: list[TtsConnection] = []
        self.http_requests: list[dict] = []
        self.client_closed = asyncio.Event()
        super().__init__()

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/v1/text-to-speech/{voice_id}/stream-input", self._stream_input)
        router.add_post("/v1/text-to-speech/{voice_id}/stream", self._http_stream)

    def audio_for(self, text: str, rate: int) -> list[bytes]:
        pcm = tone(max(self.chunk_ms, len(text.strip()) * self.ms_per_char), rate, freq=330.0)
        size = rate * 2 * self.chunk_ms // 1000
        return [pcm[i : i + size] for i in range(0, len(pcm), size)]

    # ------------------------------------------------------------------ WebSocket

    async def _stream_input(self, request: web.Request) -> web.StreamResponse:
        fault = self.ws_faults.popleft() if self.ws_faults else ElevenLabsFault()
        header_key = request.headers.get("xi-api-key")
        if header_key is not None and header_key != self.api_key:
            return web.json_response({"detail": {"status": "invalid_api_key", "message": "Invalid API key"}},
                                     status=401)
        if fault.status:
            return web.json_response({"detail": {"status": "error", "message": "fault"}}, status=fault.status)
        conn = TtsConnection(request.match_info["voice_id"], dict(request.query))
        self.connections.append(conn)
        ws = await self.accept(request)
        try:
            await _SocketSession(self, request, ws, conn, fault, header_key is not None).run()
        finally:
            self.forget(ws)
        return ws

    # ------------------------------------------------------------------ HTTP

    async def _http_stream(self, request: web.Request) -> web.StreamResponse:
        fault = self.http_faults.popleft() if self.http_faults else ElevenLabsFault()
        if request.headers.get("xi-api-key") != self.api_key:
            return web.json_response({"detail": {"status": "invalid_api_key", "message": "Invalid API key"}},
                                     status=401)
        body = await request.json()
        self.http_requests.append({"voice_id": request.match_info["voice_id"], "query": dict(request.query),
                                   "body": body})
        if fault.status:
            return web.json_response({"detail": {"status": "error", "message": "fault"}}, status=fault.status)
        rate = _rate(request.query.get("output_format", "pcm_16000"))
        delay = self.first_audio_delay_s if fault.first_audio_delay_s is None else fault.first_audio_delay_s
        await asyncio.sleep(delay)
        response = web.StreamResponse(headers={"Content-Type": "audio/pcm"})
        await response.prepare(request)
        if fault.stall:
            await asyncio.sleep(3600)
        for index, chunk in enumerate(self.audio_for(body.get("text", ""), rate)):
            if fault.drop_after_chunks is not None and index >= fault.drop_after_chunks:
                FakeServer.abort(request)
                return response
            if index and self.chunk_delay_s:
                await asyncio.sleep(self.chunk_delay_s)
            try:
                await response.write(chunk)
            except ConnectionError:
                return response
        await response.write_eof()
        return response


class _SocketSession:
    def __init__(self, fake: FakeElevenLabs, request: web.Request, ws: web.WebSocketResponse,
                 conn: TtsConnection, fault: ElevenLabsFault, authorised: bool) -> None:
        self.fake, self.request, self.ws, self.conn, self.fault = fake, request, ws, conn, fault
        self.authorised = authorised
        self.rate = _rate(conn.query.get("output_format", "pcm_16000"))
        self.inactivity_s = float(conn.query.get("inactivity_timeout", 20))
        self.buffer = ""
        self.sent_chunks = 0
        self.generations: list[asyncio.Task] = []

    async def run(self) -> None:
        try:
            await self._receive_loop()
        finally:
            for task in self.generations:
                task.cancel()

    async def _receive_loop(self) -> None:
        while True:
            try:
                msg = await self.ws.receive(timeout=self.inactivity_s)
            except TimeoutError:
                self.conn.closed_by = "inactivity"
                await self.ws.close(code=1008, message=f"Have not received new text for {self.inactivity_s} seconds"
                                    .encode())
                return
            if msg.type != WSMsgType.TEXT:
                if not self.conn.closed_by:
                    self.conn.closed_by = "client"
                    self.fake.client_closed.set()
                return
            message = json.loads(msg.data)
            self.conn.messages.append(message)
            if len(self.conn.messages) == 1:
                if not await self._open(message):
                    return
                continue
            self.buffer += message.get("text", "")
            if message.get("text") == "" or message.get("flush"):
                text, self.buffer = self.buffer, ""
                previous = self.generations[-1] if self.generations else None
                final = message.get("text") == ""
                self.generations.append(asyncio.ensure_future(self._generate(text, previous, final=final)))

    async def _open(self, first: dict) -> bool:
        if not self.authorised and first.get("xi_api_key") != self.fake.api_key:
            await self._send({"message": "Invalid API key", "error": "invalid_api_key", "code": 1008})
            self.conn.closed_by = "error"
            await self.ws.close(code=1008, message=b"Invalid API key")
            return False
        if first.get("text") != " ":
            await self._send({"message": "The first message must be a single space", "error": "invalid_request",
                              "code": 1008})
            self.conn.closed_by = "error"
            await self.ws.close(code=1008)
            return False
        return True

    async def _generate(self, text: str, previous: asyncio.Future | None, *, final: bool) -> None:
        """Audio for `text`; runs beside the receive loop, so a client close is seen at once."""
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)  # audio stays in order
        fault = self.fault
        if fault.error:
            await self._send({"message": fault.error, "error": fault.error, "code": 1008})
            self.conn.closed_by = "error"
            await self.ws.close(code=1008)
            return
        if fault.malformed_first and self.sent_chunks == 0:
            await self.ws.send_str("<html>not json</html>")
        if fault.stall:
            return
        delay = self.fake.first_audio_delay_s if fault.first_audio_delay_s is None else fault.first_audio_delay_s
        if self.sent_chunks == 0:
            await asyncio.sleep(delay)
        for chunk in self.fake.audio_for(text, self.rate) if text.strip() else []:
            if fault.drop_after_chunks is not None and self.sent_chunks >= fault.drop_after_chunks:
                self.conn.closed_by = "fault"
                FakeServer.abort(self.request)
                return
            if self.sent_chunks and self.fake.chunk_delay_s:
                await asyncio.sleep(self.fake.chunk_delay_s)
            await self._send({"audio": base64.b64encode(chunk).decode(), "isFinal": None,
                              "normalizedAlignment": _alignment(text), "alignment": _alignment(text)})
            self.sent_chunks += 1
            self.conn.audio_chunks += 1
        if final:
            await self._send({"isFinal": True})
            self.conn.closed_by = "final"
            await self.ws.close(code=1000)

    async def _send(self, message: dict) -> None:
        with contextlib.suppress(ConnectionError):
            await self.ws.send_str(json.dumps(message))


def _rate(output_format: str) -> int:
    return int(output_format.split("_")[1])


def _alignment(text: str) -> dict:
    chars = list(text)
    return {"chars": chars, "charStartTimesMs": [i * 10 for i in range(len(chars))],
            "charDurationsMs": [10] * len(chars)}

"""A fake OpenAI Realtime server (`wss://api.openai.com/v1/realtime?model=…`) on 127.0.0.1.

It speaks the protocol of the installed `openai` SDK (`openai/types/realtime/`), so the real client
(`AsyncOpenAI(base_url=fake.base_url).realtime.connect(model=…)`) talks to it unchanged:

- the upgrade carries `?model=` and `Authorization: Bearer <key>`; a wrong key gets HTTP 401, as OpenAI does;
- it greets with `session.created`; `session.update` gets `session.updated` (the session is kept: audio format,
  turn detection, tools, instructions);
- `input_audio_buffer.append` audio (`audio/pcmu` / `audio/pcma` 8 kHz or `audio/pcm` 24 kHz, as the session says)
  goes through an energy detector standing in for the model's server VAD: `input_audio_buffer.speech_started` /
  `speech_stopped` (with `audio_start_ms` / `audio_end_ms`), `input_audio_buffer.committed`, the caller's words as
  `conversation.item.input_audio_transcription.completed` (scripted: `transcripts`), then a response if
  `create_response`; `input_audio_buffer.commit` / `clear` when the client does its own turn detection;
- `response.create` starts a response: `response.created`, `response.output_item.added`, audio as
  `response.output_audio.delta` (a tone, `ms_per_word` per word, streamed `speedup` times faster than real time as
  the API does), `response.output_audio_transcript.delta` / `.done`, `response.output_audio.done`,
  `response.done` with usage; or a function call (`response.function_call_arguments.done`). What it says is
  scripted (`replies`: `RealtimeReply`); a response asked for with instructions `…saying exactly: "<text>"` says
  that text (the greeting); its `metadata` comes back in `response.created` and `response.done`; one asked for
  while another is active is refused (`conversation_already_has_active_response`), as the API does;
- `response.cancel` stops the response (`response.done` status "cancelled"); with none under way, an `error`
  (`response_cancel_not_active`), as the API does; `conversation.item.truncate` is checked (an item it sent, no
  further than the audio sent: else an `error`) and recorded, answered with `conversation.item.truncated`;
- `conversation.item.create` (a `function_call_output`, a user message) and `conversation.item.delete` are
  recorded and answered (`conversation.item.created` / `.deleted`).

    fake = FakeRealtime(transcripts=["what are your hours"], replies=[RealtimeReply("We open at nine.")])
    await fake.start()          # fake.base_url == "http://127.0.0.1:<port>/v1": OPENAI_BASE_URL
    fake.faults.append(RealtimeFault(reject_status=503))   # the next connection is refused at the handshake
    ...
    await fake.stop()

Faults apply to the next connection, in order: `reject_status`, `drop_after_events` (TCP abort after that many
server events), `mute` (accepts everything, never answers a response), `malformed` (a burst of junk before the
first response: not JSON, an unknown type, an audio delta without its fields), `latency_s` (every server event
arrives that much later, in order). `connections` records what each
socket received, when (for the benchmark's overhead figures).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from aiohttp import WSMsgType, web

from calls.pipeline.audio import alaw_decode, alaw_encode, resample, ulaw_decode, ulaw_encode

from ..pcm import peak, tone
from .aio_server import FakeServer

API_KEY = "test-openai-key"
_EXACTLY = re.compile(r'saying exactly: "(.*)"', re.S)


@dataclass
class RealtimeReply:
    """One scripted response: `text` spoken (audio + transcript), or a function call (`call` = (name, arguments
    JSON)) — optionally after `text` — and `delay_s` before its first audio."""

    text: str = ""
    call: tuple[str, str] | None = None
    delay_s: float = 0.0


@dataclass
class RealtimeFault:
    reject_status: int | None = None
    drop_after_events: int | None = None
    mute: bool = False
    malformed: bool = False
    latency_s: float = 0.0  # every server event reaches the client this much later, in order, as over a long link


@dataclass
class RealtimeConnection:
    """What one socket received (and when) and what it sent."""

    query: dict
    headers: dict
    session: dict = field(default_factory=dict)
    received: list[dict] = field(default_factory=list)  # client events, audio appends summarised
    appends: int = 0
    audio_bytes: int = 0  # decoded model-format bytes
    append_times: list[float] = field(default_factory=list)  # monotonic receive time of each append
    truncates: list[dict] = field(default_factory=list)
    cancels: int = 0
    items: list[dict] = field(default_factory=list)  # conversation.item.create items
    deleted: list[str] = field(default_factory=list)  # conversation.item.delete item ids
    sent: list[dict] = field(default_factory=list)
    first_delta_times: list[float] = field(default_factory=list)  # monotonic send time of each response's first audio
    # With `trace`: (monotonic time, bytes) of each append received and of each response's first 20 ms of audio sent.
    append_log: list[tuple[float, bytes]] = field(default_factory=list)
    first_frames: list[tuple[float, bytes]] = field(default_factory=list)
    closed_by: str = ""

    def kinds(self) -> list[str]:
        return [e.get("type", "") for e in self.received]


class FakeRealtime(FakeServer):
    def __init__(self, *, transcripts: list[str] | None = None, replies: list[RealtimeReply] | None = None,
                 api_key: str = API_KEY, ms_per_word: int = 250, speedup: float = 5.0, chunk_ms: int = 100,
                 voice_threshold: int = 1000, default_reply: str = "Okay.", trace: bool = False,
                 default_transcript: str = "") -> None:
        self.transcripts = deque(transcripts or [])
        self.default_transcript = default_transcript  # the caller's words once `transcripts` has run out
        self.replies = deque(replies or [])
        self.api_key = api_key
        self.ms_per_word = ms_per_word
        self.speedup = speedup
        self.chunk_ms = chunk_ms
        self.voice_threshold = voice_threshold
        self.default_reply = default_reply
        # The benchmark's overhead figures: log what arrives and leaves, and make every response's audio unique (a
        # little noise on the tone) so the carrier's copy of it can be matched.
        self.trace = trace
        self.faults: deque[RealtimeFault] = deque()
        self.connections: list[RealtimeConnection] = []
        self.rejected = 0
        self._open: dict[int, web.Request] = {}
        self._ids = itertools.count(1)
        super().__init__()

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def env(self) -> dict[str, str]:
        return {"OPENAI_API_KEY": self.api_key, "OPENAI_BASE_URL": self.base_url}

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/v1/realtime", self._realtime)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):06d}"

    def next_reply(self) -> RealtimeReply:
        return self.replies.popleft() if self.replies else RealtimeReply(self.default_reply)

    def drop_all(self) -> None:
        """Abort every open socket now (a network outage)."""
        for request in list(self._open.values()):
            FakeServer.abort(request)

    async def _realtime(self, request: web.Request) -> web.StreamResponse:
        fault = self.faults.popleft() if self.faults else RealtimeFault()
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return web.json_response({"error": {"message": "Incorrect API key provided.", "type":
                                                 "invalid_request_error", "code": "invalid_api_key"}}, status=401)
        if fault.reject_status:
            self.rejected += 1
            return web.json_response({"error": {"message": "The server is overloaded.", "type": "server_error"}},
                                     status=fault.reject_status)
        conn = RealtimeConnection(query=dict(request.query), headers=dict(request.headers))
        self.connections.append(conn)
        ws = await self.accept(request)
        self._open[id(request)] = request
        try:
            await _Session(self, request, ws, conn, fault).run()
        finally:
            self._open.pop(id(request), None)
            self.forget(ws)
        return ws


class _Session:
    """One socket: the session's settings, a server-VAD stand-in, and one response at a time."""

    def __init__(self, fake: FakeRealtime, request: web.Request, ws: web.WebSocketResponse,
                 conn: RealtimeConnection, fault: RealtimeFault) -> None:
        self.fake, self.request, self.ws, self.conn, self.fault = fake, request, ws, conn, fault
        self.events_sent = 0
        self.response: asyncio.Task | None = None
        self.response_id = ""
        self.audio_ms: dict[str, int] = {}  # item id -> ms of audio sent
        self.buffer_ms = 0  # ms of caller audio received
        self.in_speech = False
        self.silent_ms = 0
        self.speech_item = ""
        self.pending = b""
        self.metadata: dict | None = None  # the current response's
        self._late: asyncio.Queue[tuple[float, str]] | None = None  # events held back by `fault.latency_s`

    @property
    def law(self) -> str:
        """"audio/pcmu" or "audio/pcma" (8 kHz G.711, a byte a sample), or "" for 24 kHz PCM16."""
        fmt = ((self.conn.session.get("audio") or {}).get("input") or {}).get("format") or {}
        kind = fmt.get("type", "")
        return kind if kind in ("audio/pcmu", "audio/pcma") else ""

    @property
    def pcmu(self) -> bool:  # any 8 kHz G.711 (one byte a sample)
        return bool(self.law)

    @property
    def rate(self) -> int:
        return 8000 if self.pcmu else 24000

    @property
    def turn_detection(self) -> dict | None:
        return ((self.conn.session.get("audio") or {}).get("input") or {}).get("turn_detection")

    async def run(self) -> None:
        await self.send({"type": "session.created", "session": {"type": "realtime", "id": self.fake.new_id("sess"),
                                                                "model": self.conn.query.get("model", "")}})
        while True:
            msg = await self.ws.receive()
            if msg.type != WSMsgType.TEXT:
                self.conn.closed_by = self.conn.closed_by or "client"
                if self.response is not None:
                    self.response.cancel()
                return
            try:
                event = json.loads(msg.data)
                kind = event["type"]
            except (ValueError, KeyError, TypeError):
                await self.error("invalid_request_error", "invalid_json", "The event could not be parsed.")
                continue
            await self.on_event(kind, event)

    async def on_event(self, kind: str, event: dict) -> None:
        if kind == "input_audio_buffer.append":
            self.conn.appends += 1
            now = time.monotonic()
            self.conn.append_times.append(now)
            audio = base64.b64decode(event.get("audio", ""))
            if self.fake.trace:
                self.conn.append_log.append((now, audio))
            await self.on_audio(audio)
            return
        self.conn.received.append(event)
        if kind == "session.update":
            self.conn.session.update(event.get("session") or {})
            await self.send({"type": "session.updated", "session": self.conn.session})
        elif kind == "input_audio_buffer.commit":
            await self.commit(self.fake.new_id("item"))
        elif kind == "input_audio_buffer.clear":
            self.in_speech, self.pending = False, b""
            await self.send({"type": "input_audio_buffer.cleared"})
        elif kind == "response.create":
            response = event.get("response") or {}
            await self.start_response(response.get("instructions") or "", response.get("metadata"))
        elif kind == "response.cancel":
            await self.cancel()
        elif kind == "conversation.item.truncate":
            await self.truncate(event)
        elif kind == "conversation.item.delete":
            item = event.get("item_id")
            self.conn.deleted.append(item)
            await self.send({"type": "conversation.item.deleted", "item_id": item})
        elif kind == "conversation.item.create":
            item = dict(event.get("item") or {})
            item.setdefault("id", self.fake.new_id("item"))
            self.conn.items.append(item)
            await self.send({"type": "conversation.item.created", "item": item})
        else:
            await self.error("invalid_request_error", "unknown_event", f"Unknown event type {kind!r}.")

    # ------------------------------------------------------------------ caller audio and the server VAD stand-in

    async def on_audio(self, payload: bytes) -> None:
        pcm = {"audio/pcmu": ulaw_decode, "audio/pcma": alaw_decode}.get(self.law, bytes)(payload)
        self.conn.audio_bytes += len(payload)
        self.pending += pcm
        frame = self.rate * 2 // 50
        while len(self.pending) >= frame:
            chunk, self.pending = self.pending[:frame], self.pending[frame:]
            self.buffer_ms += 20
            await self.on_frame(peak(chunk) >= self.fake.voice_threshold)

    async def on_frame(self, voiced: bool) -> None:
        detection = self.turn_detection
        if detection is None:
            return
        if voiced:
            self.silent_ms = 0
            if not self.in_speech:
                self.in_speech = True
                self.speech_item = self.fake.new_id("item")
                await self.send({"type": "input_audio_buffer.speech_started", "item_id": self.speech_item,
                                 "audio_start_ms": max(0, self.buffer_ms - 20 - 300)})
            return
        self.silent_ms += 20
        if self.in_speech and self.silent_ms >= int(detection.get("silence_duration_ms", 500)):
            self.in_speech = False
            await self.send({"type": "input_audio_buffer.speech_stopped", "item_id": self.speech_item,
                             "audio_end_ms": self.buffer_ms - self.silent_ms})
            await self.commit(self.speech_item)
            if detection.get("create_response", True):
                await self.start_response("")

    async def commit(self, item_id: str) -> None:
        await self.send({"type": "input_audio_buffer.committed", "item_id": item_id, "previous_item_id": None})
        words = self.fake.transcripts.popleft() if self.fake.transcripts else self.fake.default_transcript
        await self.send({"type": "conversation.item.input_audio_transcription.completed", "item_id": item_id,
                         "content_index": 0, "transcript": words,
                         "usage": {"type": "duration", "seconds": round(self.buffer_ms / 1000, 1)}})

    # ------------------------------------------------------------------ responses

    async def start_response(self, instructions: str, metadata: dict | None = None) -> None:
        if self.response is not None and not self.response.done():
            await self.error("invalid_request_error", "conversation_already_has_active_response",
                             "Conversation already has an active response in progress.")
            return
        if self.fault.mute:
            return
        said = _EXACTLY.search(instructions)
        reply = RealtimeReply(said.group(1)) if said else self.fake.next_reply()
        self.response_id = self.fake.new_id("resp")
        self.metadata = metadata  # echoed in the response's events, as the API does
        self.response = self.fake.spawn(self.respond(self.response_id, reply))

    async def respond(self, rid: str, reply: RealtimeReply) -> None:
        await self.send({"type": "response.created", "response": {"id": rid, "object": "realtime.response",
                                                                  "status": "in_progress", "output": [],
                                                                  "metadata": self.metadata}})
        if self.fault.malformed:
            self.fault.malformed = False
            await self.send_raw("{not json")
            await self.send({"type": "response.something_new", "response_id": rid})
            await self.send({"type": "response.output_audio.delta", "response_id": rid})
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        output_tokens = 0
        if reply.text:
            item = self.fake.new_id("item")
            await self.send({"type": "response.output_item.added", "response_id": rid, "output_index": 0,
                             "item": {"id": item, "type": "message", "role": "assistant", "status": "in_progress"}})
            audio = self.audio_for(reply.text)
            step = self.rate * (1 if self.pcmu else 2) * self.fake.chunk_ms // 1000
            bytes_per_ms = step / self.fake.chunk_ms
            self.audio_ms[item] = 0
            words = deque(reply.text.split())
            for offset in range(0, len(audio), step):
                piece = audio[offset : offset + step]
                if offset == 0:
                    self.conn.first_delta_times.append(time.monotonic())
                    if self.fake.trace:  # its first 20 ms: the first frame playout sends the carrier
                        self.conn.first_frames.append((time.monotonic(), piece[: step // (self.fake.chunk_ms // 20)]))
                await self.send({"type": "response.output_audio.delta", "response_id": rid, "item_id": item,
                                 "output_index": 0, "content_index": 0,
                                 "delta": base64.b64encode(piece).decode()})
                self.audio_ms[item] += round(len(piece) / bytes_per_ms)
                # The words go along with their audio, as the API streams them.
                while words and self.audio_ms[item] >= (len(reply.text.split()) - len(words)) * self.fake.ms_per_word:
                    await self.send({"type": "response.output_audio_transcript.delta", "response_id": rid,
                                     "item_id": item, "output_index": 0, "content_index": 0,
                                     "delta": words.popleft() + " "})
                await asyncio.sleep(self.fake.chunk_ms / 1000 / self.fake.speedup)
            await self.send({"type": "response.output_audio.done", "response_id": rid, "item_id": item,
                             "output_index": 0, "content_index": 0})
            await self.send({"type": "response.output_audio_transcript.done", "response_id": rid, "item_id": item,
                             "output_index": 0, "content_index": 0, "transcript": reply.text})
            output_tokens += 10 * len(reply.text.split())
        if reply.call is not None:
            name, arguments = reply.call
            item = self.fake.new_id("item")
            await self.send({"type": "response.function_call_arguments.done", "response_id": rid, "item_id": item,
                             "output_index": 1, "call_id": self.fake.new_id("call"), "name": name,
                             "arguments": arguments})
        await self.done(rid, "completed", output_tokens)

    async def done(self, rid: str, status: str, output_tokens: int) -> None:
        usage = {"total_tokens": 100 + output_tokens, "input_tokens": 100, "output_tokens": output_tokens,
                 "input_token_details": {"audio_tokens": 80, "text_tokens": 20, "cached_tokens": 0},
                 "output_token_details": {"audio_tokens": output_tokens * 4 // 5, "text_tokens": output_tokens // 5}}
        await self.send({"type": "response.done", "response": {"id": rid, "object": "realtime.response",
                                                               "status": status, "usage": usage,
                                                               "metadata": self.metadata}})

    def audio_for(self, text: str) -> bytes:
        ms = self.fake.ms_per_word * max(1, len(text.split()))
        pcm = tone(ms, 8000, freq=300.0, amplitude=6000)
        if self.fake.trace:
            noise = np.random.default_rng().integers(-200, 200, len(pcm) // 2, dtype=np.int16)
            pcm = (np.frombuffer(pcm, "<i2") + noise).astype("<i2").tobytes()
        encode = {"audio/pcmu": ulaw_encode, "audio/pcma": alaw_encode}.get(self.law)
        return encode(pcm) if encode else resample(pcm, 8000, 24000)

    async def cancel(self) -> None:
        self.conn.cancels += 1
        task = self.response
        if task is None or task.done():
            await self.error("invalid_request_error", "response_cancel_not_active",
                             "Cancellation failed: no active response found")
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await self.done(self.response_id, "cancelled", 0)

    async def truncate(self, event: dict) -> None:
        item, end = event.get("item_id"), event.get("audio_end_ms")
        if item not in self.audio_ms:
            await self.error("invalid_request_error", "item_not_found", f"Item {item!r} not found.")
            return
        if not isinstance(end, int) or end < 0 or end > self.audio_ms[item]:
            await self.error("invalid_request_error", "invalid_audio_end_ms",
                             f"audio_end_ms {end!r} is beyond the item's {self.audio_ms[item]} ms of audio.")
            return
        self.conn.truncates.append({"item_id": item, "content_index": event.get("content_index"),
                                    "audio_end_ms": end, "audio_ms": self.audio_ms[item]})
        await self.send({"type": "conversation.item.truncated", "item_id": item,
                         "content_index": event.get("content_index", 0), "audio_end_ms": end})

    # ------------------------------------------------------------------ sending

    async def error(self, kind: str, code: str, message: str) -> None:
        await self.send({"type": "error", "error": {"type": kind, "code": code, "message": message}})

    async def send(self, message: dict) -> None:
        message.setdefault("event_id", self.fake.new_id("event"))
        self.conn.sent.append(message)
        await self.send_raw(json.dumps(message))

    async def send_raw(self, text: str) -> None:
        if self.fault.latency_s:
            if self._late is None:
                self._late = asyncio.Queue()
                self.fake.spawn(self._deliver_late())
            self._late.put_nowait((time.monotonic() + self.fault.latency_s, text))
            return
        await self._write(text)

    async def _deliver_late(self) -> None:
        while True:
            due, text = await self._late.get()
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            await self._write(text)

    async def _write(self, text: str) -> None:
        if self.ws.closed:
            return
        self.events_sent += 1
        limit = self.fault.drop_after_events
        if limit is not None and self.events_sent > limit:
            self.conn.closed_by = "fault"
            FakeServer.abort(self.request)
            return
        try:
            await self.ws.send_str(text)
        except ConnectionError:
            pass  # the client went away; the receive loop will see it

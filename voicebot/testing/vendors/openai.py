"""A fake OpenAI Chat Completions server (`POST /v1/chat/completions`, streaming) on 127.0.0.1.

It answers `stream=True` requests the way the API does: `text/event-stream` with one `data: {chat.completion.chunk}`
per token-ish piece — a first chunk with `delta.role`, content deltas, tool calls split into fragments (id, type and
name only in the first fragment of each call, `arguments` in pieces, all carrying `index`), a last chunk with
`finish_reason` ("stop" or "tool_calls"), then, when `stream_options.include_usage` is set, a usage chunk whose
`choices` is empty, then `data: [DONE]`. Errors are JSON `{"error": {...}}` with the API's status codes, and a wrong
`Authorization: Bearer` key gets 401. Non-streaming requests are not implemented (400).

Replies are scripted, in order, per request; with none left, the default echoes the last user message:

    fake = FakeOpenAI(replies=[ScriptedReply(tool_calls=[("lookup", {"id": 7})]), ScriptedReply(text="Found it.")])
    await fake.start()       # base_url for the SDK: fake.url + "/v1"
    fake.requests            # every request body, parsed
    fake.streams             # how each stream ended ("completed" / "client-disconnected" / "aborted" / "error")
    await fake.disconnected.wait()   # set when a client hangs up mid-stream

Faults and latency per reply: `status` (e.g. 500, 429), `headers_delay_s` (slow first byte: nothing at all, not even
headers), `first_token_delay_s`, `chunk_delay_s`, `omit_index` (compatible servers that leave out
`tool_calls[].index`), `drop_after_chunks` (TCP abort mid-stream), `malformed_after_chunks` (a corrupt data line),
`stall_after_chunks` (a model that stops mid-answer: the stream stays open and silent for `stall_s`, then goes on).
Constructor defaults for `first_token_delay_s` / `chunk_delay_s` apply to every reply that does not set them.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from .aio_server import FakeServer

API_KEY = "test-openai-key"
_ERRORS = {
    400: ("invalid_request_error", None, "Only stream=true is implemented by this fake."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests."),
    500: ("server_error", None, "The server had an error while processing your request."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}


@dataclass
class ScriptedReply:
    text: str = ""
    tool_calls: list[tuple[str, dict]] = field(default_factory=list)
    status: int | None = None
    headers_delay_s: float = 0.0
    first_token_delay_s: float | None = None
    chunk_delay_s: float | None = None
    omit_index: bool = False
    drop_after_chunks: int | None = None
    malformed_after_chunks: int | None = None
    stall_after_chunks: int | None = None  # chunk 0 is the role chunk; chunk n (n >= 1) the n-th word
    stall_s: float = 30.0


@dataclass
class StreamRecord:
    body: dict
    outcome: str = "streaming"
    chunks_sent: int = 0
    first_token_at: float | None = None


class FakeOpenAI(FakeServer):
    def __init__(
        self,
        *,
        replies: list[ScriptedReply] | None = None,
        responder: Callable[[dict], ScriptedReply] | None = None,
        api_key: str = API_KEY,
        first_token_delay_s: float = 0.0,
        chunk_delay_s: float = 0.0,
    ) -> None:
        self.replies: deque[ScriptedReply] = deque(replies or [])
        self.responder = responder
        self.api_key = api_key
        self.first_token_delay_s = first_token_delay_s
        self.chunk_delay_s = chunk_delay_s
        self.requests: list[dict] = []
        self.streams: list[StreamRecord] = []
        self.disconnected = asyncio.Event()
        super().__init__()

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/v1/chat/completions", self._completions)

    def _next_reply(self, body: dict) -> ScriptedReply:
        if self.replies:
            return self.replies.popleft()
        if self.responder is not None:
            return self.responder(body)
        last = next((m.get("content") for m in reversed(body.get("messages", [])) if m.get("role") == "user"), "")
        return ScriptedReply(text=f"You said: {last}")

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _error(401)
        body = await request.json()
        self.requests.append(body)
        reply = self._next_reply(body)
        if reply.headers_delay_s:
            await asyncio.sleep(reply.headers_delay_s)
        if reply.status:
            return _error(reply.status)
        if not body.get("stream"):
            return _error(400)
        record = StreamRecord(body)
        self.streams.append(record)
        return await _Stream(self, request, reply, record).run()


def _error(status: int) -> web.Response:
    kind, code, message = _ERRORS.get(status, ("server_error", None, f"HTTP {status}"))
    headers = {"retry-after": "1"} if status == 429 else {}
    return web.json_response({"error": {"message": message, "type": kind, "param": None, "code": code}},
                             status=status, headers=headers)


class _Stream:
    def __init__(self, fake: FakeOpenAI, request: web.Request, reply: ScriptedReply, record: StreamRecord) -> None:
        self.fake, self.request, self.reply, self.record = fake, request, reply, record
        self.id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        self.created = int(time.time())
        self.model = record.body.get("model", "gpt-4o-mini")
        self.first_delay = fake.first_token_delay_s if reply.first_token_delay_s is None else reply.first_token_delay_s
        self.chunk_delay = fake.chunk_delay_s if reply.chunk_delay_s is None else reply.chunk_delay_s

    async def run(self) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8",
                                               "Cache-Control": "no-cache"})
        await response.prepare(self.request)
        self.response = response
        try:
            await asyncio.sleep(self.first_delay)
            for index, chunk in enumerate(self._chunks()):
                if index and self.chunk_delay:
                    await asyncio.sleep(self.chunk_delay)
                if not await self._fault(index):
                    return response
                await self._write(f"data: {json.dumps(chunk)}\n\n")
                if self.record.first_token_at is None:
                    self.record.first_token_at = time.monotonic()
                self.record.chunks_sent += 1
            await self._write("data: [DONE]\n\n")
            self.record.outcome = "completed"
            await response.write_eof()
        except ConnectionError:
            self.record.outcome = "client-disconnected"
            self.fake.disconnected.set()
        return response

    async def _write(self, text: str) -> None:
        transport = self.request.transport
        if transport is None or transport.is_closing():
            raise ConnectionResetError("client went away")
        await self.response.write(text.encode())

    async def _fault(self, index: int) -> bool:
        """Apply a scripted fault before chunk `index`; False when the stream must end here."""
        if self.reply.drop_after_chunks is not None and index >= self.reply.drop_after_chunks:
            self.record.outcome = "aborted"
            FakeServer.abort(self.request)
            return False
        if self.reply.malformed_after_chunks is not None and index == self.reply.malformed_after_chunks:
            await self._write('data: {"id": "broken", "choices": [\n\n')
        if self.reply.stall_after_chunks is not None and index == self.reply.stall_after_chunks:
            self.record.outcome = "stalled"  # until it goes on, or the client gives up (the next write fails)
            await asyncio.sleep(self.reply.stall_s)
            self.record.outcome = "streaming"
        return True

    # ------------------------------------------------------------------ chunks

    def _chunk(self, delta: dict, finish_reason: str | None = None) -> dict:
        return {
            "id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
            "system_fingerprint": "fp_fake", "service_tier": "default",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
            "usage": None,
        }

    def _chunks(self):
        reply = self.reply
        yield self._chunk({"role": "assistant", "content": "", "refusal": None})
        for piece in re.findall(r"\S+\s*|\s+", reply.text):
            yield self._chunk({"content": piece})
        for index, (name, arguments) in enumerate(reply.tool_calls):
            for fragment in self._tool_fragments(index, name, arguments):
                yield self._chunk({"tool_calls": [fragment]})
        yield self._chunk({}, "tool_calls" if reply.tool_calls else "stop")
        if (self.record.body.get("stream_options") or {}).get("include_usage"):
            prompt = sum(len(str(m.get("content") or "")) for m in self.record.body.get("messages", [])) // 4
            completion = max(1, len(reply.text) // 4)
            usage = self._chunk({})
            usage["choices"] = []
            usage["usage"] = {"prompt_tokens": prompt, "completion_tokens": completion,
                              "total_tokens": prompt + completion}
            yield usage

    def _tool_fragments(self, index: int, name: str, arguments: dict):
        text = json.dumps(arguments)
        first = {"index": index, "id": f"call_{uuid.uuid4().hex[:12]}", "type": "function",
                 "function": {"name": name, "arguments": ""}}
        pieces = [text[i : i + 7] for i in range(0, len(text), 7)]
        fragments = [first] + [{"index": index, "function": {"arguments": p}} for p in pieces]
        if self.reply.omit_index:
            for fragment in fragments:
                fragment.pop("index")
        return fragments

"""`RealtimeLink`: one call's WebSocket to the Realtime API through the `openai` SDK's client
(`AsyncOpenAI().realtime.connect(model=...)`), with the client events the session sends.

Control events go through the SDK's typed resources (`session.update`, `response.cancel`,
`conversation.item.truncate`...). Caller audio — 50 appends a second per call — goes through the connection's
`send_raw` with the JSON written here: the typed path transforms every dict against the event's TypedDict union,
which is the bulk of the per-frame cost and checks nothing a fixed template could get wrong.

The SDK reconnects only when given `on_reconnecting`; we give none: a dropped socket loses the model's context
anyway, so the call moves to the cascaded providers with the conversation so far (the session does that).
Every failure leaves here as a `ProviderError` (provider "openai-realtime").

The hot path (caller audio out, server events in) uses the SDK connection's own websocket once it is open: the
SDK's `send_raw` goes through a send queue kept for reconnection (which we never ask for) and asks anyio for the
current task on every send — ~50 µs per append, a quarter of its cost at 20 calls (cProfile of the daphne process,
docs/benchmarks.md "Speech-to-speech") — and `recv_bytes` logs each message. The SDK is pinned
(requirements.txt); were the attribute gone in another version, the SDK's methods are used instead.

One `AsyncOpenAI` client (per key and base URL) and one TLS context serve every call of the process: building a
client costs ~20 ms of CPU and a TLS context ~30 ms, run synchronously on the event loop that carries every other
call's audio — at a burst of call starts that stalled the other calls' audio by hundreds of ms (docs/benchmarks.md).
The realtime client uses its client only for the URL and headers, so sharing it shares no connection state.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ssl
from collections.abc import AsyncIterator

import openai
from django.conf import settings

from ..base import ProviderError
from .events import TAG_KEY

PROVIDER = "openai-realtime"


class RealtimeLink:
    def __init__(self, *, model: str, base_url: str = "", connect_timeout_s: float = 3.0) -> None:
        self.model = model
        self.base_url = base_url
        self.connect_timeout_s = connect_timeout_s
        self._client: openai.AsyncOpenAI | None = None
        self._conn = None
        self._ws = None  # the SDK connection's websockets connection, for the hot path (see the module's doc)
        self.sent_appends = 0

    async def open(self, session: dict) -> None:
        key = getattr(settings, "OPENAI_API_KEY", "")
        if not key:
            raise ProviderError("OPENAI_API_KEY is not set", provider=PROVIDER, permanent=True)
        base = self.base_url or getattr(settings, "OPENAI_BASE_URL", "") or None
        self._client = _client(key, base)
        options = {"ssl": _tls()} if self._client.base_url.scheme == "https" else {}
        try:
            manager = self._client.realtime.connect(model=self.model, websocket_connection_options=options)
            self._conn = await asyncio.wait_for(manager.enter(), self.connect_timeout_s)
            await self._conn.session.update(session=session)
            ws = getattr(self._conn, "_connection", None)
            self._ws = ws if callable(getattr(ws, "send", None)) and callable(getattr(ws, "recv", None)) else None
        except TimeoutError as exc:
            raise ProviderError(f"no connection within {self.connect_timeout_s:.1f} s", provider=PROVIDER) from exc
        except Exception as exc:  # handshake refused (HTTP 4xx/5xx), connection refused, bad URL: all "no socket"
            raise ProviderError(f"could not connect: {type(exc).__name__}: {exc}"[:300], provider=PROVIDER) from exc

    async def messages(self) -> AsyncIterator[bytes]:
        """Raw server messages until the socket closes; a close the session did not ask for raises ProviderError."""
        conn = self._require()
        ws = self._ws
        try:
            while True:
                yield await (ws.recv(decode=False) if ws is not None else conn.recv_bytes())
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # ConnectionClosed (a drop, a server close), transport errors
            if self._conn is None:
                return  # we closed it
            raise ProviderError(f"socket lost: {type(exc).__name__}: {exc}"[:300], provider=PROVIDER) from exc

    async def append(self, audio_b64: str) -> None:
        self.sent_appends += 1
        # Base64 needs no JSON escaping: the template is the exact event.
        await self._send_raw('{"type":"input_audio_buffer.append","audio":"' + audio_b64 + '"}')

    async def clear_input(self) -> None:
        await self._call(lambda c: c.input_audio_buffer.clear())

    async def commit(self) -> None:
        await self._call(lambda c: c.input_audio_buffer.commit())

    async def create_response(self, instructions: str | None = None, tag: str | None = None) -> None:
        """Ask for a response; `tag` comes back in its `response.created` (`ResponseCreated.tag`), telling it from
        one the server VAD made meanwhile."""
        response: dict = {"instructions": instructions} if instructions else {}
        if tag:
            response["metadata"] = {TAG_KEY: tag}
        extra = {"response": response} if response else {}
        await self._call(lambda c: c.response.create(**extra))

    async def cancel(self) -> None:
        await self._call(lambda c: c.response.cancel())

    async def truncate(self, item_id: str, content_index: int, audio_end_ms: int) -> None:
        await self._call(lambda c: c.conversation.item.truncate(
            item_id=item_id, content_index=content_index, audio_end_ms=audio_end_ms))

    async def function_output(self, call_id: str, output: str) -> None:
        await self._call(lambda c: c.conversation.item.create(
            item={"type": "function_call_output", "call_id": call_id, "output": output}))

    async def delete_item(self, item_id: str) -> None:
        await self._call(lambda c: c.conversation.item.delete(item_id=item_id))

    async def user_text(self, text: str) -> None:
        await self._call(lambda c: c.conversation.item.create(
            item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}))

    async def close(self) -> None:
        conn, self._conn, self._ws = self._conn, None, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 1.0)
        self._client = None  # shared by the process's calls: never closed here

    # ------------------------------------------------------------------ helpers

    def _require(self):
        if self._conn is None:
            raise ProviderError("not connected", provider=PROVIDER)
        return self._conn

    async def _send_raw(self, text: str) -> None:
        try:
            conn = self._require()
            await (self._ws.send(text) if self._ws is not None else conn.send_raw(text))
        except ProviderError:
            raise
        except Exception as exc:
            raise ProviderError(f"send failed: {type(exc).__name__}: {exc}"[:300], provider=PROVIDER) from exc

    async def _call(self, send) -> None:
        try:
            await send(self._require())
        except ProviderError:
            raise
        except Exception as exc:
            raise ProviderError(f"send failed: {type(exc).__name__}: {exc}"[:300], provider=PROVIDER) from exc


@functools.lru_cache(maxsize=8)
def _client(key: str, base: str | None) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key=key, base_url=base, max_retries=0)


@functools.lru_cache(maxsize=1)
def _tls() -> ssl.SSLContext:
    return ssl.create_default_context()

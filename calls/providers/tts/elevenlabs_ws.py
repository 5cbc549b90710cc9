"""ElevenLabs WebSocket input streaming (`/v1/text-to-speech/{voice}/stream-input`), on our own async socket.

The SDK's realtime helper is synchronous, so we speak the protocol ourselves (websockets 15):

- the first message is `{"text": " "}` (plus voice settings): it opens the generation;
- every text message must end with a space; `flush: true` makes the server synthesise what it holds now instead
  of waiting for more text; `{"text": ""}` ends the input, after which the server sends the rest of the audio,
  a message with `isFinal: true`, and closes;
- replies are JSON `{"audio": <base64 PCM>, "isFinal": …, "alignment": …}`; errors are `{"error", "message"}`;
- an idle socket is closed (1008) after `inactivity_timeout` seconds (20 by default); a single space keeps it open.

One socket serves one sentence (the session asks for sentences, possibly several at once, and a socket's audio
carries no sentence boundary). To keep the connect handshake off the critical path, a spare socket is always
opened and initialised ahead of need and kept alive with spaces until a sentence claims it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
from collections.abc import AsyncIterator

import websockets
from websockets.asyncio.client import ClientConnection, connect
from websockets.protocol import State

from ..base import ProviderError
from .pcm_align import PcmAligner

log = logging.getLogger("calls.providers.elevenlabs")

PROVIDER = "elevenlabs"


class _Spare:
    """An initialised socket waiting for a sentence, kept alive meanwhile."""

    def __init__(self, ws: ClientConnection, keepalive_s: float) -> None:
        self.ws = ws
        self._keeper = asyncio.get_running_loop().create_task(self._keep_alive(keepalive_s))

    async def _keep_alive(self, every: float) -> None:
        with contextlib.suppress(websockets.exceptions.ConnectionClosed):
            while True:
                await asyncio.sleep(every)
                await self.ws.send(json.dumps({"text": " "}))

    def claim(self) -> ClientConnection | None:
        self._keeper.cancel()
        return self.ws if self.ws.state is State.OPEN else None

    async def close(self) -> None:
        self._keeper.cancel()
        await _close(self.ws)


class StreamInputTransport:
    def __init__(
        self,
        url: str,
        api_key: str,
        init_message: dict,
        *,
        connect_timeout_s: float = 2.0,
        recv_timeout_s: float = 5.0,
        keepalive_s: float = 15.0,
    ) -> None:
        self.url = url
        self.api_key = api_key
        self.init_message = {"text": " ", **init_message}
        self.connect_timeout_s = connect_timeout_s
        self.recv_timeout_s = recv_timeout_s
        self.keepalive_s = keepalive_s
        self._spare: asyncio.Task | None = None
        self._closed = False

    async def start(self) -> None:
        spare = await self._open()  # fail at call start (bad key, unreachable) rather than at the first sentence
        self._spare = _done_task(spare)

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        ws = await self._take()
        try:
            await ws.send(json.dumps({"text": text.strip() + " ", "flush": True}))
            await ws.send(json.dumps({"text": ""}))
            aligner = PcmAligner()
            while True:
                message = await self._receive(ws)
                if message is None:
                    continue
                if message.get("error"):
                    raise ProviderError(f"{message.get('error')}: {message.get('message', '')}"[:300],
                                        provider=PROVIDER, permanent=message.get("error") in _PERMANENT)
                if message.get("audio"):
                    pcm = aligner.feed(base64.b64decode(message["audio"]))
                    if pcm:
                        yield pcm
                if message.get("isFinal"):
                    return
        finally:
            # Normal end, error, or the caller barged in and the generator was closed: either way this socket's
            # generation is over (or abandoned) — closing it stops the server from synthesising further.
            await _close(ws)

    async def close(self) -> None:
        self._closed = True
        spare, self._spare = self._spare, None
        if spare is None:
            return
        if not spare.done():
            spare.cancel()
            await asyncio.wait({spare})
        if not spare.cancelled() and spare.exception() is None:
            await spare.result().close()

    # ------------------------------------------------------------------ sockets

    async def _take(self) -> ClientConnection:
        if self._closed:
            raise ProviderError("synthesize() after close()", provider=PROVIDER)
        spare, self._spare = self._spare, None
        ws = None
        if spare is not None:
            try:
                ws = (await spare).claim()
            except ProviderError as exc:
                if exc.permanent:
                    raise
        if ws is None:
            ws = (await self._open()).claim()
            if ws is None:
                raise ProviderError("socket closed right after opening", provider=PROVIDER)
        self._spare = asyncio.get_running_loop().create_task(self._open())
        self._spare.add_done_callback(_retrieve)
        return ws

    async def _open(self) -> _Spare:
        try:
            ws = await connect(
                self.url,
                additional_headers={"xi-api-key": self.api_key},
                open_timeout=self.connect_timeout_s,
                close_timeout=1.0,
                max_size=2**23,
            )
        except websockets.exceptions.InvalidStatus as exc:
            status = exc.response.status_code
            raise ProviderError(f"handshake refused: HTTP {status}", provider=PROVIDER,
                                permanent=status in (401, 403, 404)) from exc
        except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as exc:
            raise ProviderError(f"cannot connect: {exc!r}", provider=PROVIDER) from exc
        try:
            await ws.send(json.dumps(self.init_message))
        except websockets.exceptions.ConnectionClosed as exc:
            raise ProviderError(f"closed during setup: {exc}", provider=PROVIDER) from exc
        return _Spare(ws, self.keepalive_s)

    async def _receive(self, ws: ClientConnection) -> dict | None:
        try:
            raw = await asyncio.wait_for(ws.recv(), self.recv_timeout_s)
        except TimeoutError as exc:
            raise ProviderError(f"no audio for {self.recv_timeout_s} s", provider=PROVIDER) from exc
        except websockets.exceptions.ConnectionClosed as exc:
            raise ProviderError(f"socket closed before the final audio ({exc})", provider=PROVIDER) from exc
        try:
            message = json.loads(raw)
        except ValueError:
            log.warning("elevenlabs: skipped a malformed frame")
            return None
        return message if isinstance(message, dict) else None


_PERMANENT = {"invalid_api_key", "unauthorized", "voice_not_found", "quota_exceeded"}


async def _close(ws: ClientConnection) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(ws.close(), 1.0)


def _done_task(value) -> asyncio.Future:
    future = asyncio.get_running_loop().create_future()
    future.set_result(value)
    return future


def _retrieve(task: asyncio.Task) -> None:
    # A spare that failed to open is reported when a sentence claims it; mark the exception as seen meanwhile.
    if not task.cancelled():
        task.exception()

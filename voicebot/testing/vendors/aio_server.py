"""`FakeServer`: an aiohttp application on 127.0.0.1 with an ephemeral port, started in the running event loop.

The vendor fakes subclass it and add routes. aiohttp serves plain HTTP, chunked/SSE streaming and WebSockets from
one port, which is how the vendors do it (one host for REST and sockets), so one base URL configures a client.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from aiohttp import web


class FakeServer:
    """Start with `await fake.start()` (or `async with fake:`); `fake.url` is the http:// base URL."""

    def __init__(self) -> None:
        self.app = web.Application()
        self._runner: web.AppRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self._tasks: set[asyncio.Task] = set()
        self.port = 0
        self.routes(self.app.router)

    def routes(self, router: web.UrlDispatcher) -> None:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def start(self) -> FakeServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))  # 0 (any free port) unless a subclass or caller set one
        self.port = sock.getsockname()[1]
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        return self

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(code=1001), 0.5)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeServer:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    # helpers for subclasses

    def spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def accept(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.add(ws)
        return ws

    def forget(self, ws: web.WebSocketResponse) -> None:
        self._sockets.discard(ws)

    @staticmethod
    def abort(request: web.Request) -> None:
        """Drop the TCP connection without a close frame or a final chunk: what a network failure looks like."""
        if request.transport is not None:
            request.transport.abort()

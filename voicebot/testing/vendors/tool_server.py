"""A customer's HTTP tool endpoint: checks voicebot's signature and answers with scripted JSON.

    tools = FakeToolServer(secret="s3cret", result={"status": "shipped"}, delay_s=0.0)
    await tools.start()      # POST tools.url + "/tool"
    tools.calls              # [(arguments dict, signature ok?)]
"""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from calls.providers.llm.tools import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature

from .aio_server import FakeServer


class FakeToolServer(FakeServer):
    def __init__(self, *, secret: str, result: dict | str | None = None, delay_s: float = 0.0,
                 status: int = 200) -> None:
        self.secret = secret
        self.result = {"ok": True} if result is None else result
        self.delay_s = delay_s
        self.status = status
        self.calls: list[tuple[dict, bool]] = []
        self.requests: list[dict] = []  # {"method", "query", "headers"} of every request
        super().__init__()

    @property
    def endpoint(self) -> str:
        return self.url + "/tool"

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/tool", self._tool)
        router.add_get("/tool", self._tool)  # GET tools: the arguments in the query string, which is signed

    async def _tool(self, request: web.Request) -> web.Response:
        self.requests.append({"method": request.method, "query": dict(request.query),
                              "headers": dict(request.headers)})
        body = await request.read() if request.method != "GET" else request.query_string.encode()
        signed = verify_signature(self.secret, request.headers.get(TIMESTAMP_HEADER, ""), body,
                                  request.headers.get(SIGNATURE_HEADER, ""))
        self.calls.append((json.loads(body) if request.method != "GET" else dict(request.query), signed))
        if not signed:
            return web.json_response({"error": "bad signature"}, status=401)
        await asyncio.sleep(self.delay_s)
        if isinstance(self.result, str):
            return web.Response(text=self.result, status=self.status)
        return web.json_response(self.result, status=self.status)

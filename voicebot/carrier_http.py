"""Django for the carriers' signed webhooks (`/twilio/...`, `/telnyx/...`), without the browser middleware.

Carriers are machines posting signed forms: they carry no session, need no CSRF token, login, messages or
frame options. Under ASGI every classic (sync) Django middleware costs two thread hops per request, and a
request's first hop also starts and joins a thread: with the seven the dashboard needs, that was most of a voice
webhook's CPU (about 5 ms of 7 ms per call on this 2-core machine; docs/benchmarks.md). These paths are served by
the same URLconf and views through a handler whose middleware chain is empty; everything else keeps the full one.
"""

from __future__ import annotations

import time

from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.exception import convert_exception_to_response

from calls.telemetry.metrics import WEBHOOK_LATENCY

CARRIER_PREFIXES = ("/twilio/", "/telnyx/")


class CarrierWebhookHandler(ASGIHandler):
    async def __call__(self, scope, receive, send):
        # Without ASGIHandler's per-request ThreadSensitiveContext, which starts and joins a thread for every
        # request: the views are async and do their database work on the DB thread, so the only sync code left
        # (the request_started/finished signal receivers) is tiny and may share asgiref's one sync thread.
        if scope["type"] != "http":
            raise ValueError(f"carrier webhooks are HTTP, not {scope['type']}")
        await self.handle(scope, receive, send)

    def load_middleware(self, is_async: bool = False) -> None:
        # BaseHandler.load_middleware with MIDDLEWARE = [] (no view, template-response or exception middleware).
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        # What the chain keeps of CommonMiddleware: a Content-Length, so the answer is not chunked.
        if is_async:
            async def get_response(request):
                return _with_length(await self._get_response_async(request))
        else:
            def get_response(request):
                return _with_length(self._get_response(request))
        self._middleware_chain = convert_exception_to_response(get_response)


def _with_length(response):
    if not response.streaming and not response.has_header("Content-Length"):
        response.headers["Content-Length"] = str(len(response.content))
    return response


def route_http(django_app, carrier_app=None):
    """An ASGI app sending carrier webhook paths to `carrier_app`, everything else to `django_app`."""
    carrier_app = carrier_app or CarrierWebhookHandler()

    async def app(scope, receive, send):
        path = scope["path"]
        if path.startswith(CARRIER_PREFIXES):
            started = time.perf_counter()
            try:
                return await carrier_app(scope, receive, send)
            finally:
                WEBHOOK_LATENCY.labels(path.split("/", 2)[1]).observe(time.perf_counter() - started)
        return await django_app(scope, receive, send)

    return app

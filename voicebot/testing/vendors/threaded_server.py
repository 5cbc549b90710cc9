"""`ThreadedServer`: a REST fake on 127.0.0.1 (ephemeral port) served by http.server threads, answering JSON.

For the carrier REST fakes, not the aiohttp `FakeServer`: the real SDKs call them synchronously (from the test's
own thread, daphne, the Celery worker), so they must serve without the test's event loop.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ThreadedServer:
    """Subclasses answer `post(path, headers, raw body)` with (status, JSON body), or None for 404.

    Start with `start()` / `with fake:`; `origin` is the http:// URL of the port."""

    def __init__(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answer = fake.post(self.path, dict(self.headers), raw)
                if answer is None:
                    self.send_error(404)
                    return
                status, body = answer
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def post(self, path: str, headers: dict, raw: bytes) -> tuple[int, dict] | None:
        raise NotImplementedError

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

"""`FakeTelnyx`: a tiny Telnyx REST API on 127.0.0.1 that records every request (the real SDK talks to it).

A plain threaded http.server, not the aiohttp `FakeServer`: the webhook views call the SDK synchronously from the
test's own thread, so the fake must serve without the test's event loop.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict
    body: dict = field(default_factory=dict)


class FakeTelnyx:
    """Start with `with FakeTelnyx() as fake:`; point the SDK at `fake.base_url`; read `fake.requests`."""

    def __init__(self, status: int = 200) -> None:
        self.requests: list[Recorded] = []
        self.status = status  # what every command answers (set 422 to play a refused command)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fake.requests.append(Recorded("POST", unquote(self.path), dict(self.headers),
                                              json.loads(raw) if raw else {}))
                if fake.status >= 400:
                    body = {"errors": [{"code": "90018", "title": "Call has already ended"}]}
                else:
                    body = {"data": {"result": "ok"}}
                data = json.dumps(body).encode()
                self.send_response(fake.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v2"

    def __enter__(self) -> FakeTelnyx:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def commands(self) -> list[tuple[str, str, dict]]:
        """(call_control_id, action, body) for each /calls/{id}/actions/{action} request."""
        out = []
        for r in self.requests:
            parts = r.path.split("/")
            if len(parts) >= 6 and parts[2] == "calls" and parts[4] == "actions":
                out.append((parts[3], parts[5], r.body))
        return out

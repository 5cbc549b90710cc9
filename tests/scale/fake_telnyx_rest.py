"""`FakeTelnyxRest`: Telnyx Call Control REST on 127.0.0.1 for the real `telnyx` SDK — records every command and
answers a dial with a call_control_id (tests/fakes/fake_telnyx answers every command alike, which a dial cannot use)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeTelnyxRest:
    def __init__(self, call_control_id: str = "v3:dialled-call") -> None:
        self.requests: list[tuple[str, dict]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fake.requests.append((self.path, json.loads(raw) if raw else {}))
                if self.path.rstrip("/").endswith("/calls"):
                    body = {"data": {"call_control_id": call_control_id, "call_leg_id": "leg", "call_session_id": "s",
                                     "is_alive": False, "record_type": "call"}}
                else:
                    body = {"data": {"result": "ok"}}
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v2"

    def actions(self) -> list[tuple[str, dict]]:
        """(action, body) for each /calls/{id}/actions/{action} request."""
        return [(path.rsplit("/", 1)[-1], body) for path, body in self.requests if "/actions/" in path]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

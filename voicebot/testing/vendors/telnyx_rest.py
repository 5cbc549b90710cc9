"""`FakeTelnyx`: Telnyx Call Control REST on 127.0.0.1 for the real `telnyx` SDK; records every request.

A dial (`POST /v2/calls`) is answered with `call_control_id`; every call command (`/calls/{id}/actions/{action}`)
with `{"data": {"result": "ok"}}`, or, given `status` >= 400, every request with that status and a Telnyx error
(a refused command: the call has already ended).

    with FakeTelnyx() as fake:           # or fake = FakeTelnyx().start() ... fake.stop()
        settings.TELNYX_BASE_URL = fake.base_url
        ...
        fake.commands()                   # [(call_control_id, action, body)]
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import unquote

from .threaded_server import ThreadedServer


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict
    body: dict = field(default_factory=dict)


class FakeTelnyx(ThreadedServer):
    def __init__(self, status: int = 200, call_control_id: str = "v3:dialled-call") -> None:
        super().__init__()
        self.requests: list[Recorded] = []
        self.status = status  # what every request answers (set 422 to play a refused command)
        self.call_control_id = call_control_id  # what a dial answers

    @property
    def base_url(self) -> str:
        return self.origin + "/v2"

    def post(self, path: str, headers: dict, raw: bytes) -> tuple[int, dict]:
        path = unquote(path)
        self.requests.append(Recorded("POST", path, headers, json.loads(raw) if raw else {}))
        if self.status >= 400:
            return self.status, {"errors": [{"code": "90018", "title": "Call has already ended"}]}
        if path.rstrip("/").endswith("/calls"):
            return self.status, {"data": {"call_control_id": self.call_control_id, "call_leg_id": "leg",
                                          "call_session_id": "s", "is_alive": False, "record_type": "call"}}
        return self.status, {"data": {"result": "ok"}}

    def bodies(self) -> list[tuple[str, dict]]:
        """(path, body) for each request."""
        return [(r.path, r.body) for r in self.requests]

    def commands(self) -> list[tuple[str, str, dict]]:
        """(call_control_id, action, body) for each /calls/{id}/actions/{action} request."""
        out = []
        for r in self.requests:
            parts = r.path.split("/")
            if len(parts) >= 6 and parts[2] == "calls" and parts[4] == "actions":
                out.append((parts[3], parts[5], r.body))
        return out

    def actions(self) -> list[tuple[str, dict]]:
        """(action, body) for each call command."""
        return [(action, body) for _, action, body in self.commands()]

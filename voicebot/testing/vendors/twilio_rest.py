"""`FakeTwilio`: Twilio's REST API and its callbacks, on 127.0.0.1, for the real twilio-python SDK.

It plays the carrier's part where the tests need one: `calls.create` rings for `hold_s` and then, given an
`outcome`, posts a signed status callback (busy, no-answer or completed), counting how many calls are up at once;
`calls(sid).update(twiml=<Connect><Stream>)` — a stream resume — hands the new stream's URL and token to the test
(`reconnects`); `update(status=completed)` is a REST hang-up. A `ThreadedServer`: the SDK calls come from other
processes (daphne, the Celery worker) and from the test's own threads.
"""

from __future__ import annotations

import queue
import secrets
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import httpx
from twilio.request_validator import RequestValidator

from .threaded_server import ThreadedServer

ACCOUNT_SID = "AC" + "5" * 32


@dataclass
class Dialled:
    sid: str
    to: str
    from_: str
    url: str
    status_callback: str
    machine_detection: str
    at: float = field(default_factory=time.monotonic)


@dataclass
class Reconnect:
    call_sid: str
    stream_url: str
    params: dict


class FakeTwilio(ThreadedServer):
    def __init__(self, auth_token: str, outcome: Callable[[Dialled, int], str] | None = None,
                 hold_s: float = 1.0) -> None:
        super().__init__()
        self.auth_token = auth_token
        self.outcome = outcome  # None: dialled calls just ring (nobody reports their end)
        self.hold_s = hold_s
        self.local_base = ""  # where callbacks really go (the public URL's host is not resolvable here)
        self.dialled: list[Dialled] = []
        self.updates: list[tuple[str, dict]] = []
        self.reconnects: queue.Queue[Reconnect] = queue.Queue()
        self.active = 0
        self.max_active = 0
        self.callback_errors: list[str] = []
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return self.origin

    def post(self, path: str, headers: dict, raw: bytes) -> tuple[int, dict] | None:
        form = {k: v if len(v) > 1 else v[0] for k, v in parse_qs(raw.decode()).items()}
        parts = path.split("?")[0].rstrip("/").split("/")
        if parts[-1] == "Calls.json":
            return 201, self._create(form)
        if len(parts) >= 2 and parts[-2] == "Calls":
            return 200, self._update(parts[-1].removesuffix(".json"), form)
        return None

    # ------------------------------------------------------------------ REST

    def _resource(self, sid: str, to: str = "", from_: str = "", status: str = "queued") -> dict:
        return {"sid": sid, "account_sid": ACCOUNT_SID, "to": to, "from": from_, "status": status,
                "direction": "outbound-api", "api_version": "2010-04-01",
                "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{sid}.json"}

    def _create(self, form: dict) -> dict:
        dialled = Dialled(sid="CA" + secrets.token_hex(16), to=form["To"], from_=form["From"], url=form.get("Url", ""),
                          status_callback=form.get("StatusCallback", ""),
                          machine_detection=form.get("MachineDetection", ""))
        with self._lock:
            attempt = sum(1 for d in self.dialled if d.to == dialled.to) + 1
            self.dialled.append(dialled)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        if self.outcome is not None:
            threading.Thread(target=self._ring, args=(dialled, attempt), daemon=True).start()
        return self._resource(dialled.sid, dialled.to, dialled.from_)

    def _update(self, sid: str, form: dict) -> dict:
        self.updates.append((sid, form))
        twiml = form.get("Twiml", "")
        if "<Stream" in twiml:
            stream = ET.fromstring(twiml).find("./Connect/Stream")
            params = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
            self.reconnects.put(Reconnect(sid, stream.get("url", ""), params))
        return self._resource(sid, status="in-progress")

    # ------------------------------------------------------------------ the carrier's side of a dialled call

    def _ring(self, dialled: Dialled, attempt: int) -> None:
        time.sleep(self.hold_s)
        status = self.outcome(dialled, attempt)
        with self._lock:
            self.active -= 1  # before the callback: from here on the call is over for the carrier
        self.callback(dialled.status_callback, {
            "CallSid": dialled.sid, "AccountSid": ACCOUNT_SID, "To": dialled.to, "From": dialled.from_,
            "Direction": "outbound-api", "CallStatus": status, "CallDuration": "1" if status == "completed" else "0",
        })

    def callback(self, public_url: str, params: dict) -> None:
        """POST a callback signed for the public URL (what Twilio signs) to our local server."""
        signature = RequestValidator(self.auth_token).compute_signature(public_url, params)
        parts = urlsplit(public_url)
        local = f"{self.local_base}{parts.path}" + (f"?{parts.query}" if parts.query else "")
        try:
            response = httpx.post(local, data=params, headers={"X-Twilio-Signature": signature}, timeout=10)
            if response.status_code >= 300:
                self.callback_errors.append(f"{local}: HTTP {response.status_code}")
        except httpx.HTTPError as exc:
            self.callback_errors.append(f"{local}: {exc!r}")

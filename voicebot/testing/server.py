"""A real voicebot server (daphne on loopback) in a subprocess, with its own database and secrets (tests, bench)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]  # the project root (manage.py)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(base_url: str, timeout_s: float = 1.0, warm: bool = True) -> bool:
    """The server answers /healthz with 200 (and, with `warm`, says it has warmed up)."""
    try:
        resp = httpx.get(base_url + "/healthz", timeout=timeout_s)
        return resp.status_code == 200 and (not warm or bool(resp.json().get("warm")))
    except httpx.HTTPError:
        return False


def wait_started(ready: Callable[[], bool], procs: list[subprocess.Popen], log: Path, what: str, *,
                 timeout_s: float, every_s: float = 0.2) -> None:
    """Until `ready()`; RuntimeError with the log's tail if a process exits first or `timeout_s` passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ready():
            return
        if any(p.poll() is not None for p in procs):
            break
        time.sleep(every_s)
    raise RuntimeError(f"{what} did not start:\n{log.read_text()[-3000:]}")


class Server:
    def __init__(self, tmp: Path, extra_env: dict | None = None, seed_demo: bool = True) -> None:
        self.seed_demo = seed_demo  # the demo agent and number (`seed_demo`); off for tests that make their own
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "TELNYX_", "DATABASE_URL", "REDIS_URL"))},
            "DJANGO_SETTINGS_MODULE": "voicebot.settings",
            "VOICEBOT_VAR_DIR": str(tmp / "var"),
            "SQLITE_PATH": str(tmp / "db.sqlite3"),
            "PORT": str(self.port),
            "PUBLIC_BASE_URL": self.base_url,
            "HF_HUB_OFFLINE": "1",
            **(extra_env or {}),
        }
        self.log = tmp / "server.log"
        self.proc: subprocess.Popen | None = None

    def manage(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True,
                              text=True, timeout=timeout)

    def start(self) -> None:
        steps = [("migrate", "--noinput", "-v", "0")] + ([("seed_demo", "--no-user")] if self.seed_demo else [])
        for cmd in steps:
            done = self.manage(*cmd)
            assert done.returncode == 0, done.stderr
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "voicebot.asgi:application"],
            cwd=ROOT, env=self.env, stdout=self.log.open("w"), stderr=subprocess.STDOUT,
        )
        wait_started(lambda: healthy(self.base_url), [self.proc], self.log, "server", timeout_s=90)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def simulate(self, *args: str, timeout: float = 150) -> dict:
        done = self.manage("simulate_call", "--base-url", self.base_url, "--json", *args, timeout=timeout)
        assert done.returncode == 0, f"{done.stderr}\n--- server log ---\n{self.log.read_text()[-3000:]}"
        return json.loads(done.stdout)

    def export(self, call_id: str) -> dict:
        done = self.manage("export_call", call_id)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

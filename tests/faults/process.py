"""Real processes for the process-level faults: daphne serving voicebot on a copy of the test database, a Redis of
our own on a free port, and a simulated Twilio caller (voicebot.testing.carrier) talking to them over real sockets."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
from django.db import connection

from voicebot.testing.server import ROOT, Server, free_port

TWILIO_TOKEN = "faults-suite-twilio-token"


def copy_test_database(path: Path) -> None:
    """The migrated test database, with the rows the test created, as a SQLite file a server process can open."""
    name = str(connection.settings_dict["NAME"])
    # Only from inside a test (the test database in effect), never from the developer's database.
    assert connection.vendor == "sqlite" and ("mode=memory" in name or Path(name).name.startswith("test")), name
    source = sqlite3.connect(name, uri=name.startswith("file:"))
    target = sqlite3.connect(path)
    with target:
        source.backup(target)
    source.close()
    target.close()


def turns_in(db_path: Path, carrier_call_id: str) -> list[tuple[int, str, str, bool]]:
    with sqlite3.connect(db_path) as db:  # opening it replays the WAL the killed process left behind
        return db.execute(
            'SELECT t."index", t.role, t.text, t.interrupted FROM calls_turn t JOIN calls_call c ON c.id = t.call_id '
            'WHERE c.carrier_call_id = ? ORDER BY t."index"', (carrier_call_id,)).fetchall()


async def when(condition, limit_s: float = 30.0) -> None:
    """Until `condition()` holds (checked every 20 ms); AssertionError after `limit_s`."""
    for _ in range(int(limit_s / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out waiting")


class Daphne(Server):
    """`voicebot.testing.server.Server` on a prepared database: no migrate, no seed, no warm-up."""

    def __init__(self, tmp: Path, extra_env: dict) -> None:
        super().__init__(tmp, {"VOICEBOT_WARM_UP": "0", "TWILIO_AUTH_TOKEN": TWILIO_TOKEN, **extra_env})
        self.db_path = Path(self.env["SQLITE_PATH"])

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "voicebot.asgi:application"],
            cwd=ROOT, env=self.env, stdout=self.log.open("w"), stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if httpx.get(self.base_url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"daphne did not start:\n{self.log.read_text()[-3000:]}")

    def healthz(self) -> dict:
        return httpx.get(self.base_url + "/healthz", timeout=5).json()

    async def ahealthz(self) -> dict:
        async with httpx.AsyncClient(timeout=5) as client:
            return (await client.get(self.base_url + "/healthz")).json()


class Redis:
    """redis-server on a free port, no persistence, in the foreground (so it dies with a SIGKILL we send)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--daemonize", "no"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, 9)
            self.proc.wait(5)

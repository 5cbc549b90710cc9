"""A production-shaped stack on one machine: two daphne processes and a Celery worker sharing PostgreSQL and Redis.

Each test run gets a fresh PostgreSQL database and an empty Redis database number (both dropped/flushed at the
end), one SECRET_KEY and one set of (fake) Twilio credentials for every process, and a public URL that is the
"load balancer's" — as in production, where a token issued by one process must open a stream on another.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import redis

from voicebot.testing.server import ROOT, Server
from voicebot.testing.vendors.twilio_rest import ACCOUNT_SID, FakeTwilio

from .receiver import WebhookReceiver

PG = "postgres://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379"
PUBLIC_BASE_URL = "https://voicebot.test"


def services_problem() -> str | None:
    """Why the stack cannot run here, or None."""
    try:
        psycopg.connect(f"{PG}/postgres", connect_timeout=2).close()
    except psycopg.Error as exc:
        return f"PostgreSQL is not reachable at {PG}: {exc}"
    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return f"Redis is not reachable at {REDIS}: {exc}"
    return None


def _claim_redis_db() -> int:
    """An empty Redis database number, claimed with a marker key so a parallel run picks another."""
    for n in range(15, 0, -1):
        client = redis.Redis.from_url(f"{REDIS}/{n}")
        if client.dbsize() == 0 and client.set("voicebot-scale-claim", os.getpid(), nx=True, ex=3600):
            return n
    raise RuntimeError("no empty Redis database number (1-15) to run the scale tests in")


class ServeOnly(Server):
    """A daphne process on a database someone else migrated and seeded (the stack does it once, for all)."""

    def __init__(self, tmp: Path, extra_env: dict) -> None:
        tmp.mkdir(parents=True, exist_ok=True)
        super().__init__(tmp, extra_env)

    def manage(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        if args and args[0] in ("migrate", "seed_demo"):
            return subprocess.CompletedProcess(args, 0, "", "")
        return super().manage(*args, timeout=timeout)


class Stack:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.db_name = f"voicebot_scale_{os.getpid()}_{secrets.token_hex(3)}"
        self.redis_db = _claim_redis_db()
        self.redis_url = f"{REDIS}/{self.redis_db}"
        self.database_url = f"{PG}/{self.db_name}"
        self.auth_token = secrets.token_urlsafe(24)
        self.twilio = FakeTwilio(self.auth_token, outcome=self._campaign_outcome).start()
        self.receiver = WebhookReceiver().start()
        self.media_root = tmp / "media"
        self.env = {
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "SECRET_KEY": secrets.token_urlsafe(32),
            "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": self.auth_token,
            "TWILIO_BASE_URL": self.twilio.base_url,
            "MEDIA_ROOT": str(self.media_root),
            "WEBHOOK_RETRY_BASE_S": "0.5",
            "WEBHOOK_MAX_ATTEMPTS": "4",
        }
        self.a = ServeOnly(tmp / "a", self.env)
        self.b = ServeOnly(tmp / "b", self.env)
        self.worker: subprocess.Popen | None = None
        self.worker_log = tmp / "worker.log"
        self.ids: dict = {}
        self.busy_once: set[str] = set()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        self.ids = self._seed()  # migrates the fresh database too
        self.twilio.local_base = self.a.base_url
        with ThreadPoolExecutor(3) as pool:
            for started in [pool.submit(self.a.start), pool.submit(self.b.start), pool.submit(self._start_worker)]:
                started.result()

    def stop(self) -> None:
        running = [p for p in (self.a.proc, self.b.proc, self.worker) if p is not None and p.poll() is None]
        for proc in running:  # all at once: each takes a few seconds to shut down
            proc.terminate()
        for server in (self.a, self.b):
            server.stop()
        if self.worker is not None and self.worker.poll() is None:
            try:
                self.worker.wait(10)
            except subprocess.TimeoutExpired:
                self.worker.kill()
        self.twilio.stop()
        self.receiver.stop()
        redis.Redis.from_url(self.redis_url).flushdb()
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')

    def _env(self, log_dir: Path) -> dict:
        # The Server's own environment (its VAR_DIR etc.) plus ours.
        return {**self.a.env, "VOICEBOT_VAR_DIR": str(log_dir / "var")}

    def _start_worker(self) -> None:
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "voicebot", "worker", "--pool=solo", "--loglevel=info",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"scale-{os.getpid()}@%h"],
            cwd=ROOT, env=self._env(self.tmp), stdout=self.worker_log.open("w"), stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if "ready." in self.worker_log.read_text():
                return
            if self.worker.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(f"celery worker did not start:\n{self.worker_log.read_text()[-3000:]}")

    def _seed(self) -> dict:
        done = subprocess.run([sys.executable, "-m", "tests.scale.seed", json.dumps({"hook": self.receiver.url})],
                              cwd=ROOT, env=self._env(self.tmp), capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    def _campaign_outcome(self, dialled, attempt: int) -> str:
        return "busy" if dialled.to in self.busy_once and attempt == 1 else "completed"

    # ------------------------------------------------------------------ helpers for the tests

    def sql(self, query: str, *params) -> list[tuple]:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            return conn.execute(query, params).fetchall()

    def send_task(self, name: str, *args) -> None:
        """Queue a task for the worker, as any process of the stack would."""
        from celery import Celery

        app = Celery(broker=self.redis_url)
        try:
            app.send_task(name, args=list(args))
        finally:
            app.close()

    def wait_for(self, what: str, check, timeout: float = 30.0, every: float = 0.25):
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}\n--- worker log ---\n"
                                     f"{self.worker_log.read_text()[-3000:]}")
            time.sleep(every)

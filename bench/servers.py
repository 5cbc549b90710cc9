"""Servers under test, each in its own processes with its own SQLite database and secrets, on 127.0.0.1 only.

`VoicebotServer(kind="daphne", workers=2)` is the set-up the bench measures: N server processes (daphne, or
uvicorn for comparison) serving one port. The parent opens one listening socket per worker, each with
SO_REUSEPORT on the same port, and hands each worker its own socket (`daphne --fd N` / `uvicorn --fd N`); the
kernel spreads new connections over the sockets by a hash of the 4-tuple, so no worker accepts for another and
each process holds its own calls (admission counts per process). Agents use the synthetic providers
(bench/synthetic.py), enabled in these processes only by VOICEBOT_SYNTHETIC_PROVIDERS=1.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path


from voicebot.testing.server import ROOT, Server, free_port, healthy, wait_started

PROVIDER_NUMBER = "+15550100001"  # synthetic agent, STT endpointing (as Deepgram speech_final)
LOCAL_NUMBER = "+15550100002"  # synthetic agent, our VAD decides the end of turn

_AGENT_SETUP = """
from calls.models import Agent, PhoneNumber, Workspace
ws = Workspace.objects.get(slug="demo")
cfg = {cfg!r}
for name, number, endpointing in (("Synthetic provider EOT", {provider!r}, "provider"),
                                  ("Synthetic local EOT", {local!r}, "local")):
    agent, _ = Agent.objects.update_or_create(workspace=ws, name=name, defaults=dict(
        greeting="Hello, thanks for calling.", stt_provider="synthetic", llm_provider="synthetic",
        tts_provider="synthetic", silence_timeout_s=60, max_duration_s=600,
        end_of_turn_silence_ms=cfg["end_of_turn_silence_ms"], barge_in_min_ms=cfg["barge_in_min_ms"],
        provider_options={{"stt": {{"endpointing": endpointing}}}}))
    for carrier in ("twilio", "telnyx"):
        PhoneNumber.objects.update_or_create(e164=number, carrier=carrier, defaults=dict(workspace=ws, agent=agent))
print("ok")
"""


def stop_processes(procs: list[subprocess.Popen], socks: list[socket.socket] = (), timeout_s: float = 15) -> None:
    """Terminate all at once (each takes a moment to shut down), kill what outlives `timeout_s`, close `socks`."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout_s)
        except subprocess.TimeoutExpired:
            p.kill()
    for s in socks:
        s.close()


def procfile_command(name: str) -> str:
    """The command of one Procfile process type (e.g. "web")."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        kind, _, command = line.partition(":")
        if kind.strip() == name:
            return command.strip()
    raise KeyError(f"no {name!r} process in the Procfile")


def reuseport_sockets(n: int, port: int = 0) -> tuple[int, list[socket.socket]]:
    """`n` listening sockets on one 127.0.0.1 port, each with SO_REUSEPORT (the kernel balances between them)."""
    socks: list[socket.socket] = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind(("127.0.0.1", port))
        port = s.getsockname()[1]
        s.listen(2048)
        s.set_inheritable(True)
        socks.append(s)
    return port, socks


PG = "postgres://postgres@127.0.0.1:5432"
BENCH_REDIS_DB = 14  # a Redis database of the bench's own, flushed before and after each server


class VoicebotServer(Server):
    """voicebot in `workers` processes of `kind`: "procfile" (the Procfile's `web` command: uvicorn --workers),
    or "daphne" / "uvicorn" processes behind SO_REUSEPORT sockets.

    `backing="embedded"` is `make run`'s: SQLite, the in-memory channel layer, Celery eager (post-call work in the
    web process). `backing="production"` is the README's production set-up: a fresh PostgreSQL database, Redis
    (channel layer, cache, Celery broker) and the Procfile's Celery `worker`; their CPU is sampled apart
    (`backing_pids`), since they share the two cores with the web workers.
    """

    def __init__(self, tmp: Path, kind: str = "daphne", workers: int = 1, extra_env: dict | None = None,
                 end_of_turn_silence_ms: int = 200, barge_in_min_ms: int = 200, backing: str = "embedded") -> None:
        env = {"VOICEBOT_SYNTHETIC_PROVIDERS": "1", "VOICEBOT_WARM_UP": "0", "LOG_LEVEL": "WARNING",
               "DJANGO_SETTINGS_MODULE": "bench.server_settings", **(extra_env or {})}
        self.backing = backing
        self.db_name = ""
        if backing == "production":
            self.db_name = f"voicebot_bench_{os.getpid()}_{secrets.token_hex(3)}"
            env.update({"DATABASE_URL": f"{PG}/{self.db_name}", "REDIS_URL": f"redis://127.0.0.1:6379/{BENCH_REDIS_DB}"})
        elif backing != "embedded":
            raise ValueError(f"unknown backing {backing!r}")
        super().__init__(tmp, env)
        self.worker: subprocess.Popen | None = None
        self.kind, self.workers = kind, workers
        self.agent_cfg = {"end_of_turn_silence_ms": end_of_turn_silence_ms, "barge_in_min_ms": barge_in_min_ms}
        self.procs: list[subprocess.Popen] = []
        self._socks: list[socket.socket] = []
        self.tmp = tmp

    @property
    def auth_token(self) -> str:
        return (self.tmp / "var" / "local_twilio_auth_token").read_text().strip()

    def start(self) -> None:
        if self.kind == "procfile":
            self._socks = []
            port = free_port()
        else:
            port, self._socks = reuseport_sockets(self.workers)
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.env.update({"PORT": str(port), "PUBLIC_BASE_URL": self.base_url})
        if self.backing == "production":
            self._backing_up()
        for cmd in (("migrate", "--noinput", "-v", "0"), ("seed_demo", "--no-user")):
            done = self.manage(*cmd)
            assert done.returncode == 0, done.stderr
        code = _AGENT_SETUP.format(cfg=self.agent_cfg, provider=PROVIDER_NUMBER, local=LOCAL_NUMBER)
        done = self.manage("shell", "-c", code)
        assert done.returncode == 0 and "ok" in done.stdout, done.stderr
        log = self.log.open("w")
        procfile_env = {**self.env, "WEB_CONCURRENCY": str(self.workers), "HOST": "127.0.0.1",
                        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
        if self.backing == "production":
            self.worker = subprocess.Popen(["bash", "-c", "exec " + procfile_command("worker")], cwd=ROOT,
                                           env=procfile_env, stdout=(self.tmp / "worker.log").open("w"),
                                           stderr=subprocess.STDOUT)
        if self.kind == "procfile":
            # Exactly the production command the README documents: the Procfile's `web` line, run by a shell.
            self.procs.append(subprocess.Popen(["bash", "-c", "exec " + procfile_command("web")], cwd=ROOT,
                                               env=procfile_env, stdout=log, stderr=subprocess.STDOUT))
        for sock in self._socks:
            fd = sock.fileno()
            if self.kind == "daphne":
                cmd = [sys.executable, "-m", "daphne", "--fd", str(fd), "voicebot.asgi:application"]
            elif self.kind == "uvicorn":
                cmd = [sys.executable, "-m", "uvicorn", "--fd", str(fd), "--loop", "uvloop", "--ws", "websockets-sansio",
                       "--lifespan", "off", "--no-access-log", "--log-level", "warning", "voicebot.asgi:application"]
            else:
                raise ValueError(f"unknown server kind {self.kind!r}")
            self.procs.append(subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                               pass_fds=(fd,)))
        self.proc = self.procs[0]
        try:
            # Several answers in a row, so that (behind SO_REUSEPORT) every worker has most likely answered one.
            wait_started(lambda: all(healthy(self.base_url, timeout_s=2) for _ in range(self.workers * 3)),
                         self.procs, self.log, self.kind, timeout_s=90, every_s=0.3)
        except RuntimeError:
            self.stop()
            raise

    @property
    def pids(self) -> list[int]:
        """The serving processes: with the Procfile's uvicorn, its workers (children of the supervisor)."""
        if self.kind != "procfile":
            return [p.pid for p in self.procs]
        import psutil

        return [c.pid for c in psutil.Process(self.procs[0].pid).children(recursive=True)
                if "multiprocessing.resource_tracker" not in " ".join(c.cmdline())] or [self.procs[0].pid]

    @property
    def backing_pids(self) -> list[int]:
        """PostgreSQL, Redis and the Celery worker (with its pool), when the backing is "production"."""
        if self.backing != "production":
            return []
        import psutil

        pids = []
        if self.worker is not None and self.worker.poll() is None:
            pids.append(self.worker.pid)
            pids += [c.pid for c in psutil.Process(self.worker.pid).children(recursive=True)]
        for p in psutil.process_iter(["name"]):
            if p.info["name"] in ("postgres", "redis-server"):
                pids.append(p.pid)
        return pids

    def _backing_up(self) -> None:
        import psycopg
        import redis

        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        redis.Redis.from_url(self.env["REDIS_URL"]).flushdb()

    def _backing_down(self) -> None:
        import psycopg
        import redis

        if self.worker is not None:
            stop_processes([self.worker])
        redis.Redis.from_url(self.env["REDIS_URL"]).flushdb()
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')

    def stop(self) -> None:
        stop_processes(self.procs, self._socks)
        self._socks = []
        if self.backing == "production" and self.db_name:
            self._backing_down()
            self.db_name = ""

    def _connect_db(self):
        if self.backing == "production":
            import psycopg

            return psycopg.connect(self.env["DATABASE_URL"])
        import sqlite3

        return sqlite3.connect(f"file:{self.tmp / 'db.sqlite3'}?mode=ro", uri=True, timeout=30)

    def stored_turns(self) -> list[dict]:
        """Server-side TurnMetrics of every agent turn (read straight from this server's database)."""
        con = self._connect_db()
        try:
            rows = con.execute(
                "SELECT c.carrier_call_id, c.to_number, m.endpoint_ms, m.stt_final_ms, m.end_to_end_ms, m.stt_ms,"
                " m.brain_ms, m.tts_ms FROM calls_turnmetrics m JOIN calls_turn t ON t.id = m.turn_id"
                " JOIN calls_call c ON c.id = t.call_id").fetchall()
            calls = con.execute("SELECT status, count(*) FROM calls_call GROUP BY status").fetchall()
            events = con.execute("SELECT kind, count(*) FROM calls_callevent GROUP BY kind").fetchall()
            errors = [r[0] for r in con.execute(
                "SELECT detail FROM calls_callevent WHERE kind IN ('error', 'provider_failure') LIMIT 3")]
        finally:
            con.close()
        keys = ("call_id", "to", "endpoint_ms", "stt_final_ms", "end_to_end_ms", "stt_ms", "brain_ms", "tts_ms")
        self.db_counts = {"calls": dict(calls), "events": dict(events), "error_samples": errors}
        return [dict(zip(keys, r)) for r in rows]

    def stored_events(self, kinds: tuple[str, ...]) -> list[tuple[str, str]]:
        """(carrier call id, kind) of every stored CallEvent of those kinds."""
        con = self._connect_db()
        try:
            marks = ", ".join("?" if self.backing != "production" else "%s" for _ in kinds)
            return [tuple(r) for r in con.execute(
                "SELECT c.carrier_call_id, e.kind FROM calls_callevent e JOIN calls_call c ON c.id = e.call_id"
                f" WHERE e.kind IN ({marks})", kinds).fetchall()]
        finally:
            con.close()


class PipecatServer:
    """bench/pipecat_bot.py (uvicorn + FastAPI + Pipecat) in its own venv, in `workers` processes."""

    def __init__(self, tmp: Path, python: Path, workers: int = 1) -> None:
        self.tmp, self.python, self.workers = tmp, python, workers
        self.procs: list[subprocess.Popen] = []
        self.log = tmp / "pipecat.log"
        self.auth_token = "pipecat-bench-token"
        self._socks: list[socket.socket] = []

    def start(self) -> None:
        port, self._socks = reuseport_sockets(self.workers)
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "DJANGO_", "VIRTUAL_ENV"))}
        env.update({"PIPECAT_BENCH_PUBLIC_URL": self.base_url, "PIPECAT_BENCH_AUTH_TOKEN": self.auth_token,
                    "HF_HUB_OFFLINE": "1", "PIPECAT_NO_TELEMETRY": "1", "DO_NOT_TRACK": "1",
                    "PYTHONPATH": ""})
        log = self.log.open("w")
        for sock in self._socks:
            fd = sock.fileno()
            cmd = [str(self.python), str(ROOT / "bench" / "pipecat_bot.py"), "--fd", str(fd)]
            self.procs.append(subprocess.Popen(cmd, cwd=self.tmp, env=env, stdout=log, stderr=subprocess.STDOUT,
                                               pass_fds=(fd,)))
        try:
            wait_started(lambda: healthy(self.base_url, timeout_s=2, warm=False), self.procs, self.log, "pipecat bot",
                         timeout_s=120, every_s=0.3)
        except RuntimeError:
            self.stop()
            raise

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def stop(self) -> None:
        stop_processes(self.procs, self._socks)

    def stored_turns(self) -> list[dict]:
        return []

    def stored_events(self, kinds: tuple[str, ...]) -> list[tuple[str, str]]:
        return []

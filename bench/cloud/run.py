"""Cloud-style scenarios, run: what voicebot adds to a turn, barge-in, capacity, admission, webhook, and Pipecat.

Every scenario starts its own servers (bench/servers.py: own database and secrets, 127.0.0.1 only), drives them
with load-generator processes (bench/loadgen.py) and returns its figures; `python -m bench` stores them as
`docs/benchmarks/<name>.json` and writes their tables (render.py) and the side-by-side chart (chart.py).

The measured set-up ("main"): daphne, `workers` processes behind SO_REUSEPORT (one per core), TTS_CHUNK_MS as
given (see `MAIN`), synthetic providers with fixed 100/200/150 ms latencies (bench/synthetic.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..load import BUDGET_MS, Sampler, failed, run_level
from ..report import ROOT, machine, summary
from ..servers import LOCAL_NUMBER, PROVIDER_NUMBER, PipecatServer, VoicebotServer
from .levels import P99_LIMIT_MS, collapsed, run_levels

PIPECAT_PY = ROOT / "bench" / ".venv-pipecat" / "bin" / "python"
OVERHEAD_LEVELS = [1, 10, 50, 100, 150]


@dataclass
class Config:
    kind: str = "daphne"
    workers: int = 2
    chunk_ms: int = 100
    max_calls_per_process: int = 100000  # admission off while measuring capacity
    label: str = ""
    backing: str = "production"  # PostgreSQL + Redis + Celery worker; "embedded": make run's SQLite, in-memory, eager

    def name(self) -> str:
        return self.label or f"{self.kind} x{self.workers}, {self.chunk_ms} ms chunks"

    def env(self) -> dict:
        return {"TTS_CHUNK_MS": str(self.chunk_ms), "MAX_CONCURRENT_CALLS": str(self.max_calls_per_process)}


MAIN = Config("procfile", 2, 100, label="uvicorn --workers 2 (the Procfile's web; PostgreSQL, Redis, Celery worker), 100 ms chunks")
ALT = Config("daphne", 2, 100, label="daphne x2 (SO_REUSEPORT; PostgreSQL, Redis, Celery worker), 100 ms chunks")


@dataclass
class Context:
    max_calls: int = 300
    loadgens: int = 1
    log: callable = print
    speech: list = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)


def turns_for(n: int) -> int:
    return 6 if n == 1 else 5 if n <= 10 else 3


def _start(cfg: Config, tmp: Path, ctx: Context | None = None) -> VoicebotServer:
    server = VoicebotServer(tmp, kind=cfg.kind, workers=cfg.workers, extra_env=cfg.env(), backing=cfg.backing)
    server.start()
    if ctx is not None:
        warm(ctx, server, min(4 * cfg.workers, cfg.max_calls_per_process))
    return server


def warm(ctx: Context, server, calls: int, number: str = PROVIDER_NUMBER) -> None:
    """A few short calls first (not reported), so every worker has imported and built what a call needs once —
    as a production server has long done — before anything is measured."""
    run_level(server, calls, number, turns=1, barge_every=0, stagger_s=0.5, speech=ctx.speech)


def _level(ctx: Context, server, n: int, number: str = PROVIDER_NUMBER, **kw) -> dict:
    t = time.monotonic()
    level = run_level(server, n, number, turns=kw.pop("turns", turns_for(n)), loadgens=ctx.loadgens,
                      speech=ctx.speech, log=ctx.log, **kw)
    level.pop("raw_calls", None)
    level["why_failed"] = failed(level, P99_LIMIT_MS)
    o, b = level["overhead"], level["barge_clear"]
    ctx.log(f"    {n:>4} calls: overhead p50 {o['p50']} p95 {o['p95']} p99 {o['p99']} ms (n={o['n']}); "
            f"clear p50 {b['p50']} p95 {b['p95']}; cpu {level['server_cpu_pct']}% "
            f"(+{level.get('backing_cpu_pct')}% pg/redis/celery), "
            f"{level['server_rss_mb_per_call']} MB/call; loadgen cpu {level['loadgen_cpu_pct']}%; "
            f"{level['why_failed'] or 'ok'} [{time.monotonic() - t:.0f}s]")
    return level


def ramp(ctx: Context, server, levels: list[int], *, stop_on_fail: bool, number: str = PROVIDER_NUMBER) -> list[dict]:
    """Levels in order; stops after a failed level (`stop_on_fail`) or, always, after a collapsed one (the levels
    above it are recorded as not run)."""
    out = []
    for i, n in enumerate(levels):
        if n > ctx.max_calls:
            break
        level = _level(ctx, server, n, number)
        out.append(level)
        if stop_on_fail and level["why_failed"]:
            break
        if collapsed(level):
            skipped = [m for m in levels[i + 1:] if m <= ctx.max_calls]
            if skipped:
                ctx.log(f"    collapsed at {n} calls: {skipped} not run")
                out.append({"calls": skipped, "not_run": f"collapsed at {n} calls"})
            break
    return out


def _cap_levels(start: int, ctx: Context, step: int = 50) -> list[int]:
    return list(range(start, ctx.max_calls + 1, step))


# ---------------------------------------------------------------------------------------------- scenarios


def overhead(ctx: Context, with_capacity: bool = False) -> dict:
    """Main config: overhead ramp 1..150 (barge-in turns included); local endpointing at 1 and the top level;
    with `with_capacity`, the ramp goes on by 50 until a level fails."""
    data: dict = {"machine": machine(), "config": asdict(MAIN), "budget_ms": BUDGET_MS}
    for cfg, key in ((MAIN, "levels"), (ALT, "alt_levels")):
        with tempfile.TemporaryDirectory() as tmp:
            server = _start(cfg, Path(tmp), ctx)
            try:
                ctx.log(f"  {cfg.name()}: provider endpointing")
                levels = ramp(ctx, server, OVERHEAD_LEVELS, stop_on_fail=False)
                last = run_levels(levels)[-1] if run_levels(levels) else None
                if with_capacity and last is not None and last is levels[-1] and not last["why_failed"]:
                    levels += ramp(ctx, server, _cap_levels(last["calls"] + 50, ctx), stop_on_fail=True)
                data[key] = levels
                if cfg is MAIN:
                    # At 1 call and at the targets' 150 (or the highest level below it that held).
                    ok = [lv["calls"] for lv in run_levels(levels) if not lv["why_failed"] and lv["calls"] <= 150]
                    local = sorted({1, max(ok)} if ok else {1})
                    ctx.log(f"  {cfg.name()}: local endpointing (our VAD, end_of_turn_silence_ms=200)")
                    data["local"] = [_level(ctx, server, n, LOCAL_NUMBER) for n in local]
            finally:
                server.stop()
    data["alt_config"] = asdict(ALT)
    return data


def capacity_configs(ctx: Context) -> dict:
    """The same ramp on other set-ups: the README's single daphne, uvicorn, and 20 ms chunks."""
    configs = [Config("daphne", 1, 100, label="daphne x1 (README's make run: SQLite, in-memory, eager), 100 ms chunks",
                      backing="embedded"),
               Config(MAIN.kind, MAIN.workers, 20, label="uvicorn --workers 2 (the Procfile's web; PostgreSQL, Redis, "
                                                         "Celery worker), 20 ms chunks (make run's TTS_CHUNK_MS)")]
    out = {}
    for cfg in configs:
        ctx.log(f"  {cfg.name()}")
        with tempfile.TemporaryDirectory() as tmp:
            server = _start(cfg, Path(tmp), ctx)
            try:
                start = 25 if cfg.workers == 1 else 50
                out[cfg.name()] = {"config": asdict(cfg),
                                   "levels": ramp(ctx, server, _cap_levels(start, ctx, step=start), stop_on_fail=True)}
            finally:
                server.stop()
    return out


def admission(ctx: Context, per_process: int = 50) -> dict:
    """Twice the configured capacity offered at once: admitted calls keep their latency, the rest are refused."""
    cfg = Config(MAIN.kind, MAIN.workers, MAIN.chunk_ms, max_calls_per_process=per_process, backing=MAIN.backing)
    capacity = per_process * cfg.workers
    with tempfile.TemporaryDirectory() as tmp:
        server = _start(cfg, Path(tmp), ctx)
        try:
            ctx.log(f"  limit {per_process}/process x {cfg.workers} = {capacity}; offering {2 * capacity} calls")
            level = _level(ctx, server, 2 * capacity, turns=3)
            counts = getattr(server, "db_counts", {})
        finally:
            server.stop()
    return {"config": asdict(cfg), "capacity": capacity, "offered": 2 * capacity, "level": level, "db": counts}


def webhook(ctx: Context, rates: tuple[int, ...] = (50, 200), seconds: float = 8.0) -> dict:
    cfg = Config(MAIN.kind, MAIN.workers, MAIN.chunk_ms, backing=MAIN.backing)
    out = {"config": asdict(cfg), "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        server = _start(cfg, Path(tmp), ctx)
        try:
            for rate in rates:
                spec = {"base_url": server.base_url, "auth_token": server.auth_token, "number": PROVIDER_NUMBER,
                        "rate": rate, "seconds": seconds}
                spec_path, out_path = Path(tmp) / "wspec.json", Path(tmp) / "wout.json"
                spec_path.write_text(json.dumps(spec))
                sampler = Sampler(server.pids)
                sampler.start()
                t0 = time.monotonic()
                done = subprocess.run([sys.executable, "-m", "bench.webhook", str(spec_path), str(out_path)],
                                      cwd=ROOT, capture_output=True, text=True, timeout=seconds * 4 + 90)
                sampler.stop()
                if done.returncode != 0:
                    raise RuntimeError(done.stderr[-2000:])
                res = json.loads(out_path.read_text())
                lat = res.pop("latencies_ms")
                res["latency_ms"] = summary(lat)
                res["server_cpu_pct"] = sampler.window(t0 + 1, time.monotonic() - 1)["cpu_pct"]
                out["runs"].append(res)
                ctx.log(f"    {rate} req/s offered: {res['achieved_rps']} done/s, p50 {res['latency_ms']['p50']} "
                        f"p99 {res['latency_ms']['p99']} ms, statuses {res['statuses']}, errors {res['errors']}, "
                        f"unanswered {res['unanswered']} {res.get('error_kinds') or ''}, "
                        f"server cpu {res['server_cpu_pct']}%, client cpu {res['client_cpu_pct']}%")
        finally:
            server.stop()
    return out


def pipecat(ctx: Context, workers: int = 1) -> dict:
    if not PIPECAT_PY.exists():
        raise RuntimeError(f"{PIPECAT_PY} missing: `make bench` creates it (bench/requirements-pipecat.txt)")
    data: dict = {"machine": machine(), "workers": workers}
    with tempfile.TemporaryDirectory() as tmp:
        server = PipecatServer(Path(tmp), PIPECAT_PY, workers=workers)
        server.start()
        try:
            warm(ctx, server, 4 * workers, number="+15550100000")
            ctx.log(f"  pipecat-ai 1.14 bot x{workers} (uvicorn + uvloop)")
            levels = ramp(ctx, server, [1, 5, 10], stop_on_fail=False)
            if not levels[-1]["why_failed"]:
                levels += ramp(ctx, server, [20, 30, 50, 75, 100, 150], stop_on_fail=True)
            data["levels"] = levels
        finally:
            server.stop()
    return data

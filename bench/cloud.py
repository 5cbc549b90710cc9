"""Cloud-style scenarios: what voicebot adds to a turn, barge-in, capacity, admission, webhook, and Pipecat beside it.

Every scenario starts its own servers (bench/servers.py: own SQLite database and secrets, 127.0.0.1 only), drives
them with load-generator processes (bench/loadgen.py) and writes, per scenario, `docs/benchmarks/<name>.json` (raw
figures), `docs/benchmarks/<name>.md` (its table) and its section of `docs/benchmarks.md`; the side-by-side section
also draws `docs/benchmarks/cloud.png`.

The measured set-up ("main"): daphne, `workers` processes behind SO_REUSEPORT (one per core), TTS_CHUNK_MS as
given (see `MAIN`), synthetic providers with fixed 100/200/150 ms latencies (bench/synthetic.py).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .load import BUDGET_MS, failed, run_level
from .report import RAW, ROOT, machine, summary, write_raw, write_section
from .servers import LOCAL_NUMBER, PROVIDER_NUMBER, PipecatServer, VoicebotServer

PIPECAT_PY = ROOT / "bench" / ".venv-pipecat" / "bin" / "python"
OVERHEAD_LEVELS = [1, 10, 50, 100, 150]
P99_LIMIT_MS = 300.0


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
COLLAPSED_P99_MS = 5000.0  # a level this far gone says all there is to say about the ones above it


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


def collapsed(level: dict) -> bool:
    p99 = level["overhead"]["p99"]
    turns = level["overhead"]["n"] + level["lost_turns"]
    return p99 is None or p99 > COLLAPSED_P99_MS or level["lost_turns"] > 0.25 * max(1, turns)


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


def run_levels(levels: list[dict]) -> list[dict]:
    return [lv for lv in levels if "not_run" not in lv]


def capacity_of(levels: list[dict]) -> dict:
    """The largest level that passed (and the reason the next one failed)."""
    best, why = None, ""
    for level in levels:
        if "not_run" in level:
            break
        if level["why_failed"]:
            why = f"{level['calls']} calls: {level['why_failed']}"
            break
        best = level
    return {"max_calls": best["calls"] if best else 0, "at_max": best, "next_failed": why}


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
    import subprocess

    cfg = Config(MAIN.kind, MAIN.workers, MAIN.chunk_ms, backing=MAIN.backing)
    out = {"config": asdict(cfg), "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        server = _start(cfg, Path(tmp), ctx)
        try:
            from .load import Sampler

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


# ---------------------------------------------------------------------------------------------- reporting


def _f(v, nd: int = 0) -> str:
    if v is None:
        return "–"
    return f"{v:.{nd}f}" if isinstance(v, (int, float)) else str(v)


def _ratio(a, b) -> str:
    return "–" if a in (None, 0) or b is None else f"{b / a:.1f}×"


def load_raw(name: str) -> dict | None:
    path = RAW / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def save(name: str, data: dict, markdown: str) -> None:
    write_raw(name, data)
    (RAW / f"{name}.md").write_text(markdown.strip() + "\n")
    write_section(name, markdown)


def _overhead_rows(levels: list[dict]) -> str:
    rows = []
    for lv in levels:
        if "not_run" in lv:
            rows.append(f"| {', '.join(map(str, lv['calls']))} | not run: {lv['not_run']} | | | | | | | | | |")
            continue
        o = lv["overhead"]
        rows.append(f"| {lv['calls']} | {_f(o['p50'])} | {_f(o['p95'])} | {_f(o['p99'])} | {o['n']} | "
                    f"{lv['lost_turns']} / {lv['underruns']} ({lv.get('late_ticks', '–')}) | {_f(lv['server_cpu_pct'])} | "
                    f"{_f(lv.get('backing_cpu_pct'))} | {_f(lv['server_rss_mb_per_call'], 2)} | {_f(lv['loadgen_cpu_pct'])} | "
                    f"{_f(lv['loadgen_lag_ms'][0]['p99'], 1)} |")
    return "\n".join(rows)


OVERHEAD_HEAD = ("| concurrent calls | overhead p50 ms | p95 | p99 | turns | lost turns / underruns (late ticks) | server CPU % "
                 "(both workers; 200 = both cores) | PostgreSQL + Redis + Celery CPU % | RSS MB per call | load-gen CPU % | "
                 "load-gen lag p99 ms |\n"
                 "|---|---|---|---|---|---|---|---|---|---|---|")


def overhead_markdown(data: dict, command: str) -> str:
    # How far the last frame our VAD calls voiced lies before the caller's true last voiced frame: with STT
    # endpointing the end of turn comes at true end + 100 ms, so its endpoint_ms − 100 measures that gap.
    first = run_levels(data["levels"])[0] if run_levels(data["levels"]) else None
    delta = None if first is None or first["server_stages_p50"]["endpoint_ms"] is None else \
        round(first["server_stages_p50"]["endpoint_ms"] - 100, 1)
    local = []
    for lv in data.get("local", []):
        st50, st95 = lv["server_stages_p50"], lv["server_stages_p95"]
        o, lat = lv["overhead"], lv["latency"]
        true50 = None if delta is None or st50["endpoint_ms"] is None else st50["endpoint_ms"] + delta
        local.append(f"| {lv['calls']} | {_f(st50['endpoint_ms'])} | {_f(st95['endpoint_ms'])} | {_f(true50)} | "
                     f"{_f(lat['p50'])} | {_f(lat['p99'])} | {_f(o['p50'])} | {_f(o['p99'])} | {o['n']} |")
    one = run_levels(data["levels"])[0]["server_stages_p50"] if run_levels(data["levels"]) else {}
    return f"""## Overhead: what voicebot adds to a cloud-style turn

`{command}`. Machine: {data['machine']}. Set-up: {data['config']['label']}; synthetic providers with
fixed latencies (STT final 100 ms after the caller's true last voiced frame, LLM first text 200 ms, TTS first
audio 150 ms: 450 ms in all). **Overhead = turn latency − 450 ms**, turn latency = the simulated carrier's last
voiced frame sent → first reply frame received (both on this machine, over loopback). Normal turns only
(barge-in turns are in their own section). Calls run in a separate load-generator process; its own CPU and
event-loop lag are shown because a loaded load generator inflates what it measures.

{data['config']['label']}:

{OVERHEAD_HEAD}
{_overhead_rows(data['levels'])}

{data.get('alt_config', {}).get('label', '')}:

{OVERHEAD_HEAD}
{_overhead_rows(data.get('alt_levels', []))}

At 1 call the server's own stages (TurnMetrics, p50): endpoint {_f(one.get('endpoint_ms'))} ms after the last
frame our VAD called voiced (STT endpointing at true end + 100 ms), STT final {_f(one.get('stt_final_ms'))},
LLM first text {_f(one.get('brain_ms'))} after its request, TTS first audio {_f(one.get('tts_ms'))},
first reply frame sent {_f(one.get('end_to_end_ms'))} ms after that last voiced frame.

**Local endpointing** (our VAD decides the end of turn, `end_of_turn_silence_ms=200`, as Pipecat's stop_secs; the
STT final then comes 100 ms after our request, as a Deepgram Finalize). VAD stop = TurnMetrics `endpoint_ms`, from
the last frame our VAD called voiced (for this trimmed speech that frame is the caller's last voiced frame or up to
one frame earlier, so it is an upper bound of the stop time from the true end):

| concurrent calls | VAD stop p50 ms (endpoint_ms) | VAD stop p95 | VAD stop from the true last voiced frame, p50 (+{_f(delta)} ms) | turn latency p50 ms | turn p99 | turn − 450 p50 | turn − 450 p99 | turns |
|---|---|---|---|---|---|---|---|---|
{chr(10).join(local)}

Turn − 450 here holds the VAD stop and whatever of the STT's 100 ms the speculative request (sent at 100 ms of
silence, shared with the real one as a Deepgram Finalize is) did not already cover, on top of the overhead.
"""


def _minus(a, b):
    return None if a is None or b is None else round(a - b, 1)


def bargein_markdown(data: dict, command: str) -> str:
    rows = []
    for lv in run_levels(data["levels"]):
        b = lv["barge_clear"]
        rows.append(f"| {lv['calls']} | {_f(b['p50'])} | {_f(b['p95'])} | {b['n']} | {lv['barge_missing_clear']} | "
                    f"{lv['frames_after_clear']} |")
    return f"""## Barge-in

`{command}` (the same calls as the overhead ramp: every third caller turn talks over the agent's reply, 700 ms
into it). Onset = the first voiced frame of the interrupting speech sent; `clear` = the carrier received it.
`barge_in_min_ms=200` (voiced speech needed before we interrupt). Frames after clear = reply audio received after
the `clear`, before the caller stopped talking (must be 0).

| concurrent calls | onset → clear p50 ms | p95 | barge-ins | no clear | reply frames after clear |
|---|---|---|---|---|---|
{chr(10).join(rows)}
"""


def capacity_markdown(main: dict, others: dict, command: str) -> str:
    rows = []
    all_cfgs = {main["config"]["label"]: main["levels"], **{k: v["levels"] for k, v in others.items()}}
    if main.get("alt_levels"):
        all_cfgs[main["alt_config"]["label"]] = main["alt_levels"]
    for name, levels in all_cfgs.items():
        cap = capacity_of(levels)
        at = cap["at_max"] or {}
        est = cpu_estimate(levels)
        rows.append(f"| {name} | **{cap['max_calls']}** | {_f(at.get('overhead', {}).get('p99'))} | "
                    f"{_f(at.get('server_cpu_pct'))} | {_f(at.get('backing_cpu_pct'))} | "
                    f"{_f(at.get('server_cpu_pct_per_call'), 2)} | "
                    f"{_f(at.get('server_rss_mb_per_call'), 2)} | {_f(at.get('loadgen_cpu_pct'))} | "
                    f"{cap['next_failed'] or 'not reached within --max-calls'} | {_f(est['per_call'], 2)} | "
                    f"{_f(est['calls'])} |")
    return f"""## Capacity

`{command}`. Ramp (by 50) until the overhead p99 passes {P99_LIMIT_MS:.0f} ms, a turn gets no reply, a reply's
audio runs dry mid-way for at least one 20 ms frame slot (underrun: a lost frame), or a call fails. CPU and RSS are the server processes' (psutil, sampled every
0.25 s over the window in which all calls were live; RSS per call = (peak − idle) / calls). The load generator
runs in its own process on the same 2 cores, so it competes with the server: its CPU is shown.

| set-up | max calls | overhead p99 at max | server CPU % | PostgreSQL + Redis + Celery CPU % | CPU % per call | RSS MB per call | load-gen CPU % | next level failed because | server CPU % per call (median, levels ≥ 10 not collapsed) | CPU-bound estimate: calls on 2 dedicated cores |
|---|---|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

The last two columns take the machine's other tenants out of the figure: the CPU a call costs the server
(CPU-seconds per call-second, which the noise barely moves) and how many calls two cores would carry at that cost
with nothing else on them (200 / cost) — the load generator excluded, which here costs about
{_f(loadgen_per_call(main['levels']), 2)} % of a core per call itself.
"""


def cpu_estimate(levels: list[dict]) -> dict:
    costs = sorted(lv["server_cpu_pct_per_call"] for lv in run_levels(levels)
                   if lv["calls"] >= 10 and not collapsed(lv) and lv["server_cpu_pct_per_call"])
    if not costs:
        return {"per_call": None, "calls": None}
    per_call = costs[len(costs) // 2]
    return {"per_call": per_call, "calls": round(200 / per_call)}


def loadgen_per_call(levels: list[dict]) -> float | None:
    costs = sorted(lv["loadgen_cpu_pct"] / lv["calls"] for lv in run_levels(levels)
                   if lv["calls"] >= 10 and lv["loadgen_cpu_pct"])
    return costs[len(costs) // 2] if costs else None


def admission_markdown(data: dict, command: str) -> str:
    lv = data["level"]
    o = lv["overhead"]
    return f"""## Admission control

`{command}`: `MAX_CONCURRENT_CALLS={data['config']['max_calls_per_process']}` per process ×
{data['config']['workers']} processes = {data['capacity']} calls; {data['offered']} calls offered at once.

| offered | admitted | refused at webhook (overflow TwiML) | refused at media socket (1013) | admitted overhead p50 / p99 ms | lost turns / underruns |
|---|---|---|---|---|---|
| {data['offered']} | {lv['admitted']} | {lv['refused_webhook']} | {lv['refused_media']} | {_f(o['p50'])} / {_f(o['p99'])} | {lv['lost_turns']} / {lv['underruns']} |

Stored by the servers (including the warm-up calls): calls by status {data['db'].get('calls', {})}; events
{data['db'].get('events', {})}; first errors: {data['db'].get('error_samples', [])}.
"""


def webhook_markdown(data: dict, command: str) -> str:
    rows = [f"| {r['offered_rps']} | {r['achieved_rps']} | {_f(r['latency_ms']['p50'], 1)} | "
            f"{_f(r['latency_ms']['p99'], 1)} | {r['statuses']} | {r['errors']} + {r.get('unanswered', 0)} | "
            f"{_f(r['server_cpu_pct'])} | {_f(r['client_cpu_pct'])} |" for r in data["runs"]]
    return f"""## Voice webhook

`{command}`: signed Twilio `/twilio/voice` requests, each a new call (signature check, number lookup, admission,
Call row, stream token), sent open-loop at a fixed rate over keep-alive connections from a separate uvloop process,
against {data['config']['kind']} ×{data['config']['workers']} (SQLite, this machine).

| offered req/s | answered req/s | p50 ms | p99 ms | statuses | errors + unanswered within 10 s | server CPU % | client CPU % |
|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}
"""


def side_by_side_markdown(ours: dict, bargein_src: dict, pc: dict, cap_ours: dict | None, command: str) -> str:
    by_n = {lv["calls"]: lv for lv in run_levels(ours["levels"])}
    rows = []
    for lv in run_levels(pc["levels"]):
        mine = by_n.get(lv["calls"])
        if mine is None:
            near = [k for k in by_n if k >= lv["calls"]]
            mine = by_n.get(min(near)) if near else None
        o, p = (mine or {}).get("overhead", {}), lv["overhead"]
        rows.append(f"| {lv['calls']} | {_f(p.get('p50'))} / {_f(p.get('p99'))} | "
                    f"{_f(o.get('p50'))} / {_f(o.get('p99'))}" + (f" (at {mine['calls']})" if mine and mine['calls'] != lv['calls'] else "")
                    + f" | {_ratio(o.get('p50'), p.get('p50'))} / {_ratio(o.get('p99'), p.get('p99'))} | "
                    f"{_f(lv['barge_clear']['p50'])} / {_f(lv['barge_clear']['p95'])} | {lv['frames_after_clear']} | "
                    f"{_f(lv['server_rss_mb_per_call'], 1)} | {_f(lv['server_cpu_pct_per_call'], 1)} | "
                    f"{lv['why_failed'] or 'ok'} |")
    pcap = capacity_of(pc["levels"])
    ocap = cap_ours or capacity_of(ours["levels"])
    one_o = run_levels(ours["levels"])[0]
    one_p = run_levels(pc["levels"])[0]
    b_o = one_o["barge_clear"]
    at_o = ocap["at_max"] or {}
    at_p = pcap["at_max"] or {}
    return f"""## Side by side: Pipecat

`{command}`: the same callers, speech, script and synthetic latencies (100/200/150 ms) against a minimal
`pipecat-ai` 1.14 bot (bench/pipecat_bot.py, its own venv: FastAPI + uvicorn/uvloop, `TwilioFrameSerializer` with
auto hang-up off, default `SileroVADAnalyzer`, `SpeechTimeoutUserTurnStopStrategy(user_speech_timeout=0)` — its
fastest stock turn-taking; its 1.14 default, the Smart Turn v3 model, would add more), one process.

| concurrent calls | Pipecat overhead p50 / p99 ms | voicebot p50 / p99 | Pipecat ÷ voicebot | Pipecat onset → clear p50 / p95 | Pipecat frames after clear | Pipecat RSS MB/call | Pipecat CPU %/call | Pipecat level |
|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

| at 1 call | voicebot | Pipecat | ratio |
|---|---|---|---|
| overhead p50 ms | {_f(one_o['overhead']['p50'])} | {_f(one_p['overhead']['p50'])} | {_ratio(one_o['overhead']['p50'], one_p['overhead']['p50'])} |
| onset → clear p50 ms | {_f(b_o['p50'])} | {_f(one_p['barge_clear']['p50'])} | {_ratio(b_o['p50'], one_p['barge_clear']['p50'])} |
| greeting p50 ms (start → first audio) | {_f(one_o['greeting']['p50'])} | {_f(one_p['greeting']['p50'])} | {_ratio(one_o['greeting']['p50'], one_p['greeting']['p50'])} |
| capacity (calls, {P99_LIMIT_MS:.0f} ms p99 rule) | {ocap['max_calls']} ({ours['config']['label']}) | {pcap['max_calls']} (1 process) | {_ratio(pcap['max_calls'] or None, ocap['max_calls'])} |
| RSS MB per call at capacity | {_f(at_o.get('server_rss_mb_per_call'), 2)} | {_f(at_p.get('server_rss_mb_per_call'), 1)} | {_ratio(at_o.get('server_rss_mb_per_call'), at_p.get('server_rss_mb_per_call'))} |

![overhead p50/p99 by concurrent calls, voicebot and Pipecat](benchmarks/cloud.png)
"""


def chart(ours: dict, pc: dict | None, others: dict | None, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    series = [(f"voicebot {ours['config']['kind']}", run_levels(ours["levels"]), "tab:blue")]
    if ours.get("alt_levels"):
        series.append((f"voicebot {ours['alt_config']['kind']}", run_levels(ours["alt_levels"]), "tab:green"))
    if pc:
        series.append(("Pipecat 1.14", run_levels(pc["levels"]), "tab:red"))
    for name, levels, colour in series:
        xs = [lv["calls"] for lv in levels if lv["overhead"]["p50"] is not None]
        ax1.plot(xs, [max(1, lv["overhead"]["p50"]) for lv in levels if lv["overhead"]["p50"] is not None],
                 "o-", color=colour, label=f"{name} p50")
        ax1.plot(xs, [max(1, lv["overhead"]["p99"]) for lv in levels if lv["overhead"]["p50"] is not None],
                 "s--", color=colour, label=f"{name} p99")
    ax1.axhline(P99_LIMIT_MS, color="grey", lw=0.8, ls=":")
    ax1.set_yscale("log")
    ax1.set_xscale("log")
    ax1.set_xlabel("concurrent calls")
    ax1.set_ylabel("overhead ms (turn − 450 ms)")
    ax1.set_title("Turn overhead")
    ax1.legend(fontsize=8)
    cfgs = {ours["config"]["label"]: ours["levels"], **{k: v["levels"] for k, v in (others or {}).items()}}
    if ours.get("alt_levels"):
        cfgs[ours["alt_config"]["label"]] = ours["alt_levels"]
    if pc:
        cfgs["Pipecat 1.14 x1"] = pc["levels"]
    colours = iter(["tab:blue", "tab:green", "tab:orange", "tab:purple", "tab:brown", "tab:red"])
    for name, levels in cfgs.items():
        levels = run_levels(levels)
        pts = [(lv["calls"], lv["server_cpu_pct"]) for lv in levels if lv["server_cpu_pct"] is not None]
        colour = "tab:red" if name.startswith("Pipecat") else next(colours)
        if pts:
            ax2.plot(*zip(*pts), "o-", label=name, color=colour)
    ax2.set_xscale("log")
    ax2.set_xlabel("concurrent calls")
    ax2.set_ylabel("server CPU % (200 = both cores)")
    ax2.set_title("Server CPU")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def targets_markdown(ov: dict | None, cap: dict | None, pc: dict | None, wh: dict | None) -> str:
    rows = []

    def add(name, value, ok, target):
        rows.append(f"| {name} | {value} | {target} | {'met' if ok else '**missed**'} |")

    if ov:
        for lv in ov["levels"]:
            if "not_run" in lv and 150 in lv["calls"]:
                add("overhead at 150 calls, p50 / p99 ms", f"not run ({lv['not_run']})", False, "≤ 30 / ≤ 100")
            elif lv["calls"] in (1, 150):
                o = lv["overhead"]
                add(f"overhead at {lv['calls']} call(s), p50 / p99 ms", f"{_f(o['p50'])} / {_f(o['p99'])}",
                    o["p50"] is not None and o["p50"] <= 30 and o["p99"] is not None and o["p99"] <= 100,
                    "≤ 30 / ≤ 100")
        for lv in ov.get("local", []):
            st = lv["server_stages_p95"]["endpoint_ms"]
            add(f"local VAD end of turn at {lv['calls']} call(s), p95 ms", _f(st), st is not None and st <= 250, "≤ 250")
        bmax = max((lv["barge_clear"]["p95"] or 1e9 for lv in run_levels(ov["levels"]) if lv["barge_clear"]["n"]),
                   default=None)
        frames = sum(lv["frames_after_clear"] for lv in run_levels(ov["levels"]))
        add("barge-in onset → clear, worst p95 over levels, ms; frames after clear", f"{_f(bmax)}; {frames}",
            bmax is not None and bmax <= 250 and frames == 0, "≤ 250; 0")
    if cap:
        add("capacity (calls)", cap["max_calls"], cap["max_calls"] >= 150, "≥ 150")
        rss = (cap["at_max"] or {}).get("server_rss_mb_per_call")
        add("resident memory per call, MB", _f(rss, 2), rss is not None and rss <= 2, "≤ 2")
    if wh:
        r = next((r for r in wh["runs"] if r["offered_rps"] == 200), None)
        if r:
            p99 = r["latency_ms"]["p99"]
            add("webhook p99 at 200 req/s, ms", _f(p99, 1), p99 is not None and p99 <= 20 and r["errors"] == 0, "≤ 20")
    return "## Targets\n\n| measure | this run | target | |\n|---|---|---|---|\n" + "\n".join(rows) + "\n"

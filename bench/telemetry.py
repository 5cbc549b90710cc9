"""Tracing and metrics on vs off: what operability costs a call (`python -m bench --scenario telemetry`).

The same load — `calls` concurrent synthetic-provider calls (bench/synthetic.py) of 3 turns, every third turn a
barge-in — against uvicorn x2 (SO_REUSEPORT; PostgreSQL, Redis, Celery worker), alternately:

- off: no OTEL_* variables (no tracer is set up; the call code makes no span), metrics in each process's own
  registry and never scraped;
- on: OTLP/HTTP traces to a local collector (a span per call, turn and stage, batched and exported), metrics in
  prometheus_client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR, as the Procfile runs it) and /metrics scraped
  every 5 s as Prometheus would.

The metric counters themselves cannot be switched off (a few increments per turn); "off" is the closest there is.
Runs alternate (off, on, off, on, ...) so that the machine's drift hits both alike; medians over the runs.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from .cloud.run import Config, Context, _start
from .load import failed, run_level
from .report import machine
from .servers import PROVIDER_NUMBER

CONFIG = Config("uvicorn", 2, 100, label="uvicorn x2 (SO_REUSEPORT; PostgreSQL, Redis, Celery worker), 100 ms chunks")
METRICS_TOKEN = "bench-scrape-token"


@dataclass
class WithEnv(Config):
    extra: dict = field(default_factory=dict)  # the mode's environment, on top of the set-up's

    def env(self) -> dict:
        return {**super().env(), **self.extra}


class Collector:
    """An OTLP/HTTP trace receiver on 127.0.0.1: accepts every export, counts requests and bytes."""

    def __init__(self) -> None:
        self.requests = 0
        self.bytes = 0
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                collector.requests += 1
                collector.bytes += len(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Scraper(threading.Thread):
    """GET /metrics every `every_s` (Prometheus' job); counts the scrapes that answered 200."""

    def __init__(self, base_url: str, every_s: float = 5.0) -> None:
        super().__init__(daemon=True)
        self.base_url, self.every_s = base_url, every_s
        self.ok = self.failed = 0
        self._halt = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self._halt.wait(self.every_s):
                try:
                    r = client.get(self.base_url + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
                    self.ok += r.status_code == 200
                    self.failed += r.status_code != 200
                except httpx.HTTPError:
                    self.failed += 1

    def stop(self) -> None:
        self._halt.set()
        self.join(10)


def one_run(ctx: Context, mode: str, calls: int) -> dict:
    collector = Collector() if mode == "on" else None
    with tempfile.TemporaryDirectory() as tmp:
        env = {"METRICS_TOKEN": METRICS_TOKEN}
        if collector is not None:
            prom = Path(tmp) / "prometheus"
            prom.mkdir()
            env.update({"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, "OTEL_SERVICE_NAME": "voicebot-bench",
                        "PROMETHEUS_MULTIPROC_DIR": str(prom)})
        cfg = WithEnv(CONFIG.kind, CONFIG.workers, CONFIG.chunk_ms, label=CONFIG.label, backing=CONFIG.backing,
                      extra=env)
        server = _start(cfg, Path(tmp), ctx)
        scraper = Scraper(server.base_url) if mode == "on" else None
        try:
            if scraper is not None:
                scraper.start()
            level = run_level(server, calls, PROVIDER_NUMBER, turns=3, loadgens=ctx.loadgens, speech=ctx.speech,
                              log=ctx.log)
        finally:
            if scraper is not None:
                scraper.stop()
            server.stop()
            if collector is not None:
                time.sleep(0.5)
                collector.close()
    level.pop("raw_calls", None)
    level["mode"] = mode
    if collector is not None:
        level["otlp_requests"], level["otlp_kb"] = collector.requests, round(collector.bytes / 1024, 1)
    if scraper is not None:
        level["scrapes_ok"], level["scrapes_failed"] = scraper.ok, scraper.failed
    return level


def trace_cost(turns: int = 3000) -> dict:
    """What tracing itself costs a turn, measured alone (no other work in the process to blur it): the real
    `CallTelemetry` makes an answered turn's spans (a `turn` span and its five stages) under calls of 3 turns, and
    the SDK's batch processor exports them over OTLP/HTTP to a local collector. Process CPU, so the exporter's
    thread and the collector's reads count too (an overestimate). Beside it: the same turns with tracing off (the
    latency histograms only)."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from calls.pipeline.observers import TurnTimer
    from calls.recorder import TurnRecord
    from calls.telemetry import tracing
    from calls.telemetry.call import CallTelemetry

    def record() -> TurnRecord:
        t = time.monotonic()
        timer = TurnTimer(last_voiced=t - 0.8)
        for offset, mark in ((0.5, "endpoint"), (0.5, "stt_started"), (0.3, "stt_final"), (0.3, "brain_started"),
                             (0.1, "brain_first_text"), (0.1, "tts_started"), (0.02, "tts_first_audio"),
                             (0.0, "first_frame_sent")):
            setattr(timer, mark, t - offset)
        timer.llm = {"model": "gpt-4o-mini", "usage": {"prompt_tokens": 812, "completion_tokens": 24}}
        now = timezone_now()
        return TurnRecord(role="agent", text="Sure.", started_at=now, ended_at=now, metrics=timer.as_metrics(),
                          timer=timer)

    providers = {"stt": "deepgram", "brain": "openai", "tts": "elevenlabs"}

    def cpu_per_turn() -> float:
        calls = [CallTelemetry(f"CA{i:032x}", agent="Demo", carrier="twilio", providers=providers)
                 for i in range(turns // 3)]
        rec = record()
        started = time.process_time()
        for i in range(turns):
            calls[i // 3].turn(rec)
        for call in calls:
            call.end()
        if provider is not None:
            provider.force_flush()
        return (time.process_time() - started) / turns * 1e6

    provider = None
    off_us = cpu_per_turn()
    collector = Collector()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=collector.url + "/v1/traces"),
                                                   max_queue_size=turns * 8))
    tracing.use(provider)
    try:
        on_us = cpu_per_turn()
    finally:
        tracing.use(None)
        provider.shutdown()
        collector.close()
    return {"turns": turns, "traced_us_per_turn": round(on_us, 1), "untraced_us_per_turn": round(off_us, 1),
            "otlp_requests": collector.requests, "otlp_kb": round(collector.bytes / 1024, 1)}


def timezone_now():
    from django.utils import timezone

    return timezone.now()


def run(ctx: Context, calls: int = 60, repeats: int = 3, high_calls: int = 150, high_repeats: int = 2) -> dict:
    """`repeats` alternating off/on runs of `calls` calls (three: two runs of a mode differed by up to 22 % of a call's
    CPU on a quiet machine, so a median of two said little), then `high_repeats` alternating off/on pairs at
    `high_calls` (near what the set-up holds: docs/benchmarks.md, Capacity) to see whether telemetry moves the
    limit."""
    runs = []
    for i in range(repeats):
        for mode in ("off", "on"):
            ctx.log(f"  telemetry {mode} (run {i + 1}/{repeats}): {calls} calls")
            level = one_run(ctx, mode, calls)
            ctx.log(f"    server CPU {level['server_cpu_pct']} % ({level['server_cpu_pct_per_call']} %/call), overhead "
                    f"p50 {level['overhead']['p50']} p95 {level['overhead']['p95']} ms, lost {level['lost_turns']}")
            runs.append(level)
    ctx.log("  tracing's own cost per turn, measured alone:")
    cost = trace_cost()
    ctx.log(f"    {cost['traced_us_per_turn']} µs CPU per traced turn ({cost['untraced_us_per_turn']} µs untraced)")
    high = []
    for i in range(high_repeats if high_calls else 0):
        for mode in ("off", "on"):
            ctx.log(f"  telemetry {mode} near capacity (run {i + 1}/{high_repeats}): {high_calls} calls")
            load_before = round(os.getloadavg()[0], 2)
            level = one_run(ctx, mode, high_calls)
            level["past_capacity"] = failed(level)
            level["load_average"] = {"before": load_before, "after": round(os.getloadavg()[0], 2)}
            ctx.log(f"    server CPU {level['server_cpu_pct']} % ({level['server_cpu_pct_per_call']} %/call), overhead "
                    f"p50 {level['overhead']['p50']} p95 {level['overhead']['p95']} p99 {level['overhead']['p99']} ms, "
                    f"lost {level['lost_turns']}, {level['past_capacity'] or 'within capacity'}")
            high.append(level)
    return {"machine": machine(), "config": CONFIG.name(), "calls": calls, "runs": runs,
            "off": _combine([r for r in runs if r["mode"] == "off"]), "on": _combine([r for r in runs if r["mode"] == "on"]),
            "high_calls": high_calls, "high": high, "trace_cost": cost,
            "high_off": _combine([r for r in high if r["mode"] == "off"]),
            "high_on": _combine([r for r in high if r["mode"] == "on"])}


def _median(values: list) -> float | None:
    data = [v for v in values if v is not None]
    return round(statistics.median(data), 3) if data else None


def _combine(runs: list[dict]) -> dict:
    return {
        "server_cpu_pct": _median([r["server_cpu_pct"] for r in runs]),
        "server_cpu_pct_per_call": _median([r["server_cpu_pct_per_call"] for r in runs]),
        "overhead_p50": _median([r["overhead"]["p50"] for r in runs]),
        "overhead_p95": _median([r["overhead"]["p95"] for r in runs]),
        "rss_mb_per_call": _median([r["server_rss_mb_per_call"] for r in runs]),
        "lost_turns": sum(r["lost_turns"] for r in runs), "errors": sum(r["errors"] + r["timeouts"] for r in runs),
        "admitted": sum(r["admitted"] for r in runs),
        "otlp_requests": sum(r.get("otlp_requests", 0) for r in runs),
        "otlp_kb": round(sum(r.get("otlp_kb", 0) for r in runs), 1),
        "scrapes_ok": sum(r.get("scrapes_ok", 0) for r in runs),
    }


def markdown(data: dict, command: str) -> str:
    off, on = data["off"], data["on"]
    loads = data.get("load_average")

    def delta(a, b, pct=False):
        if a is None or b is None:
            return "—"
        return f"{(b - a) / a * 100:+.1f} %" if pct and a else f"{b - a:+.2f}"

    rows = [
        ("server CPU, % of a core (all workers)", off["server_cpu_pct"], on["server_cpu_pct"], True),
        ("server CPU per call, % of a core", off["server_cpu_pct_per_call"], on["server_cpu_pct_per_call"], True),
        ("overhead per turn p50, ms", off["overhead_p50"], on["overhead_p50"], False),
        ("overhead per turn p95, ms", off["overhead_p95"], on["overhead_p95"], False),
        ("server RSS per call, MB", off["rss_mb_per_call"], on["rss_mb_per_call"], False),
    ]
    table = "\n".join(f"| {name} | {a} | {b} | {delta(a, b, pct)} |" for name, a, b, pct in rows)
    per_run = "\n".join(
        f"| {r['mode']} | {r['admitted']} | {r['server_cpu_pct']} | {r['server_cpu_pct_per_call']} | "
        f"{r['overhead']['p50']} | {r['overhead']['p95']} | {r['lost_turns']} |" for r in data["runs"])
    per_call = {m: [r["server_cpu_pct_per_call"] for r in data["runs"] if r["mode"] == m] for m in ("off", "on")}
    spread = max(max(v) - min(v) for v in per_call.values() if v)
    change = on["server_cpu_pct_per_call"] - off["server_cpu_pct_per_call"]
    verdict = (f"On − off is {change:+.3f} % of a core per call ({change / off['server_cpu_pct_per_call'] * 100:+.1f} %), "
               f"while two runs of the same mode differ by up to {spread:.3f}: "
               + ("within the noise, and inside the 5 % goal." if abs(change) <= spread and change / off["server_cpu_pct_per_call"] <= 0.05
                  else "outside the noise of this run."))
    cost, trace_note = data.get("trace_cost"), ""
    if cost:
        # The turns a second of the runs (3 a call over the run's wall time), and what tracing's own work is then.
        rate = _median([r["admitted"] * 3 / r["wall_s"] for r in data["runs"] if r.get("wall_s")])
        added_us = cost["traced_us_per_turn"] - cost["untraced_us_per_turn"]
        share = added_us * rate / 1e4 if rate else None  # % of a core
        traced_per_call = share / data["calls"] if share is not None else None
        trace_note = (f"\n\nTracing's own work, measured alone (`trace_cost`: the real CallTelemetry making a turn's six "
                    f"spans, exported over OTLP/HTTP by the SDK's batch processor to a local collector, process CPU): "
                    f"{cost['traced_us_per_turn']} µs per turn against {cost['untraced_us_per_turn']} µs with tracing "
                    f"off (the latency histograms only), over {cost['turns']} turns.")
        if traced_per_call is not None:
            trace_note += (f" At these runs' {rate:.1f} turns a second that is {share:.2f} % of a core, "
                        f"{traced_per_call:.4f} % per call: {traced_per_call / off['server_cpu_pct_per_call'] * 100:.1f} % of "
                        f"the off runs' CPU per call.")
    load = (f" The machine's 1-minute load average during the run: min {loads['min']}, median {loads['median']}, "
            f"max {loads['max']} (2 cores, shared)." if loads else "")
    return f"""## Tracing and metrics: on vs off

`{command}` on {data['machine']}: {data['calls']} concurrent synthetic-provider calls of 3 turns (every third a
barge-in) against {data['config']}, runs alternating off/on, medians over {len(data['runs']) // 2} runs each (of
two runs, their mean).
**off**: no OTEL_* variables (no span is made), metrics never scraped. **on**: OTLP/HTTP export of every call's
spans to a local collector ({on['otlp_requests']} exports, {on['otlp_kb']} KB), prometheus_client multiprocess mode
and /metrics scraped every 5 s ({on['scrapes_ok']} scrapes).{load}

| | off | on | on − off |
|---|---|---|---|
{table}

{verdict} Lost turns: off {off['lost_turns']}, on {on['lost_turns']}; failed calls: off {off['errors']}, on
{on['errors']}.{trace_note}

The goal is "within noise, ≤ 5 % CPU per call" (bench/telemetry.py); the runs themselves show how large the noise is:

| mode | calls | server CPU % | % per call | overhead p50 ms | p95 ms | lost turns |
|---|---|---|---|---|---|---|
{per_run}
{_high_markdown(data)}"""


def _high_markdown(data: dict) -> str:
    high = data.get("high") or []
    if isinstance(high, dict):  # results saved before the near-capacity runs were repeated
        high = [{**r, "mode": mode} for mode, r in high.items()]
    if not high:
        return ""

    def load(r: dict) -> str:
        la = r.get("load_average")
        return f"{la['before']} → {la['after']}" if la else "—"

    rows = "\n".join(
        f"| {r['mode']} | {r['admitted']} | {r['server_cpu_pct']} | {r['server_cpu_pct_per_call']} | "
        f"{r['overhead']['p50']} | {r['overhead']['p95']} | {r['overhead']['p99']} | {r['lost_turns']} | "
        f"{r['underruns']} | {r['past_capacity'] or 'no'} | {load(r)} |" for r in high)
    off, on = data.get("high_off"), data.get("high_on")
    summary = ""
    if off and on and off["server_cpu_pct_per_call"] and on["server_cpu_pct_per_call"] is not None:
        change = on["server_cpu_pct_per_call"] - off["server_cpu_pct_per_call"]
        per_call = {m: [r["server_cpu_pct_per_call"] for r in high if r["mode"] == m] for m in ("off", "on")}
        spread = max((max(v) - min(v) for v in per_call.values() if len(v) > 1), default=None)
        noise = (f"; two runs of the same mode differ by up to {spread:.3f}" if spread is not None else
                 "; one run each, so the noise is not measured here")
        summary = (f"\nMedians at {data['high_calls']} calls — CPU per call: off {off['server_cpu_pct_per_call']}, on "
                   f"{on['server_cpu_pct_per_call']} % of a core (on − off {change:+.3f}, "
                   f"{change / off['server_cpu_pct_per_call'] * 100:+.1f} %{noise}); overhead p50 off "
                   f"{off['overhead_p50']} / on {on['overhead_p50']} ms, p95 off {off['overhead_p95']} / on "
                   f"{on['overhead_p95']} ms; lost turns off {off['lost_turns']}, on {on['lost_turns']}.\n")
    return f"""
Near capacity ({data['high_calls']} concurrent calls, runs alternating off/on; past capacity = overhead p99 > 300 ms,
a lost turn, an underrun or a failed call, as in the Capacity section; load average = the machine's 1-minute load
before → after the run):

| mode | calls | server CPU % | % per call | overhead p50 ms | p95 ms | p99 ms | lost turns | underruns | past capacity | load avg |
|---|---|---|---|---|---|---|---|---|---|---|
{rows}
{summary}"""

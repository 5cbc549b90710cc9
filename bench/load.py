"""One load level: N concurrent simulated calls against a running server, measured from both ends.

The callers run in separate load-generator processes (bench/loadgen.py); this process samples the server's and
the load generators' CPU time and resident memory with psutil (every 0.25 s) and afterwards reads the server's
stored TurnMetrics. Figures per level:

- overhead: turn latency − 450 ms (the synthetic providers' fixed 100 + 200 + 150 ms), normal turns only;
- barge-in: onset → `clear` received, and reply frames received after it;
- lost: turns without a reply, playback underruns (a reply ran dry mid-way: a late or lost frame), call errors;
- server CPU % and RSS, per call over the window in which all N calls were live (RSS: peak − idle);
- the load generator's own CPU % and event-loop lag (its lag inflates what it measures).

The harness imports (voicebot.testing) sit inside functions: they load the app's models, which need Django set up,
and `python -m bench` sets Django up only after importing its scenarios. Not an import circle: bench sits above
the app and its harnesses, and nothing imports bench.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from .report import ROOT, summary

BUDGET_MS = 450  # 100 (STT final) + 200 (LLM first token) + 150 (TTS first audio)
SENTENCES = [
    "I would like to book an appointment for tomorrow",
    "Could you tell me your opening hours please",
    "My name is Alex and I am calling about my teeth",
    "Is there a dentist available next week",
]


def utterances(rate: int = 8000) -> list[bytes]:
    """Caller speech (the harnesses' caller voice), prepared so the synthetic STT can see the true end of speech."""
    from voicebot.testing.speech import caller_speech

    from .synthetic import caller_utterance

    return [caller_utterance(caller_speech(text, rate)) for text in SENTENCES]


class Sampler(threading.Thread):
    """CPU seconds and RSS of a set of processes (and their children), every `every` seconds."""

    def __init__(self, pids: list[int], every: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.procs = [psutil.Process(p) for p in pids]
        self.every = every
        self.samples: list[tuple[float, float, int]] = []  # (monotonic, cpu seconds, rss bytes)
        self.per_proc: list[tuple[float, list[float]]] = []  # (monotonic, cpu seconds of each process)
        self._halt = threading.Event()

    def read(self) -> tuple[float, float, int]:
        cpu, rss, each = 0.0, 0, []
        for p in self.procs:
            try:
                t = p.cpu_times()
                cpu += t.user + t.system
                each.append(t.user + t.system)
                rss += p.memory_info().rss
            except psutil.Error:
                each.append(0.0)
        now = time.monotonic()
        self.per_proc.append((now, each))
        return now, cpu, rss

    def run(self) -> None:
        while not self._halt.is_set():
            self.samples.append(self.read())
            self._halt.wait(self.every)

    def stop(self) -> None:
        self._halt.set()
        self.join(2)
        self.samples.append(self.read())

    def window(self, t0: float, t1: float) -> dict:
        inside = [s for s in self.samples if t0 <= s[0] <= t1]
        if len(inside) < 2:
            return {"cpu_pct": None, "rss_max_mb": None}
        (a, ca, _), (b, cb, _) = inside[0], inside[-1]
        each = [e for e in self.per_proc if t0 <= e[0] <= t1]
        busiest = None
        if len(each) >= 2 and len(each[0][1]) == len(each[-1][1]):
            busiest = round(max(100 * (y - x) / (each[-1][0] - each[0][0]) for x, y in zip(each[0][1], each[-1][1])), 1)
        return {"cpu_pct": round(100 * (cb - ca) / (b - a), 1), "busiest_pct": busiest,
                "rss_max_mb": round(max(s[2] for s in inside) / 2**20, 1)}


def split(n: int, parts: int) -> list[int]:
    return [n // parts + (1 if i < n % parts else 0) for i in range(parts) if n // parts + (1 if i < n % parts else 0)]


def run_level(server, n: int, number: str, *, turns: int, barge_every: int = 3, stagger_s: float | None = None,
              loadgens: int = 1, speech: list[bytes] | None = None, log=print, timeout_s: float = 90) -> dict:
    speech = speech or utterances()
    stagger = stagger_s if stagger_s is not None else min(8.0, 0.05 * n)
    baseline = Sampler(server.pids).read()[2]
    with tempfile.TemporaryDirectory() as tmp:
        procs = []
        for i, count in enumerate(split(n, loadgens)):
            spec = {"base_url": server.base_url, "auth_token": server.auth_token, "number": number, "calls": count,
                    "turns": turns, "barge_every": barge_every, "stagger_s": stagger, "seed": 1000 * n + i,
                    "timeout_s": timeout_s, "utterances": [base64.b64encode(u).decode() for u in speech]}
            spec_path, out_path = Path(tmp) / f"spec{i}.json", Path(tmp) / f"out{i}.json"
            spec_path.write_text(json.dumps(spec))
            procs.append((subprocess.Popen([sys.executable, "-m", "bench.loadgen", str(spec_path), str(out_path)],
                                           cwd=ROOT, stderr=subprocess.PIPE, text=True), out_path))
        server_s, gen_s = Sampler(server.pids), Sampler([p.pid for p, _ in procs])
        backing_s = Sampler(getattr(server, "backing_pids", []))
        server_s.start()
        gen_s.start()
        backing_s.start()
        t_start = time.monotonic()
        outs = []
        for proc, out_path in procs:
            try:
                _, err = proc.communicate(timeout=timeout_s + 60)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
            if proc.returncode != 0 or not out_path.exists():
                raise RuntimeError(f"load generator failed ({proc.returncode}):\n{err[-3000:]}")
            outs.append(json.loads(out_path.read_text()))
        server_s.stop()
        gen_s.stop()
        backing_s.stop()
    wall = time.monotonic() - t_start
    calls = [c for o in outs for c in o["calls"]]
    level = summarise(server, n, calls, outs, server_s, gen_s, baseline, wall)
    # PostgreSQL, Redis and the Celery worker share the cores too (production backing only).
    level["backing_cpu_pct"] = backing_s.window(level.pop("_t0"), level.pop("_t1"))["cpu_pct"] if backing_s.procs else None
    return level


def summarise(server, n: int, calls: list[dict], outs: list[dict], server_s: Sampler, gen_s: Sampler,
              baseline_rss: int, wall: float) -> dict:
    admitted = [c for c in calls if not c["refused"]]
    normal = [t["latency_ms"] for c in admitted for t in c["turns"] if not t["barge_in"]]
    lost_turns = sum(1 for c in admitted for t in c["turns"] if t["latency_ms"] is None)
    barge = [t for c in admitted for t in c["turns"] if t["barge_in"]]
    # The window in which all admitted calls were live: the last start to the first end.
    if admitted:
        t0 = max(c["start"] for c in admitted) + 1.0
        t1 = min(c["end"] for c in admitted) - 1.0
        if t1 - t0 < 2.0:  # calls too short or too staggered to overlap for long: use the middle of the run
            mid = (min(c["start"] for c in admitted) + max(c["end"] for c in admitted)) / 2
            t0, t1 = mid - 2, mid + 2
    else:
        t0 = t1 = 0.0
    srv = server_s.window(t0, t1)
    gen = gen_s.window(t0, t1)
    live = len(admitted)
    rss_per_call = None
    if srv["rss_max_mb"] is not None and live:
        rss_per_call = round((srv["rss_max_mb"] - baseline_rss / 2**20) / live, 2)
    overhead = [None if v is None else round(v - BUDGET_MS, 1) for v in normal]
    ids = {c["call_id"] for c in admitted}
    try:
        stored = [t for t in server.stored_turns() if t["call_id"] in ids]
    except Exception:  # noqa: BLE001 - server-side figures are a bonus; the client's are the measurement
        stored = []
    try:  # how each pause for caller speech over the agent ended: cut (a barge-in) or resumed (no interruption)
        outcomes = [kind for call_id, kind in server.stored_events(("barge_in", "backchannel")) if call_id in ids]
    except Exception:  # noqa: BLE001 - as above
        outcomes = []
    errors = [c["error"] for c in admitted if c["error"] and c["error"] != "timeout"]
    gen_cpu_s = sum(o["cpu_s"] for o in outs)
    return {
        "calls": n, "admitted": live, "refused_webhook": sum(1 for c in calls if c["refused"] == "webhook"),
        "refused_media": sum(1 for c in calls if c["refused"] == "media"),
        "overhead": summary(overhead), "latency": summary(normal),
        "greeting": summary([c["greeting_ms"] for c in admitted]),
        "barge_clear": summary([t["clear_ms"] for t in barge]),
        "barge_missing_clear": sum(1 for t in barge if t["clear_ms"] is None),
        "frames_after_clear": sum(t["frames_after_clear"] for t in barge),
        "barge_cut": outcomes.count("barge_in"), "barge_resumed": outcomes.count("backchannel"),
        "lost_turns": lost_turns, "underruns": sum(c["underruns"] for c in admitted),
        "underrun_ms": round(sum(c["underrun_ms"] for c in admitted), 1),
        "late_ticks": sum(c.get("late_ticks", 0) for c in admitted),
        "errors": len(errors), "error_samples": sorted(set(errors))[:5],
        "timeouts": sum(1 for c in admitted if c["error"] == "timeout"),
        "server_cpu_pct": srv["cpu_pct"], "server_busiest_process_cpu_pct": srv.get("busiest_pct"),
        "server_cpu_pct_per_call": round(srv["cpu_pct"] / live, 3) if srv["cpu_pct"] is not None and live else None,
        "server_rss_idle_mb": round(baseline_rss / 2**20, 1), "server_rss_max_mb": srv["rss_max_mb"],
        "server_rss_mb_per_call": rss_per_call,
        "loadgen_cpu_pct": gen["cpu_pct"], "loadgen_cpu_pct_avg": round(100 * gen_cpu_s / max(wall, 1e-9), 1),
        "loadgen_lag_ms": [o["loop_lag_ms"] for o in outs],
        "server_endpoint_ms": summary([t["endpoint_ms"] for t in stored]),
        "server_e2e_ms": summary([t["end_to_end_ms"] for t in stored]),
        "server_stages_p50": {k: summary([t[k] for t in stored])["p50"]
                              for k in ("endpoint_ms", "stt_final_ms", "stt_ms", "brain_ms", "tts_ms", "end_to_end_ms")},
        "server_stages_p95": {k: summary([t[k] for t in stored])["p95"]
                              for k in ("endpoint_ms", "stt_final_ms", "stt_ms", "brain_ms", "tts_ms", "end_to_end_ms")},
        "wall_s": round(wall, 1), "window_s": round(t1 - t0, 1), "_t0": t0, "_t1": t1,
        "raw_calls": calls,
    }


def failed(level: dict, p99_limit: float = 300.0) -> str:
    """Why this level is past capacity ("" if it is not)."""
    why = []
    p99 = level["overhead"]["p99"]
    if p99 is None or p99 > p99_limit:
        why.append(f"overhead p99 {p99} ms > {p99_limit:.0f}")
    if level["lost_turns"]:
        why.append(f"{level['lost_turns']} turns lost")
    if level["underruns"]:
        why.append(f"{level['underruns']} playback underruns")
    if level["errors"] or level["timeouts"]:
        why.append(f"{level['errors'] + level['timeouts']} calls failed")
    if level["refused_webhook"] or level["refused_media"]:
        why.append(f"{level['refused_webhook'] + level['refused_media']} calls refused")
    return "; ".join(why)

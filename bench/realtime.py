"""Scenario "realtime": speech-to-speech calls, and what voicebot adds between the carrier and the realtime model.

Each end in processes of its own, as in production each is another machine: voicebot (`WORKERS` server processes
behind one SO_REUSEPORT port, bench/servers.py; uvicorn with uvloop and websockets-sansio as the Procfile runs it, with
PostgreSQL, Redis and a Celery worker, and daphne with SQLite and the post-call work in the web process, as `make run`
runs it) runs the demo agent as
an "openai-realtime" agent; its model is the fake Realtime server (voicebot/testing/vendors/openai_realtime
.py) in a process of its own (bench/realtime_fake.py, one per level); N simulated Twilio callers call it at once
from a load-generator process (bench/realtime_callers.py). The two outer processes stamp what they send and receive
with `time.monotonic` — CLOCK_MONOTONIC, one clock for the whole machine on Linux — so each hop through voicebot is
timed from outside, with no process's GIL shared with voicebot's:

- carrier -> model: a caller frame's send at the carrier to its `input_audio_buffer.append` at the model (matched
  by the frame's bytes: μ-law passes straight through; the caller's speech carries a little noise, so frames differ);
- model -> carrier: the first audio of each response leaving the model to its first frame reaching the carrier
  (matched by bytes too; only a response's first frame, as playout paces the rest to real time on purpose);
- barge-in: the caller's speech onset over a reply to the `clear` (the simulated caller's own measure).
"""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .report import machine, summary

LEVELS = (1, 10, 50)
SETUP = """
from calls.models import Agent
Agent.objects.filter(name='Bright Smile Dental').update(llm_provider='openai-realtime', barge_in_min_ms=200,
    provider_options={'realtime': {'fallback_brain': 'flow', 'first_audio_s': 5.0}})
"""
# What the model hears the caller say, each time: real words, so that speech over the agent is an interruption for
# the demo agent's words strategy (held at its onset, cut once the transcript comes).
CALLER = "Could I book a cleaning on Thursday afternoon?"
REPLY = "We are open Monday to Friday from eight until six, and on Saturday mornings from nine until one."
NUMBER = "+15550100000"  # the demo agent's
#: Server processes behind one SO_REUSEPORT port (bench/servers.py).
WORKERS = 2
#: The Procfile's server (production), then the one `make run` and the other load scenarios use.
SERVERS = ("uvicorn", "daphne")
#: Each as it is deployed (bench/servers.py): the Procfile's with the README's production set-up (PostgreSQL, Redis,
#: the post-call work in the Celery worker); daphne as `make run` (SQLite, the post-call work in the web process).
BACKING = {"uvicorn": "production", "daphne": "embedded"}


def _child(module: str, spec: dict, tmp: Path, name: str) -> tuple[subprocess.Popen, Path]:
    from voicebot.testing.server import ROOT

    spec_path, out_path = tmp / f"{name}.spec.json", tmp / f"{name}.out.json"
    spec_path.write_text(json.dumps(spec))
    proc = subprocess.Popen([sys.executable, "-m", module, str(spec_path), str(out_path)], cwd=ROOT,
                            stderr=subprocess.PIPE, text=True)
    return proc, out_path


def _result(proc: subprocess.Popen, out_path: Path, timeout_s: float) -> dict:
    try:
        _, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    if proc.returncode != 0 or not out_path.exists():
        raise RuntimeError(f"{proc.args[2]} failed ({proc.returncode}):\n{(err or '')[-3000:]}")
    return json.loads(out_path.read_text())


def _start_fake(tmp: Path, port: int, n: int) -> tuple[subprocess.Popen, Path]:
    ready = tmp / f"fake{n}.ready"
    spec = {"ready": str(ready), "reply": REPLY, "transcript": CALLER, "port": port}
    proc, out = _child("bench.realtime_fake", spec, tmp, f"fake{n}")
    deadline = time.monotonic() + 30
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the fake Realtime server did not start: {proc.communicate()[1][-2000:]}")
        time.sleep(0.05)
    return proc, out


#: Where the carrier -> model tail comes from: frames after a call's first seconds (its start: the session built, the
#: model's socket opened, the greeting asked for, while the other calls start too) are reported apart.
SETTLED_S = 3.0


def _hops(model: dict, callers: dict) -> tuple[list[float], list[float], list[float], list[float]]:
    """carrier -> model per frame (all, and those SETTLED_S after the call's first append); model -> carrier per
    response (all, and the greetings alone)."""
    sent, received = callers["sent"], callers["received"]
    inbound, settled, outbound, greetings = [], [], [], []
    for conn in model["connections"]:
        first = conn["appends"][0][0] if conn["appends"] else 0.0
        for at, audio in conn["appends"]:
            start = sent.get(audio)
            if start is not None:
                inbound.append(round((at - start) * 1000, 2))
                if at - first >= SETTLED_S:
                    settled.append(inbound[-1])
        for i, (at, frame) in enumerate(conn["first_frames"]):
            arrived = received.get(frame)
            if arrived is not None:
                outbound.append(round((arrived - at) * 1000, 2))
                if i == 0:
                    greetings.append(outbound[-1])
    return inbound, settled, outbound, greetings


def run(log=print, levels=LEVELS, workers: int = WORKERS, servers=SERVERS) -> dict:
    out = {"machine": machine(), "workers": workers, "runs": []}
    for kind in servers:
        log(f"  server: {workers} {kind} processes")
        out["runs"].append({"server": kind, "levels": _run_server(kind, log, levels, workers)})
    return out


def _run_server(kind: str, log, levels, workers: int) -> list[dict]:
    from voicebot.testing.server import free_port
    from voicebot.testing.vendors.openai_realtime import API_KEY

    from .servers import VoicebotServer

    port = free_port()  # the fake model's, the same at every level (a fresh process per level)
    measured = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        server = VoicebotServer(tmp, kind=kind, workers=workers, backing=BACKING[kind], extra_env={
            "OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1",
            "MAX_CONCURRENT_CALLS": "400"})
        try:
            server.start()
            done = server.manage("shell", "-c", SETUP)
            assert done.returncode == 0, done.stderr
            for n in levels:
                measured.append(_level(n, server, tmp, port, log))
        finally:
            server.stop()
    return measured


def _level(n: int, server, tmp: Path, port: int, log) -> dict:
    base_url, token = server.base_url, server.auth_token
    fake, fake_out = _start_fake(tmp, port, n)
    try:
        events_before = _event_counts(server)
        load_before = _loadavg()
        # Calls arrive spread over 0.05 s per call (at most 8 s), as in the other load scenarios (bench/load.py).
        spec = {"base_url": base_url, "auth_token": token, "number": NUMBER, "calls": n,
                "stagger_s": min(8.0, 0.05 * n), "seed": 1000 * n, "timeout_s": 90}
        callers = _result(*_child("bench.realtime_callers", spec, tmp, f"callers{n}"), timeout_s=180)
        load_after = _loadavg()
    finally:
        fake.send_signal(signal.SIGTERM)
    model = _result(fake, fake_out, timeout_s=30)
    callers["sent"] = {base64.b64decode(k).hex(): v for k, v in callers["sent"].items()}  # one key form both sides
    callers["received"] = {base64.b64decode(k).hex(): v for k, v in callers["received"].items()}
    for conn in model["connections"]:
        conn["appends"] = [(at, base64.b64decode(a).hex()) for at, a in conn["appends"]]
        conn["first_frames"] = [(at, base64.b64decode(f).hex()) for at, f in conn["first_frames"]]
    inbound, settled, outbound, greetings = _hops(model, callers)
    turns = [t for c in callers["calls"] for t in c["turns"]]
    level = {"calls": n, "carrier_to_model_ms": summary(inbound), "carrier_to_model_settled_ms": summary(settled),
             "model_to_carrier_ms": summary(outbound),
             "greeting_model_to_carrier_ms": summary(greetings),
             "onset_to_clear_ms": summary([t["clear_ms"] for t in turns
                                           if t["barge_in"] and t["clear_ms"] is not None]),
             "frames_after_clear": sum(t["frames_after_clear"] for t in turns if t["barge_in"]),
             "truncates": sum(c["truncates"] for c in model["connections"]),
             "barge_ins": sum(1 for t in turns if t["barge_in"]),
             "errors": [c["error"] for c in callers["calls"] if c["error"]], "load_average": [load_before, load_after],
             # The measuring processes' own lateness: a frame the fake model's loop reads late is late by as much.
             "fake_loop_lag_ms": summary([ms for _, ms in model.get("loop_lag", [])]),
             "callers_loop_lag_ms": summary([ms for _, ms in callers.get("loop_lag", [])])}
    after = _event_counts(server)
    level["events"] = {k: v - events_before.get(k, 0) for k, v in after.items() if v > events_before.get(k, 0)}
    log(f"  {n} calls: carrier->model {level['carrier_to_model_ms']} (after each call's first {SETTLED_S:.0f} s "
        f"{level['carrier_to_model_settled_ms']}; the fake's loop late {level['fake_loop_lag_ms']}, the callers' "
        f"{level['callers_loop_lag_ms']}), model->carrier "
        f"{level['model_to_carrier_ms']} (greetings {level['greeting_model_to_carrier_ms']}), "
        f"onset->clear {level['onset_to_clear_ms']}, {level['truncates']} truncates, load {level['load_average']}, "
        f"events {level['events']}, errors {level['errors'][:3]}")
    return level


#: Run in the server's own settings (SQLite or PostgreSQL alike): CallEvent kinds, and fallbacks and provider failures
#: by their reason, as JSON.
_COUNT_EVENTS = """
import json
from django.db.models import Count
from calls.models import CallEvent
counts = {r["kind"]: r["n"] for r in CallEvent.objects.values("kind").annotate(n=Count("id"))}
for kind, key in (("realtime_fallback", "reason"), ("provider_failure", "error")):
    for detail in CallEvent.objects.filter(kind=kind).values_list("detail", flat=True):
        label = kind + ":" + str((detail or {}).get(key))[:60]
        counts[label] = counts.get(label, 0) + 1
print(json.dumps(counts))
"""


def _event_counts(server) -> dict[str, int]:
    """CallEvent kinds stored so far (fallbacks, provider failures... would show why a barge-in lacks a truncate),
    fallbacks and provider failures by their reason."""
    done = server.manage("shell", "-c", _COUNT_EVENTS)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _loadavg() -> float:
    import os

    return round(os.getloadavg()[0], 2)


def merged(stored: dict | None, fresh: dict) -> dict:
    """A run of some of the servers: the stored runs of the others are kept (marked with when they were measured),
    in SERVERS order."""
    measured = {r["server"] for r in fresh["runs"]}
    kept = [{**r, "measured": r.get("measured") or (stored or {}).get("machine", "")}
            for r in (_runs(stored) if stored else []) if r["server"] not in measured]
    runs = sorted(fresh["runs"] + kept, key=lambda r: SERVERS.index(r["server"]) if r["server"] in SERVERS else 99)
    return {**fresh, "runs": runs}


def _runs(data: dict) -> list[dict]:
    """Results saved before the server kinds were compared hold one daphne run's `levels`."""
    return data.get("runs") or [{"server": "daphne", "levels": data["levels"]}]


def markdown(data: dict, command: str) -> str:
    rows = []
    for run_ in _runs(data):
        for lv in run_["levels"]:
            c2m, m2c, clear = lv["carrier_to_model_ms"], lv["model_to_carrier_ms"], lv["onset_to_clear_ms"]
            mark = " †" if lv.get("separate_run") else ""
            rows.append(f"| {run_['server']} | {lv['calls']}{mark} | {c2m['p50']} / {c2m['p99']} (n={c2m['n']}) | "
                        f"{m2c['p50']} / {m2c['p99']} (n={m2c['n']}) | {clear['p50']} / {clear['p95']} "
                        f"(n={clear['n']}) | {lv['truncates']} of {lv['barge_ins']} | {lv['frames_after_clear']} | "
                        f"{_fallbacks(lv)} | {lv['load_average'][0]} → {lv['load_average'][1]} |")
    return f"""## Speech-to-speech (OpenAI Realtime): what voicebot adds

`{command}` on {data['machine']}. Each end in a process of its own, on one clock (CLOCK_MONOTONIC, system-wide on
Linux): simulated Twilio callers in a load-generator process (`bench/realtime_callers.py`) call voicebot
({data.get('workers', 1)} server processes behind one SO_REUSEPORT port: uvicorn with uvloop and websockets-sansio
as the Procfile runs it in production, with PostgreSQL, Redis and the post-call work in a Celery worker; daphne as
`make run` runs it, with SQLite and the post-call work in the web process), whose agent's brain is the fake Realtime server (`voicebot/testing/vendors/openai_realtime.py`) in a third
process (`bench/realtime_fake.py`). carrier → model: a caller frame sent by the carrier to its
`input_audio_buffer.append` at the model (μ-law passed through); model → carrier: a response's first audio leaving
the model to its first frame at the carrier; onset → clear: the caller's speech over a reply to the carrier's
`clear`. The demo agent decides interruptions on words: the agent is held (`clear`) 100 voiced ms into the
caller's speech and the model's transcript of it (scripted: real words) cuts it — `response.cancel` if the response
is still running, and a `conversation.item.truncate` at the heard milliseconds. Fallbacks: calls moved to the
cascaded providers (the first-audio deadline, 5 s here, or a lost socket). Goals: overhead p50 ≤ 10 ms and p99 ≤ 30
ms at 50 calls; onset → clear p95 ≤ 250 ms. The machine is shared by other work: see the load averages.

| server | calls | carrier → model p50 / p99 ms | model → carrier p50 / p99 ms | onset → clear p50 / p95 ms | truncates | frames after clear | fallbacks | load avg (before → after) |
|---|---|---|---|---|---|---|---|---|
""" + "\n".join(rows) + "\n\n" + _separate(data) + _verdict(data) + "\n\n" + WHERE_THE_TIME_GOES


def _fallbacks(level: dict) -> int:
    return level.get("events", {}).get("realtime_fallback", 0)


def _separate(data: dict) -> str:
    """A level measured in a run of its own (same code), added to the table: said so, with when."""
    runs = [f"{run_['server']}, {lv['calls']} calls at {lv['separate_run']}" for run_ in _runs(data)
            for lv in run_["levels"] if lv.get("separate_run")]
    kept = [f"{run_['server']} ({run_['measured']})" for run_ in _runs(data) if run_.get("measured")]
    return ((f"† measured in a separate run of the same code ({'; '.join(runs)}).\n\n" if runs else "")
            + (f"Kept from an earlier run (`--realtime-server` measured the others): {'; '.join(kept)}.\n\n"
               if kept else ""))


#: What profiles of the server showed (not re-measured by each run).
WHERE_THE_TIME_GOES = """Where the time goes. py-spy over both uvicorn processes during the 50-call level (SQLite backing,
2026-12-05): about half of the samples idle; the consumer's frame handling (JSON, μ-law, our VAD, the session) ~8 % of
the samples, sending the appends through websockets ~6 %, the playout ~3 %, the ORM on the DB thread ~7 % and, with
SQLite, the post-call work run inside the web process (Celery eager) ~5 % — threads, but on the event loop's GIL.
With PostgreSQL, Redis and the Celery worker (the Procfile's set-up, the uvicorn rows) the post-call work leaves the
web process. The tail comes in bursts and moves between runs: four runs of the uvicorn level at 50 calls read
carrier → model p99 123 and 140 ms (on SQLite), 30.7 ms (production set-up) and, with start-up's objects frozen out
of the garbage collector's full collections (voicebot/asgi.py: a full collection walked ~190 000 objects, ~75 ms),
the table's; part of it is the measuring processes' own lateness (the fake model's loop woke a 5 ms timer late by
p99 12-15 ms, at most 61-171 ms). Earlier, cProfile of
a daphne process at 20 calls: per caller frame ~190 µs in the consumer and ~220 µs to send its `append` through the
SDK, ~50 µs of it the SDK's reconnect send queue (now skipped: the hot path writes to the SDK connection's websocket);
frames that queue up go to the model as one append (one send instead of several). Until 2026-12-06 the callers made
each call's speech as the call started (~90 ms of CPU a call, on their event loop), so the 50 calls meant to arrive
over 2.5 s came as a burst (45 within 0.3 s) and the greetings, all played within 0.5 s, made the tail (daphne
model → carrier p99 45 ms, greetings alone 53); the speech is now made before the first call. A stream's start
also costs fewer thread hops now: the token is burned and the call read in one job on the database thread, and a
speech-to-speech call reads no STT vocabulary."""


def _verdict(data: dict) -> str:
    """The goals, met or not, at the largest level measured, per server."""
    return "\n\n".join(_server_verdict(run_) for run_ in _runs(data))


def _server_verdict(run_: dict) -> str:
    lv = max(run_["levels"], key=lambda level: level["calls"])
    c2m, m2c, clear = lv["carrier_to_model_ms"], lv["model_to_carrier_ms"], lv["onset_to_clear_ms"]
    greet = lv.get("greeting_model_to_carrier_ms") or {}

    def met(p50, p99):
        return "met" if p50 is not None and p99 is not None and p50 <= 10 and p99 <= 30 else "missed"

    settled = lv.get("carrier_to_model_settled_ms") or {}
    return (f"{run_['server']}, at {lv['calls']} calls: carrier → model {met(c2m['p50'], c2m['p99'])} (p50 "
            f"{c2m['p50']}, p95 {c2m['p95']}, p99 {c2m['p99']} ms"
            + (f"; after each call's first {SETTLED_S:.0f} s: p50 {settled['p50']}, p95 {settled['p95']}, p99 "
               f"{settled['p99']} ms" if settled else "")
            + f"); model → carrier {met(m2c['p50'], m2c['p99'])} (p50 {m2c['p50']}, "
            f"p95 {m2c['p95']}, p99 {m2c['p99']} ms; greetings alone p50 {greet.get('p50')}, p95 {greet.get('p95')} "
            f"ms); onset → clear p95 {clear['p95']} ms "
            f"({'met' if clear['p95'] is not None and clear['p95'] <= 250 else 'missed'}). "
            f"CallEvents stored: {lv.get('events', {})}; caller errors: {len(lv.get('errors', []))}."
            + _lag_said(lv))


def _lag_said(level: dict) -> str:
    fake, callers = level.get("fake_loop_lag_ms"), level.get("callers_loop_lag_ms")
    if not fake or not callers:
        return ""
    return (f" The measuring processes' event loops woke a 5 ms timer late by p99 {fake['p99']} ms (max {fake['max']}) "
            f"in the fake model and p99 {callers['p99']} ms (max {callers['max']}) in the callers: a frame either of "
            f"them handles that late counts against voicebot above.")

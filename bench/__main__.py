"""Run the benchmark scenarios and write their figures into docs/benchmarks.md, docs/benchmarks/*.json|md|png.

    python -m bench                                   # everything (`make bench`, ~20 min on 2 cores)
    python -m bench --scenario overhead --max-calls 50
    python -m bench --scenario pipecat --scenario bargein
    python -m bench --report-only                     # the sections again from docs/benchmarks/*.json

Scenarios: perframe (the per-frame path in one process, µs per frame), embedded (local Whisper/flow/espeak),
embedded-capacity (concurrent embedded calls on two cores, 1/2/4/6/8, and each stage's CPU per call), loaded
(embedded-stack calls with both cores kept busy: no turn may be lost), turntaking (backchannels, noises,
interruptions, end of turn and cut-offs with Piper/Kokoro/espeak callers, clean and in noise, through a real
in-process session with the local Whisper; ~10 min; `--turntaking-part over|eot` runs one part and keeps the other's
stored trials), stall (dead air when the agent's LLM stalls before or in the middle of its answer, bench/stall.py;
~2 min), overhead (synthetic 100/200/150 ms providers, 1..150 calls, plus
local endpointing), bargein (from the same calls), capacity (ramp until p99 > 300 ms or anything is lost, on
several server set-ups), admission (twice the configured capacity), webhook (signed requests/s), pipecat (the
same callers against a minimal Pipecat bot), telemetry (tracing and metrics on vs off, bench/telemetry.py), realtime
(speech-to-speech calls through a fake OpenAI Realtime server: what voicebot adds between carrier and model, barge-in
onset -> clear). See bench/cloud/.

The benchmark is its own program, not a management command: the app never imports it. It sets Django up itself
(DJANGO_SETTINGS_MODULE, default voicebot.settings), though what it measures runs in server subprocesses.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time

import django

from . import callwer, embedded, embedded_capacity, loaded, perframe, realtime, stall, telemetry, turntaking
from .cloud import chart, render, run
from .cloud.levels import capacity_of
from .load import utterances
from .report import RAW, load_raw, machine, save, write_raw, write_section

SCENARIOS = ("perframe", "embedded", "embedded-capacity", "loaded", "turntaking", "stall", "callwer", "overhead",
             "bargein", "capacity", "admission", "webhook", "pipecat", "telemetry", "realtime")


class _Load(threading.Thread):
    """The machine's 1-minute load average every 5 s while the bench runs (it shares the machine)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[float] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.samples.append(os.getloadavg()[0])
            self._halt.wait(5)

    def so_far(self) -> str:
        """The load average while the bench ran, so far, for a scenario's section."""
        s = sorted(self.samples) or [os.getloadavg()[0]]
        return f"1-minute load average min {s[0]:.2f} / median {s[len(s) // 2]:.2f} / max {s[-1]:.2f} during the run"

    def stop(self) -> dict:
        self._halt.set()
        s = sorted(self.samples) or [os.getloadavg()[0]]
        return {"min": round(s[0], 2), "median": round(s[len(s) // 2], 2), "max": round(s[-1], 2), "n": len(s)}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=(
        "Measure latency, barge-in, capacity and more on this machine; writes docs/benchmarks.md."))
    p.add_argument("--scenario", action="append", choices=SCENARIOS, help="repeatable; default: all")
    p.add_argument("--turntaking-part", action="append", choices=tuple(turntaking.PART_TESTS),
                   help="turntaking: only this part (repeatable; the other's stored trials are kept)")
    p.add_argument("--realtime-server", action="append", choices=realtime.SERVERS,
                   help="realtime: only this server kind (repeatable; default: each)")
    p.add_argument("--calls", type=int, default=5, help="embedded: calls in sequence (5 calls = 25 turns)")
    p.add_argument("--max-calls", type=int, default=400, help="largest concurrency any ramp may reach")
    p.add_argument("--loadgens", type=int, default=1, help="load-generator processes")
    p.add_argument("--admission-limit", type=int, default=100, help="admission: MAX_CONCURRENT_CALLS per process")
    p.add_argument("--report-only", action="store_true",
                   help="rewrite the sections from docs/benchmarks/*.json without measuring anything")
    return p


def log(message: str) -> None:
    print(message, flush=True)  # progress of a 20-minute run, also when piped to a file


def measure(command: str, scenario: list[str] | None, calls: int, max_calls: int, loadgens: int,
            admission_limit: int, turntaking_parts: list[str] | None = None,
            realtime_servers: list[str] | None = None) -> None:
    chosen = list(scenario or SCENARIOS)
    load = _Load()
    load.start()
    started = time.monotonic()
    ctx = run.Context(max_calls=max_calls, loadgens=loadgens, log=log, speech=utterances())
    ov = cap = others = pc = wh = None

    if "perframe" in chosen:
        log("scenario perframe:")
        data = perframe.run() | {"machine": machine()}
        save("perframe", data, perframe.markdown(data, command))
        log(f"  quiet {data['quiet']['median_us']} µs/frame, talking {data['talking']['median_us']} µs/frame")

    if "embedded" in chosen:
        log("scenario embedded:")
        data = embedded.run(calls=calls, log=log)
        log(f"  greeting {data['greeting']}\n  turn {data['turn']}")

    if "embedded-capacity" in chosen:
        log("scenario embedded-capacity (concurrent embedded calls until turn p95 > 800 ms or a lost turn):")
        data = embedded_capacity.run(levels=embedded_capacity.levels_up_to(max_calls), log=log)
        save("embedded-capacity", data, embedded_capacity.markdown(data, command))
        log(f"  holds {data['holds']} calls; CPU per call {data['stages']}")

    if "loaded" in chosen:
        log("scenario loaded (both cores kept busy by other processes):")
        data = loaded.main_section(calls=min(calls, 4), command=command, log=log)
        log(f"  lost {data['lost']} of {data['utterances']} utterances; turn latency {data['turn_latency']}")

    if "turntaking" in chosen:
        log("scenario turntaking:")
        parts = tuple(turntaking_parts or turntaking.PART_TESTS)
        data = turntaking.run(log=log, parts=parts)
        measured_on = f"{machine()}; {load.so_far()}"
        if set(parts) != set(turntaking.PART_TESTS):
            data = turntaking.merged(load_raw("turntaking"), data, parts, measured_on)
        save("turntaking", data, turntaking.markdown(data, command, measured_on))
        g = data["groups"]["all"]
        log(f"  false {g['false_pct']} %, missed {g['missed_pct']} %, onset->clear p95 {g['onset_to_clear_p95_ms']} ms")

    if "stall" in chosen:
        log("scenario stall (the agent's LLM stalls):")
        data = stall.run(log=log)
        save("stall", data, stall.markdown(data, command, f"{machine()}; {load.so_far()}"))
        for kind, g in data["groups"].items():
            log(f"  {kind}: silence after the turn p50 {g['after_p50_ms']} ms, max {g['after_max_ms']} ms; "
                f"inside the answer max {g['inside_max_ms']} ms")

    if "callwer" in chosen:
        log("scenario callwer:")
        data = callwer.run(log=log)
        save("callwer", data, callwer.markdown(data, command, machine()))

    if {"overhead", "bargein", "capacity"} & set(chosen):
        log("scenario overhead/bargein" + ("/capacity" if "capacity" in chosen else "") + ":")
        ov = run.overhead(ctx, with_capacity="capacity" in chosen)
        if "overhead" in chosen:
            save("overhead", ov, render.overhead_markdown(ov, command))
        if "bargein" in chosen:
            save("bargein", ov, render.bargein_markdown(ov, command))

    if "capacity" in chosen:
        log("scenario capacity (other set-ups):")
        others = run.capacity_configs(ctx)
        cap = capacity_of(ov["levels"])
        save("capacity", {"machine": machine(), "main": ov, "others": others},
             render.capacity_markdown(ov, others, command))

    if "admission" in chosen:
        log("scenario admission:")
        adm = run.admission(ctx, per_process=admission_limit)
        save("admission", adm, render.admission_markdown(adm, command))

    if "webhook" in chosen:
        log("scenario webhook:")
        wh = run.webhook(ctx)
        save("webhook", wh, render.webhook_markdown(wh, command))

    if "telemetry" in chosen:
        log("scenario telemetry (tracing and metrics on vs off):")
        tel_load = _Load()
        tel_load.start()
        tel = telemetry.run(ctx, calls=min(60, max_calls), high_calls=min(150, max_calls))
        tel["load_average"] = tel_load.stop()
        tel["command"] = command
        save("telemetry", tel, telemetry.markdown(tel, command))

    if "realtime" in chosen:
        log("scenario realtime (speech-to-speech, fake OpenAI Realtime server):")
        data = realtime.run(log=log, servers=realtime_servers or realtime.SERVERS)
        if realtime_servers and set(realtime_servers) != set(realtime.SERVERS):
            data = realtime.merged(load_raw("realtime"), data)
        save("realtime", data, realtime.markdown(data, command))

    if "pipecat" in chosen:
        log("scenario pipecat:")
        try:
            pc = run.pipecat(ctx)
        except Exception as exc:  # noqa: BLE001 - the other scenarios' figures still get written
            log(f"  pipecat scenario failed: {exc!r}")
            pc = None
        ours = ov or load_raw("overhead")
        if pc is None:
            pass
        elif ours is None:
            log("  (no voicebot overhead figures yet: run --scenario overhead too for the side-by-side)")
            write_raw("pipecat", pc)
        else:
            cap_ours = cap or (capacity_of(ours["levels"]))
            save("pipecat", pc, render.side_by_side_markdown(ours, ours, pc, cap_ours, command))

    ours = ov or load_raw("overhead")
    if ours is not None:
        stored_cap = load_raw("capacity")
        others = others or (stored_cap or {}).get("others")
        pc = pc or load_raw("pipecat")
        chart.chart(ours, pc if pc and pc.get("levels") else None, others, RAW / "cloud.png")
        cap = cap or (capacity_of(stored_cap["main"]["levels"]) if stored_cap else None)
        wh = wh or load_raw("webhook")
        write_section("targets", render.targets_markdown(ours, cap, pc if pc and pc.get("levels") else None, wh))

    loads = load.stop()
    (RAW / "run.json").write_text(json.dumps(
        {"command": command, "scenarios": chosen, "minutes": round((time.monotonic() - started) / 60, 1),
         "load_average": loads, "machine": machine()}, indent=2))
    minutes = (time.monotonic() - started) / 60
    write_section("run", f"""## This run

`{command}` ({', '.join(chosen)}) took {minutes:.1f} min on {machine()}. The machine is shared: its 1-minute
load average during the run was min {loads['min']}, median {loads['median']}, max {loads['max']} (2 cores; other
engineers' test suites run here too), so read medians and ratios rather than single figures.""")
    log(f"done in {minutes:.1f} min (load average median {loads['median']}); "
        "written: docs/benchmarks.md, docs/benchmarks/")


def report_only() -> None:
    """Sections again from the stored figures (e.g. after a change to the report's wording)."""
    command = (load_raw("run") or {}).get("command", "make bench")
    ov, cap, adm, wh, pc = (load_raw(n) for n in ("overhead", "capacity", "admission", "webhook", "pipecat"))
    if ov:
        save("overhead", ov, render.overhead_markdown(ov, command))
        save("bargein", ov, render.bargein_markdown(ov, command))
    if cap:
        save("capacity", cap, render.capacity_markdown(cap["main"], cap["others"], command))
    if adm:
        save("admission", adm, render.admission_markdown(adm, command))
    if wh:
        save("webhook", wh, render.webhook_markdown(wh, command))
    tel = load_raw("telemetry")
    if tel:
        save("telemetry", tel, telemetry.markdown(tel, tel.get("command") or command))
    if pc and ov:
        cap_ours = capacity_of((cap or {}).get("main", ov)["levels"])
        save("pipecat", pc, render.side_by_side_markdown(ov, ov, pc, cap_ours, command))
    if ov:
        chart.chart(ov, pc, (cap or {}).get("others"), RAW / "cloud.png")
        write_section("targets", render.targets_markdown(
            ov, capacity_of((cap or {}).get("main", ov)["levels"]) if cap else None, pc, wh))
    log("sections rewritten from docs/benchmarks/*.json")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voicebot.settings")
    django.setup()
    if args.report_only:
        report_only()
        return
    # What the report says was run: `make bench` for the full default run, else this command line.
    command = "make bench" if not args.scenario and args.max_calls == 400 else f"python -m bench {' '.join(argv)}"
    measure(command, args.scenario, args.calls, args.max_calls, args.loadgens, args.admission_limit,
            args.turntaking_part, args.realtime_server)


if __name__ == "__main__":
    main()

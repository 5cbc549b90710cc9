"""Run the benchmark scenarios and write their figures into docs/benchmarks.md, docs/benchmarks/*.json|md|png.

    manage.py bench                                   # everything (`make bench`, ~20 min on 2 cores)
    manage.py bench --scenario overhead --max-calls 50
    manage.py bench --scenario pipecat --scenario bargein

Scenarios: embedded (local Whisper/flow/espeak), overhead (synthetic 100/200/150 ms providers, 1..150 calls, plus
local endpointing), bargein (from the same calls), capacity (ramp until p99 > 300 ms or anything is lost, on
several server set-ups), admission (twice the configured capacity), webhook (signed requests/s), pipecat (the
same callers against a minimal Pipecat bot). See bench/cloud.py.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from django.core.management.base import BaseCommand

SCENARIOS = ("embedded", "overhead", "bargein", "capacity", "admission", "webhook", "pipecat")


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

    def stop(self) -> dict:
        self._halt.set()
        s = sorted(self.samples) or [os.getloadavg()[0]]
        return {"min": round(s[0], 2), "median": round(s[len(s) // 2], 2), "max": round(s[-1], 2), "n": len(s)}


class Command(BaseCommand):
    help = "Measure latency, barge-in, capacity and more on this machine; writes docs/benchmarks.md."

    def add_arguments(self, parser):
        parser.add_argument("--scenario", action="append", choices=SCENARIOS, help="repeatable; default: all")
        parser.add_argument("--calls", type=int, default=5, help="embedded: calls in sequence (5 calls = 25 turns)")
        parser.add_argument("--max-calls", type=int, default=400, help="largest concurrency any ramp may reach")
        parser.add_argument("--loadgens", type=int, default=1, help="load-generator processes")
        parser.add_argument("--admission-limit", type=int, default=100, help="admission: MAX_CONCURRENT_CALLS per process")
        parser.add_argument("--report-only", action="store_true",
                            help="rewrite the sections from docs/benchmarks/*.json without measuring anything")

    def handle(self, *args, scenario=None, calls=5, max_calls=400, loadgens=1, admission_limit=100, report_only=False,
               **opts):
        from bench import cloud
        from bench.load import utterances
        from bench.report import machine, write_section

        if report_only:
            self._report_only(cloud)
            return

        chosen = list(scenario or SCENARIOS)
        argv = " ".join(sys.argv[1:])
        command = "make bench" if not scenario and max_calls == 400 else f"manage.py {argv}"
        log = self.stdout.write
        load = _Load()
        load.start()
        started = time.monotonic()
        ctx = cloud.Context(max_calls=max_calls, loadgens=loadgens, log=log, speech=utterances())
        ov = cap = others = pc = wh = None

        if "embedded" in chosen:
            from bench import embedded

            log("scenario embedded:")
            data = embedded.run(calls=calls, log=log)
            log(f"  greeting {data['greeting']}\n  turn {data['turn']}")

        if {"overhead", "bargein", "capacity"} & set(chosen):
            log("scenario overhead/bargein" + ("/capacity" if "capacity" in chosen else "") + ":")
            ov = cloud.overhead(ctx, with_capacity="capacity" in chosen)
            if "overhead" in chosen:
                cloud.save("overhead", ov, cloud.overhead_markdown(ov, command))
            if "bargein" in chosen:
                cloud.save("bargein", ov, cloud.bargein_markdown(ov, command))

        if "capacity" in chosen:
            log("scenario capacity (other set-ups):")
            others = cloud.capacity_configs(ctx)
            cap = cloud.capacity_of(ov["levels"])
            cloud.save("capacity", {"machine": machine(), "main": ov, "others": others},
                       cloud.capacity_markdown(ov, others, command))

        if "admission" in chosen:
            log("scenario admission:")
            adm = cloud.admission(ctx, per_process=admission_limit)
            cloud.save("admission", adm, cloud.admission_markdown(adm, command))

        if "webhook" in chosen:
            log("scenario webhook:")
            wh = cloud.webhook(ctx)
            cloud.save("webhook", wh, cloud.webhook_markdown(wh, command))

        if "pipecat" in chosen:
            log("scenario pipecat:")
            try:
                pc = cloud.pipecat(ctx)
            except Exception as exc:  # noqa: BLE001 - the other scenarios' figures still get written
                log(f"  pipecat scenario failed: {exc!r}")
                pc = None
            ours = ov or cloud.load_raw("overhead")
            if pc is None:
                pass
            elif ours is None:
                log("  (no voicebot overhead figures yet: run --scenario overhead too for the side-by-side)")
                cloud.write_raw("pipecat", pc)
            else:
                cap_ours = cap or (cloud.capacity_of(ours["levels"]))
                cloud.save("pipecat", pc, cloud.side_by_side_markdown(ours, ours, pc, cap_ours, command))

        ours = ov or cloud.load_raw("overhead")
        if ours is not None:
            stored_cap = cloud.load_raw("capacity")
            others = others or (stored_cap or {}).get("others")
            pc = pc or cloud.load_raw("pipecat")
            cloud.chart(ours, pc if pc and pc.get("levels") else None, others, cloud.RAW / "cloud.png")
            cap = cap or (cloud.capacity_of(stored_cap["main"]["levels"]) if stored_cap else None)
            wh = wh or cloud.load_raw("webhook")
            write_section("targets", cloud.targets_markdown(ours, cap, pc if pc and pc.get("levels") else None, wh))

        loads = load.stop()
        (cloud.RAW / "run.json").write_text(__import__("json").dumps(
            {"command": command, "scenarios": chosen, "minutes": round((time.monotonic() - started) / 60, 1),
             "load_average": loads, "machine": machine()}, indent=2))
        minutes = (time.monotonic() - started) / 60
        write_section("run", f"""## This run

`{command}` ({', '.join(chosen)}) took {minutes:.1f} min on {machine()}. The machine is shared: its 1-minute
load average during the run was min {loads['min']}, median {loads['median']}, max {loads['max']} (2 cores; other
engineers' test suites run here too), so read medians and ratios rather than single figures.""")
        log(f"done in {minutes:.1f} min (load average median {loads['median']}); "
            "written: docs/benchmarks.md, docs/benchmarks/")

    def _report_only(self, cloud) -> None:
        """Sections again from the stored figures (e.g. after a change to the report's wording)."""
        from bench.report import write_section

        run = cloud.load_raw("run") or {}
        command = run.get("command", "make bench")
        ov, cap, adm, wh, pc = (cloud.load_raw(n) for n in ("overhead", "capacity", "admission", "webhook", "pipecat"))
        if ov:
            cloud.save("overhead", ov, cloud.overhead_markdown(ov, command))
            cloud.save("bargein", ov, cloud.bargein_markdown(ov, command))
        if cap:
            cloud.save("capacity", cap, cloud.capacity_markdown(cap["main"], cap["others"], command))
        if adm:
            cloud.save("admission", adm, cloud.admission_markdown(adm, command))
        if wh:
            cloud.save("webhook", wh, cloud.webhook_markdown(wh, command))
        if pc and ov:
            cap_ours = cloud.capacity_of((cap or {}).get("main", ov)["levels"])
            cloud.save("pipecat", pc, cloud.side_by_side_markdown(ov, ov, pc, cap_ours, command))
        if ov:
            cloud.chart(ov, pc, (cap or {}).get("others"), cloud.RAW / "cloud.png")
            write_section("targets", cloud.targets_markdown(
                ov, cloud.capacity_of((cap or {}).get("main", ov)["levels"]) if cap else None, pc, wh))
        self.stdout.write("sections rewritten from docs/benchmarks/*.json")

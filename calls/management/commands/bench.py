"""Run the benchmark scenarios and write their figures into docs/benchmarks.md (and raw JSON)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

SCENARIOS = ("embedded",)


class Command(BaseCommand):
    help = "Measure latency on this machine; writes docs/benchmarks.md."

    def add_arguments(self, parser):
        parser.add_argument("--scenario", action="append", choices=SCENARIOS, help="default: all")
        parser.add_argument("--calls", type=int, default=5)

    def handle(self, *args, scenario=None, calls=5, **opts):
        for name in scenario or SCENARIOS:
            self.stdout.write(f"scenario {name}:")
            if name == "embedded":
                from bench import embedded

                data = embedded.run(calls=calls, log=self.stdout.write)
                self.stdout.write(f"  greeting {data['greeting']}\n  turn {data['turn']}")
        self.stdout.write("written: docs/benchmarks.md")

"""Run an agent's test suite against a running voicebot server: exit status 0 when every scenario passed (CI)."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from calls.models import Agent
from suites.junit import junit_report
from suites.library import files_in
from suites.models import Scenario, ScenarioResult
from suites.runner import local_base_url, run_blocking, start_run
from suites.yaml_lines import ScenarioError

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
TRANSCRIPT_TAIL = 8


class Command(BaseCommand):
    help = ("Call an agent with its test scenarios (real calls through the real pipeline, marked as test calls) "
            "and report pass/fail. Exit status 1 when a scenario failed, 2 on a malformed scenario.")

    def add_arguments(self, parser):
        parser.add_argument("agent", help="The agent's id or name")
        parser.add_argument("scenarios", nargs="*", help="Stored scenario names or .yaml files (default: all stored)")
        parser.add_argument("--dir", dest="folder", help="Also run every .yaml scenario file in this folder")
        parser.add_argument("--base-url", default=None, help="The server to call (default http://127.0.0.1:$PORT)")
        parser.add_argument("--concurrency", type=int, default=2, help="Scenarios called at once (default 2)")
        parser.add_argument("--junit-xml", default=None, metavar="PATH", help="Write a JUnit XML report here")

    def handle(self, *args, agent: str, scenarios: list[str], folder: str | None, base_url: str | None,
               concurrency: int, junit_xml: str | None, **opts):
        the_agent = self._agent(agent)
        sources = self._sources(the_agent, scenarios, folder)
        if not sources:
            raise CommandError(f"agent {the_agent.name!r} has no scenarios: name .yaml files or use --dir")
        try:
            run = start_run(the_agent, sources, trigger="cli", concurrency=max(1, concurrency))
        except ScenarioError as exc:
            self.stderr.write(f"malformed scenario, nothing was run: {exc}")
            sys.exit(EXIT_BAD_INPUT)
        self.stdout.write(f"running {len(sources)} scenario(s) against {the_agent.name!r} ({run.version_label}), "
                          f"{run.concurrency} at a time")
        run = run_blocking(run.pk, base_url or local_base_url())
        results = list(run.results.order_by("name"))
        for result in results:
            self._report(result)
        passed = sum(r.passed for r in results)
        self.stdout.write(f"{passed}/{len(results)} passed (run {run.pk})")
        if junit_xml:
            Path(junit_xml).write_text(junit_report(run, results))
        if passed != len(results):
            sys.exit(EXIT_FAILED)

    def _agent(self, ref: str) -> Agent:
        found = Agent.objects.filter(pk=int(ref)) if ref.isdigit() else Agent.objects.filter(name=ref)
        agents = list(found[:2])
        if len(agents) != 1:
            raise CommandError(f"no agent {ref!r}" if not agents else f"several agents are named {ref!r}: use the id")
        return agents[0]

    def _sources(self, agent: Agent, names: list[str], folder: str | None) -> list[tuple[str, str]]:
        stored = {s.name: s.source for s in Scenario.objects.filter(agent=agent)}
        sources: list[tuple[str, str]] = []
        for name in names:
            if name.endswith((".yaml", ".yml")):
                path = Path(name)
                if not path.is_file():
                    raise CommandError(f"{name}: no such file")
                sources.append((str(path), path.read_text()))
            elif name in stored:
                sources.append((name, stored[name]))
            else:
                raise CommandError(f"agent {agent.name!r} has no scenario {name!r} (it has: {', '.join(stored)})")
        if folder:
            if not Path(folder).is_dir():
                raise CommandError(f"{folder}: no such folder")
            sources += [(str(Path(folder) / n), text) for n, text in files_in(Path(folder))]
        if not names and not folder:
            sources = list(stored.items())
        return sources

    def _report(self, result: ScenarioResult) -> None:
        mark = "PASS" if result.passed else result.status.upper()
        self.stdout.write(f"{mark:>9}  {result.name}  ({result.duration_s} s)")
        for failure in result.failures:
            self.stdout.write("           " + failure.replace("\n", "\n           "))
        if not result.passed and result.status != ScenarioResult.Status.TIMED_OUT and result.transcript:
            # What the caller said as the STT heard it: the usual reason a line went another way.
            self.stdout.write("           transcript (last turns):")
            for turn in result.transcript[-TRANSCRIPT_TAIL:]:
                self.stdout.write(f"             {turn['role']}: {turn['text']}")

"""An agent's test suite: its scenarios (YAML, edited here), running them, and every run's results by version."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from calls.models import Agent
from suites.background import run_in_background
from suites.models import Scenario, ScenarioResult, SuiteRun
from suites.runner import expire_if_stale, start_run
from suites.scenario import parse_scenario
from suites.yaml_lines import ScenarioError

from ..workspace import WorkspaceMixin

MAX_CONCURRENCY = 4
HISTORY = 20
NEW_SCENARIO = """\
name: a new scenario
time_limit_s: 90
caller: {voice: piper-joe}
lines:
  - say: Hello, what are your opening hours?
  - say: No, that's all, goodbye
expect:
  - reply_contains: Goodbye
"""


class _AgentMixin(WorkspaceMixin):
    def agent(self, pk: int) -> Agent:
        return get_object_or_404(Agent, pk=pk, workspace=self.workspace)


class SuiteView(_AgentMixin, View):
    def get(self, request, pk: int):
        agent = self.agent(pk)
        for stale in SuiteRun.objects.filter(agent=agent, status=SuiteRun.Status.RUNNING):
            expire_if_stale(stale)
        runs = list(SuiteRun.objects.filter(agent=agent).prefetch_related("results")[:HISTORY])
        last = {}
        for run in reversed(runs):
            for result in run.results.all():
                last[result.name] = result
        scenarios = [(s, last.get(s.name)) for s in Scenario.objects.filter(agent=agent)]
        return render(request, "dashboard/agents/suite.html", {
            "agent": agent, "scenarios": scenarios, "runs": runs, "nav": "agents",
            "max_concurrency": MAX_CONCURRENCY,
            "has_number": agent.numbers.exists(),
        })

    def post(self, request, pk: int):
        agent = self.agent(pk)
        ids = [v for v in request.POST.getlist("scenario") if v.isdigit()]  # anything else is no scenario of ours
        chosen = Scenario.objects.filter(agent=agent, pk__in=ids)
        if not chosen:
            messages.error(request, "Pick at least one scenario to run.")
            return redirect("dashboard:agent-suite", pk=agent.pk)
        try:
            concurrency = min(MAX_CONCURRENCY, max(1, int(request.POST.get("concurrency") or 2)))
        except ValueError:
            concurrency = 2
        try:
            run = start_run(agent, [(s.name, s.source) for s in chosen], trigger="dashboard",
                            concurrency=concurrency)
        except ScenarioError as exc:
            messages.error(request, f"Nothing was run: {exc}")
            return redirect("dashboard:agent-suite", pk=agent.pk)
        run_in_background(run.pk)
        return redirect("dashboard:agent-suite-run", pk=agent.pk, run_id=run.pk)


class ScenarioEditView(_AgentMixin, View):
    """Create (no sid) or edit a scenario; a malformed one is not saved and its error names the line and field."""

    def get(self, request, pk: int, sid: int | None = None):
        agent = self.agent(pk)
        scenario = get_object_or_404(Scenario, pk=sid, agent=agent) if sid else None
        return self.render_form(request, agent, scenario, scenario.source if scenario else NEW_SCENARIO)

    def post(self, request, pk: int, sid: int | None = None):
        agent = self.agent(pk)
        scenario = get_object_or_404(Scenario, pk=sid, agent=agent) if sid else None
        if scenario and "delete" in request.POST:
            scenario.delete()
            messages.success(request, f"Scenario “{scenario.name}” deleted. Its past results are kept.")
            return redirect("dashboard:agent-suite", pk=agent.pk)
        source = request.POST.get("source", "").replace("\r\n", "\n")
        try:
            parsed = parse_scenario(source)
        except ScenarioError as exc:
            return self.render_form(request, agent, scenario, source, error=exc, status=400)
        taken = Scenario.objects.filter(agent=agent, name=parsed.name).exclude(pk=sid or 0).exists()
        if taken:
            error = ScenarioError(f"{agent.name} already has a scenario named {parsed.name!r}", line=1, field="name")
            return self.render_form(request, agent, scenario, source, error=error, status=400)
        scenario = scenario or Scenario(agent=agent)
        scenario.name, scenario.source = parsed.name, source
        scenario.save()
        messages.success(request, f"Scenario “{scenario.name}” saved.")
        return redirect("dashboard:agent-suite", pk=agent.pk)

    def render_form(self, request, agent, scenario, source, error=None, status=200):
        return render(request, "dashboard/agents/scenario_edit.html", {
            "agent": agent, "scenario": scenario, "source": source, "error": error, "nav": "agents",
            "error_line": getattr(error, "line", None),
        }, status=status)


class SuiteRunView(_AgentMixin, View):
    def get(self, request, pk: int, run_id: int):
        agent = self.agent(pk)
        run = get_object_or_404(SuiteRun, pk=run_id, agent=agent)
        expire_if_stale(run)
        results = list(run.results.select_related("call").order_by("name"))
        for result in results:
            result.last_passed = _last_passed(run, result.name) if result.status != "passed" else None
        return render(request, "dashboard/agents/suite_run.html", {
            "agent": agent, "run": run, "results": results, "nav": "agents",
            "running": run.status == SuiteRun.Status.RUNNING,
            "passed": sum(r.status == ScenarioResult.Status.PASSED for r in results),
        })


def _last_passed(run: SuiteRun, name: str) -> SuiteRun | None:
    """The run before `run` in which scenario `name` passed, if its latest earlier result was a pass: then this
    failure is new, and the versions between the two are where it broke."""
    before = (ScenarioResult.objects.filter(run__agent_id=run.agent_id, run__pk__lt=run.pk, name=name)
              .exclude(status__in=("pending", "running")).select_related("run").order_by("-run__pk").first())
    return before.run if before is not None and before.status == ScenarioResult.Status.PASSED else None

"""Scenario files shipped with voicebot (the demo agent's suite) and storing scenarios with an agent."""

from __future__ import annotations

from pathlib import Path

from calls.models import Agent

from .models import Scenario
from .scenario import parse_many

DEMO_DIR = Path(__file__).resolve().parent / "scenarios" / "demo"


def files_in(folder: Path) -> list[tuple[str, str]]:
    """(file name, text) of every scenario file in `folder`, in name order."""
    return [(p.name, p.read_text()) for p in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])]


def install(agent: Agent, sources: list[tuple[str, str]], *, replace: bool = False) -> list[Scenario]:
    """Store the scenarios with `agent` (all parse, or ScenarioError and nothing stored); one already stored under
    the same name is kept as it is (it may have been edited in the dashboard) unless `replace`."""
    stored = []
    for parsed, (_, text) in zip(parse_many(sources), sources, strict=True):
        scenario, created = Scenario.objects.get_or_create(agent=agent, name=parsed.name, defaults={"source": text})
        if replace and not created and scenario.source != text:
            scenario.source = text
            scenario.save(update_fields=["source", "updated_at"])
        stored.append(scenario)
    return stored


def copy_scenarios(source: Agent, target: Agent) -> None:
    """A cloned agent takes its suite along: the scenarios say what the copy must still do."""
    Scenario.objects.bulk_create(Scenario(agent=target, name=s.name, source=s.source)
                                 for s in Scenario.objects.filter(agent=source))

"""What the suites do when the call engine says something happened. Connected in `SuitesConfig.ready`."""

from __future__ import annotations

from calls.models import Agent
from calls.signals import demo_seeded

from .library import DEMO_DIR, files_in, install


def install_demo_scenarios(sender, agent_id: int, **kwargs) -> None:
    """The demo agent was seeded: its scenarios come with it (edited ones are left alone)."""
    agent = Agent.objects.filter(pk=agent_id).first()
    if agent is not None:
        install(agent, files_in(DEMO_DIR))


def connect() -> None:
    demo_seeded.connect(install_demo_scenarios, dispatch_uid="suites.install_demo_scenarios")

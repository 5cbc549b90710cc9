"""Idempotently create the demo workspace, agent (with its knowledge base) and number (bound for every carrier),
and a local login."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from calls.flows.demo import DEMO_FLOW, DEMO_GREETING, DEMO_KNOWLEDGE, DEMO_KNOWLEDGE_TITLE
from calls.models import Agent, Carrier, PhoneNumber, Workspace
from calls.signals import demo_seeded

DEMO_USER = "demo"
DEMO_PASSWORD = "voicebot-demo"


class Command(BaseCommand):
    help = "Create or refresh the demo agent and bind the demo number to it for every carrier."

    def add_arguments(self, parser):
        parser.add_argument("--number", default=settings.DEMO_NUMBER, help="E.164 number to bind (default DEMO_NUMBER)")
        parser.add_argument("--no-user", action="store_true", help="Do not create the local demo login")

    def handle(self, *args, number: str, no_user: bool, **opts):
        workspace, _ = Workspace.objects.get_or_create(slug="demo", defaults={"name": "Demo"})
        agent, created = Agent.objects.get_or_create(
            workspace=workspace, name="Bright Smile Dental",
            defaults={"greeting": DEMO_GREETING, "flow": DEMO_FLOW, "tts_provider": "piper",
                      "voice": "en_US-joe-medium"},
        )
        if not created and _outdated_demo_flow(agent.flow):
            agent.flow = DEMO_FLOW  # a newer demo; a flow someone made their own (other id) is left alone
            agent.save(update_fields=["flow"])
        _seed_knowledge(agent)
        demo_seeded.send(sender=Agent, agent_id=agent.pk)  # its test scenarios (suites)
        for carrier in (Carrier.TWILIO, Carrier.TELNYX):
            PhoneNumber.objects.update_or_create(
                e164=number, carrier=carrier, defaults={"workspace": workspace, "agent": agent}
            )
        self.stdout.write(f"demo agent '{agent.name}' (id {agent.pk}) answers {number} on twilio and telnyx")
        if not no_user:
            User = get_user_model()
            user, made = User.objects.get_or_create(username=DEMO_USER)
            if made:
                user.set_password(DEMO_PASSWORD)
                user.save()
                self.stdout.write(f"dashboard login: {DEMO_USER} / {DEMO_PASSWORD} (local demo only; change it)")
            workspace.members.add(user)


def _outdated_demo_flow(flow: dict) -> bool:
    if not flow:
        return True
    return flow.get("id") == DEMO_FLOW["id"] and flow.get("version", 0) < DEMO_FLOW["version"]


def _seed_knowledge(agent: Agent) -> None:
    from knowledge.ingest import add_document
    from knowledge.models import Document

    if not Document.objects.filter(agent=agent, title=DEMO_KNOWLEDGE_TITLE).exists():
        add_document(agent, DEMO_KNOWLEDGE.encode(), filename="practice-information.md", title=DEMO_KNOWLEDGE_TITLE)

"""The scale tests' database: migrated, the demo seeded, and their own rows, by a subprocess with the stack's env.

Run as `python -m tests.scale.seed '<json args>'`; prints the ids the tests need as JSON.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from pathlib import Path

SCALE_NUMBER = "+15550100001"
RESUME_NUMBER = "+15550100003"
DIALLER_NUMBER = "+15550100002"
BUSY_ONCE = "+15557770003"
CONTACTS = ["+15557770001", "+15557770002", BUSY_ONCE, "+15557770004", "+15557770005"]
PII_TURNS = [
    ("agent", "Hello. How can I help?"),
    ("caller", "My card is 4111 1111 1111 1111 and my social is 123-45-6789."),
    ("agent", "Thanks. Can I email you at ada.lovelace@example.com or call 415-555-2671?"),
    ("caller", "Order 12345 for tomorrow please"),
]

# Short lines: every word costs real time in a simulated call.
FLOW = {
    "start": "ask",
    "nodes": {
        "ask": {"type": "ask", "text": "How can I help?", "routes": [
            {"intent": "booking", "keywords": ["book", "appointment"], "next": "day"},
            {"intent": "hours", "keywords": ["hours", "open"], "next": "hours"},
            {"intent": "bye", "keywords": ["bye", "goodbye"], "next": "bye"}]},
        "hours": {"type": "say", "text": "We open at nine.", "next": "more"},
        "day": {"type": "ask", "text": "Which day?", "routes": [
            {"intent": "day", "keywords": ["monday", "tuesday", "friday", "today", "tomorrow"], "capture": "day",
             "next": "booked"}]},
        "booked": {"type": "say", "text": "Booked for {day}.", "next": "more"},
        "more": {"type": "ask", "text": "Anything else?", "routes": [
            {"intent": "bye", "keywords": ["no", "bye", "goodbye", "nothing"], "next": "bye"},
            {"intent": "booking", "keywords": ["book", "appointment"], "next": "day"}]},
        "bye": {"type": "end", "text": "Goodbye."},
    },
}


def main(args: dict) -> dict:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)
    call_command("seed_demo", "--no-user", verbosity=0)
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.utils import timezone

    from automation.models import Campaign, Contact
    from calls.models import Agent, Call, PhoneNumber, Turn, Workspace

    workspace = Workspace.objects.get(slug="demo")
    user = get_user_model().objects.create_user("scale", password="not used: force_login")
    workspace.members.add(user)
    browser = Client()
    browser.force_login(user)

    def agent(name: str, **fields) -> Agent:
        return Agent.objects.create(workspace=workspace, name=name, greeting="Hi {name}.", flow=FLOW,
                                    silence_timeout_s=15, **fields)

    scale = agent("Scale", post_call_webhook_url=args["hook"] + "/hooks/scale", post_call_webhook_secret="s3cret")
    PhoneNumber.objects.create(workspace=workspace, e164=SCALE_NUMBER, carrier="twilio", agent=scale)
    resumer = agent("Resumer")  # no webhook: its calls must not touch the receiver the other tests script
    PhoneNumber.objects.create(workspace=workspace, e164=RESUME_NUMBER, carrier="twilio", agent=resumer)
    dialler = agent("Dialler")
    PhoneNumber.objects.create(workspace=workspace, e164=DIALLER_NUMBER, carrier="twilio", agent=dialler)
    campaign = Campaign.objects.create(workspace=workspace, agent=dialler, name="Scale", from_number=DIALLER_NUMBER,
                                       carrier="twilio", concurrency_cap=2, max_attempts=2, retry_delay_s=1,
                                       status=Campaign.Status.RUNNING)
    for n, number in enumerate(CONTACTS):
        Contact.objects.create(campaign=campaign, number=number, variables={"name": f"Contact {n}"})

    private = agent("Private", redact_pii=True, retention_days=30,
                    post_call_webhook_url=args["hook"] + "/hooks/private", post_call_webhook_secret="other")
    now = timezone.now()

    def call(owner: Agent, sid: str, days_ago: float, recording: str = "", turns=()) -> Call:
        at = now - timedelta(days=days_ago)
        made = Call.objects.create(workspace=workspace, agent=owner, carrier="twilio", carrier_call_id=sid,
                                   status="completed", created_at=at, answered_at=at,
                                   ended_at=at + timedelta(seconds=30), end_reason="caller-hung-up",
                                   recording=recording)
        for index, (role, text) in enumerate(turns):
            Turn.objects.create(call=made, index=index, role=role, text=text, started_at=at, ended_at=at)
        if recording:
            path = Path(os.environ["MEDIA_ROOT"]) / recording
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"RIFF....WAVE")
        return made

    return {
        "workspace": workspace.pk,
        "session": browser.cookies["sessionid"].value,
        "campaign": campaign.pk,
        "pii_call": call(private, "CA-pii", 0.1, turns=PII_TURNS).pk,
        "expired_call": call(private, "CA-expired", 40, "recordings/expired.wav").pk,
        "kept_recent": call(private, "CA-recent", 2, "recordings/recent.wav").pk,
        "kept_no_retention": call(scale, "CA-forever", 400).pk,
    }


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))

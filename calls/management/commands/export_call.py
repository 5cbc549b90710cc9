"""Print one call as JSON: the call, its turns (with interrupted/heard text), per-turn metrics and events."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from calls.export import call_as_dict
from calls.models import Call


class Command(BaseCommand):
    help = "Export a call (by carrier call id) as JSON."

    def add_arguments(self, parser):
        parser.add_argument("call_id", help="The carrier's call id (Twilio CallSid, Telnyx call_control_id, ...)")

    def handle(self, *args, call_id: str, **opts):
        call = Call.objects.filter(carrier_call_id=call_id).select_related("agent").first()
        if call is None:
            raise CommandError(f"no call with carrier id {call_id!r}")
        self.stdout.write(json.dumps(call_as_dict(call), indent=2, default=str))

"""Close the calls a dead server process left in progress (calls/instances.py); also run by Celery beat."""

from django.core.management.base import BaseCommand

from calls.instances import reconcile


class Command(BaseCommand):
    help = "Mark in-progress calls whose server stopped heartbeating as failed (server-lost) and run their post-call work."

    def handle(self, *args, **options):
        closed = reconcile()
        self.stdout.write(f"{len(closed)} call(s) closed as server-lost" + (f": {closed}" if closed else ""))

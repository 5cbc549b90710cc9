"""Close the calls a dead server process left in progress, and the ringing calls whose media never started
(calls/instances.py); also run by Celery beat and by every web process."""

from django.core.management.base import BaseCommand

from calls.instances import close_unstarted, reconcile


class Command(BaseCommand):
    help = ("Mark in-progress calls whose server stopped heartbeating as failed (server-lost), and ringing calls whose "
            "media stream never started as failed (no-media); run their post-call work.")

    def handle(self, *args, **options):
        closed = reconcile()
        unstarted = close_unstarted()
        self.stdout.write(f"{len(closed)} call(s) closed as server-lost" + (f": {closed}" if closed else ""))
        self.stdout.write(f"{len(unstarted)} call(s) closed as no-media" + (f": {unstarted}" if unstarted else ""))

"""Create an API token from the command line (deploy scripts, CI) and print its key, which is not stored."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from calls.models import Workspace

from ...models import ApiToken, Scope, parse_expiry


class Command(BaseCommand):
    help = "Create an API token for a workspace and print its key (shown once; only its hash is kept)."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="Workspace slug or id.")
        parser.add_argument("--scope", action="append", choices=Scope.values, required=True, dest="scopes",
                            help="Repeat for several: read, calls:write, agents:write, admin.")
        parser.add_argument("--expires", default="90d", help="30d, 12h, 90m, 2w, or never (default 90d).")
        parser.add_argument("--name", default="command line", help="What uses the token.")

    def handle(self, *args, workspace: str, scopes: list[str], expires: str, name: str, **opts):
        match = Q(slug=workspace) | (Q(pk=int(workspace)) if workspace.isdigit() else Q())
        found = Workspace.objects.filter(match).first()
        if found is None:
            raise CommandError(f"no workspace with slug or id {workspace!r}")
        try:
            expires_at = parse_expiry(expires)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        token, key = ApiToken.issue(found, name[:80], scopes=scopes, expires_at=expires_at)
        until = expires_at.isoformat(timespec="minutes") if expires_at else "never"
        self.stderr.write(f"Token {token.name!r} for {found.slug}: scopes {', '.join(token.scopes)}; expires {until}")
        self.stdout.write(key)

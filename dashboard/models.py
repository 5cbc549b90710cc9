"""Dashboard-only data: API tokens. Everything else the dashboard shows belongs to `calls.models`."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from django.db import models
from django.utils import timezone

from calls.models import Workspace

TOKEN_PREFIX = "vb_"


class Scope(models.TextChoices):
    """What a token may do. Scopes do not imply each other, except `admin`, which holds them all."""

    READ = "read", "read: list and read agents, numbers, calls, campaigns, documents, deliveries, metrics"
    CALLS_WRITE = "calls:write", "calls:write: place and hang up calls, create and cancel campaigns"
    AGENTS_WRITE = "agents:write", "agents:write: create, change and delete agents, numbers and documents"
    ADMIN = "admin", "admin: everything, and redeliver webhooks"


# What a token could do before scopes existed (and what `issue` gives when none are named): read and place calls.
LEGACY_SCOPES = (Scope.READ.value, Scope.CALLS_WRITE.value)


_LIFETIME = re.compile(r"^(\d{1,5})([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_expiry(text: str, now: datetime | None = None) -> datetime | None:
    """'30d', '12h', '90m', '2w' -> that long from now; 'never' -> None. ValueError for anything else."""
    text = text.strip().lower()
    if text == "never":
        return None
    match = _LIFETIME.match(text)
    if match is None or int(match.group(1)) == 0:
        raise ValueError(f"{text!r} is not a lifetime: use e.g. 30d, 12h, 90m, 2w or never")
    return (now or timezone.now()) + timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def hash_key(key: str) -> str:
    """SHA-256 of the key. Keys are 256-bit random, so a fast unsalted hash is enough (nothing to brute-force)."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token for the JSON API, scoped to one workspace. Only the hash is stored; the key is shown once."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    key_hash = models.CharField(max_length=64, unique=True)
    # The first characters of the key, so a user can tell tokens apart without the secret.
    key_prefix = models.CharField(max_length=12)
    scopes = models.JSONField(default=list, blank=True, help_text="Scope values (dashboard.models.Scope).")
    expires_at = models.DateTimeField(null=True, blank=True, help_text="None: never expires.")
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"

    @classmethod
    def issue(cls, workspace: Workspace, name: str, scopes=LEGACY_SCOPES,
              expires_at: datetime | None = None) -> tuple[ApiToken, str]:
        """Create a token; return it with the plain key, which is never stored and cannot be shown again."""
        unknown = set(scopes) - set(Scope.values)
        if unknown:
            raise ValueError(f"unknown scope(s): {', '.join(sorted(unknown))}")
        key = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(workspace=workspace, name=name, key_hash=hash_key(key), key_prefix=key[:10],
                                   scopes=sorted(set(scopes)), expires_at=expires_at)
        return token, key

    @classmethod
    def find(cls, key: str) -> ApiToken | None:
        return cls.objects.select_related("workspace").filter(key_hash=hash_key(key)).first()

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    def allows(self, scope: str) -> bool:
        return Scope.ADMIN in self.scopes or scope in self.scopes

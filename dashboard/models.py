"""Dashboard-only data: API tokens. Everything else the dashboard shows belongs to `calls.models`."""

from __future__ import annotations

import hashlib
import secrets

from django.db import models

from calls.models import Workspace

TOKEN_PREFIX = "vb_"


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
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"

    @classmethod
    def issue(cls, workspace: Workspace, name: str) -> tuple[ApiToken, str]:
        """Create a token; return it with the plain key, which is never stored and cannot be shown again."""
        key = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(workspace=workspace, name=name, key_hash=hash_key(key), key_prefix=key[:10])
        return token, key

    @classmethod
    def find(cls, key: str) -> ApiToken | None:
        return cls.objects.select_related("workspace").filter(key_hash=hash_key(key)).first()

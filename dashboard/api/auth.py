"""Bearer tokens with scopes: which workspace a request acts on, and whether its token may do this.

No session, so no CSRF concerns for API clients (and a logged-in dashboard session is not an API credential).
A missing or unknown key is 401; a known key without the operation's scope is 403 `insufficient_scope`.
"""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from ..models import ApiToken, Scope
from .errors import ApiError

# Writing last_used on every request would turn each read into a write; once a minute is plenty.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenAuth(HttpBearer):
    """`Authorization: Bearer <key>`, where the key's token holds `scope` (or admin)."""

    def __init__(self, scope: str) -> None:
        super().__init__()
        self.scope = scope

    def authenticate(self, request: HttpRequest, key: str) -> ApiToken:
        token = ApiToken.find(key.strip()) if key.strip() else None
        if token is None:
            raise ApiError(401, "unauthorized", "Unknown or revoked API key.")
        if token.expired:
            raise ApiError(401, "token_expired", "This API key has expired. Create a new one on the API tokens page.")
        if not token.allows(self.scope):
            raise ApiError(403, "insufficient_scope", f"This API key lacks the {self.scope!r} scope "
                           f"(it has: {', '.join(token.scopes) or 'none'}).")
        now = timezone.now()
        if token.last_used is None or now - token.last_used > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used=now)
        request.workspace = token.workspace
        return token


def needs(scope: Scope) -> dict:
    """An operation's keyword arguments for `scope`: the auth, and the scope named in the OpenAPI document."""
    return {"auth": TokenAuth(scope.value), "openapi_extra": {"x-required-scope": scope.value}}


READ = needs(Scope.READ)
CALLS_WRITE = needs(Scope.CALLS_WRITE)
AGENTS_WRITE = needs(Scope.AGENTS_WRITE)
ADMIN = needs(Scope.ADMIN)

"""Bearer-token authentication for the JSON API (no session, so no CSRF concerns for API clients)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from .models import ApiToken

# Writing last_used on every request would turn each read into a write; once a minute is plenty.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def unauthorized(detail: str) -> JsonResponse:
    response = JsonResponse({"error": "unauthorized", "detail": detail}, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="voicebot"'
    return response


def token_from(request: HttpRequest) -> ApiToken | None:
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None
    return ApiToken.find(key.strip())


def token_required(view: Callable) -> Callable:
    """Sets request.api_token / request.workspace, or answers 401 in JSON."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not request.headers.get("Authorization"):
            return unauthorized("Send 'Authorization: Bearer <key>'. Create a key on the API tokens page.")
        token = token_from(request)
        if token is None:
            return unauthorized("Unknown or revoked API key.")
        now = timezone.now()
        if token.last_used is None or now - token.last_used > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used=now)
        request.api_token = token
        request.workspace = token.workspace
        return view(request, *args, **kwargs)

    return wrapper

"""Mounted at /api/ by voicebot.urls, in the `api` namespace (the one the OpenAPI view reverses)."""

from __future__ import annotations

from django.http import JsonResponse
from django.urls import re_path
from django.views.decorators.csrf import csrf_exempt

from .app import api


@csrf_exempt  # no cookie authenticates the API, so there is nothing to forge; any method gets the JSON 404
def no_such_endpoint(request, rest: str = ""):
    # A path no operation matches (`/api/agents/abc`) is a JSON 404 like every other API error, not the
    # dashboard's HTML page.
    return JsonResponse({"error": "not_found", "detail": "No such API endpoint."}, status=404)


app_name = "api"
urlpatterns = [*api.urls[0], re_path(r"^(?P<rest>.*)$", no_such_endpoint, name="no-such-endpoint")]

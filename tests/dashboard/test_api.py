"""The JSON API: bearer tokens, workspace scoping, and an OpenAPI description that matches the routes."""

from __future__ import annotations

import re

import pytest
from django.urls import Resolver404, resolve, reverse

from dashboard.models import ApiToken, hash_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def key_a(ws_a):
    return ApiToken.issue(ws_a, "tests")[1]


def auth(key: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


@pytest.mark.parametrize("path", ["/api/calls", "/api/calls/1", "/api/metrics"])
def test_no_or_bad_token_is_401(client, user_a, path, key_a):
    assert client.get(path).status_code == 401
    for header in ("Bearer nope", "Basic Zm9vOmJhcg==", "Bearer ", key_a):
        response = client.get(path, HTTP_AUTHORIZATION=header)
        assert response.status_code == 401, header
        assert response["WWW-Authenticate"].startswith("Bearer")
    client.force_login(user_a)  # a dashboard session is not an API credential
    assert client.get(path).status_code == 401


def test_token_sees_only_own_calls(client, key_a, call_a, call_b):
    body = client.get("/api/calls", **auth(key_a)).json()
    assert body["count"] == 1 and [c["carrier_call_id"] for c in body["results"]] == ["CA-alpha"]
    detail = client.get(f"/api/calls/{call_a.pk}", **auth(key_a)).json()
    assert detail["id"] == call_a.pk and len(detail["turns"]) == 5
    assert detail["turns"][2]["interrupted"] and detail["turns"][2]["metrics"]["end_to_end_ms"] == 450
    missing = client.get(f"/api/calls/{call_b.pk}", **auth(key_a))
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    # Filters and search work through the API, and cannot reach into workspace B.
    assert client.get("/api/calls", {"q": "bravo"}, **auth(key_a)).json()["count"] == 0
    assert client.get("/api/calls", {"q": "cleaning"}, **auth(key_a)).json()["count"] == 1
    assert client.get("/api/calls", {"agent": call_b.agent_id}, **auth(key_a)).json()["count"] == 0
    assert client.get("/api/calls", {"status": "bogus"}, **auth(key_a)).status_code == 400


def test_metrics(client, key_a, call_a, agent_b):
    body = client.get("/api/metrics", **auth(key_a)).json()
    assert body["calls"] == 1 and body["latency_ms"]["end_to_end_ms"]["p50"] == 485
    assert body["interruption_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert client.get("/api/metrics", {"agent": agent_b.pk}, **auth(key_a)).status_code == 404


def test_token_pages_show_the_key_once_and_store_a_hash(client_a, ws_a):
    response = client_a.post(reverse("dashboard:tokens"), {"name": "BI export"}, follow=True)
    match = re.search(r'id="new-key-value">(vb_[\w-]+)<', response.content.decode())
    assert match, "the new key is shown after creating it"
    key = match.group(1)
    token = ApiToken.objects.get(workspace=ws_a)
    assert token.key_hash == hash_key(key) and key not in (token.key_hash, token.key_prefix)
    assert key not in client_a.get(reverse("dashboard:tokens")).content.decode()  # only once
    assert client_a.get("/api/calls", **auth(key)).status_code == 200
    client_a.post(reverse("dashboard:token-delete", args=[token.pk]))
    assert client_a.get("/api/calls", **auth(key)).status_code == 401


def test_token_of_other_workspace_cannot_be_revoked(client_a, ws_b):
    token, _ = ApiToken.issue(ws_b, "theirs")
    assert client_a.post(reverse("dashboard:token-delete", args=[token.pk])).status_code == 404
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_openapi_paths_resolve_to_the_api_views(client):
    # The document is generated from the routes (django-ninja), so it is compared with the URL resolver both ways:
    # every documented path resolves to an API view, and every API route is documented with its methods.
    spec = client.get("/api/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    for template, operations in spec["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "1", template)
        try:
            match = resolve(concrete)
        except Resolver404:
            pytest.fail(f"OpenAPI path {template} does not resolve")
        assert match.namespace == "api", template
        assert set(operations) <= {"get", "post", "patch", "put", "delete"}, template
    from dashboard.api import urls

    documented = {re.sub(r"\{([^}]+)\}", r"<int:\1>", p).removeprefix("/api/") for p in spec["paths"]}
    # Besides the operations: the document itself, ninja's root (a 404 it reverses to find the prefix) and the
    # JSON 404 for any other path.
    routes = {str(p.pattern) for p in urls.urlpatterns} - {"openapi.json", "", "^(?P<rest>.*)$"}
    assert routes == documented
    # Every operation says which scope it needs, and the error answers are documented with their shape.
    for template, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert operation["x-required-scope"] in {"read", "calls:write", "agents:write", "admin"}, template
            assert operation["responses"]["401"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"}, template
    # Today's routes are still there, with the methods they had.
    assert "post" in spec["paths"]["/api/calls/outbound"] and "get" in spec["paths"]["/api/calls/{pk}"]
    assert {"/api/calls", "/api/metrics"} <= set(spec["paths"])

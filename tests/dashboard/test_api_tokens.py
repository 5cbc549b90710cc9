"""Tokens: scopes and expiry from the dashboard page and from `manage.py create_api_token`; bad input to the API
(unknown fields, bodies that are not objects, oversize bodies) is a 4xx in the one error shape."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from calls.models import Agent
from dashboard.models import ApiToken, hash_key, parse_expiry

from .api_client import ApiClient

pytestmark = pytest.mark.django_db


def test_the_page_creates_a_scoped_expiring_token(client_a, ws_a):
    response = client_a.post(reverse("dashboard:tokens"), {"name": "CRM", "scopes": ["read", "agents:write"],
                                                           "expires": "30d"}, follow=True)
    key = re.search(r'id="new-key-value">(vb_[\w-]+)<', response.content.decode()).group(1)
    token = ApiToken.objects.get(workspace=ws_a)
    assert token.scopes == ["agents:write", "read"] and token.key_hash == hash_key(key)
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
    assert "agents:write, read" in response.content.decode()
    api = ApiClient(client_a, key)
    assert api.post("/api/agents", {"name": "From CRM"}).status_code == 201
    assert api.post("/api/calls/outbound", {"agent": 1, "to": "+15557770001"}).status_code == 403


def test_the_page_gives_read_only_when_no_scope_is_ticked_and_refuses_unknown_ones(client_a, ws_a):
    client_a.post(reverse("dashboard:tokens"), {"name": "Plain"})
    token = ApiToken.objects.get()
    assert token.scopes == ["read"] and token.expires_at is not None
    response = client_a.post(reverse("dashboard:tokens"), {"name": "Root", "scopes": ["superuser"]})
    assert response.status_code == 400 and ApiToken.objects.count() == 1


def test_an_expired_token_is_refused(client, ws_a):
    token, key = ApiToken.issue(ws_a, "old", scopes=["admin"], expires_at=timezone.now() - timedelta(seconds=1))
    response = ApiClient(client, key).get("/api/calls")
    assert response.status_code == 401 and response.json()["error"] == "token_expired"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_the_command_prints_a_working_key(client, ws_a):
    out, err = StringIO(), StringIO()
    call_command("create_api_token", "--workspace", "acme", "--scope", "read", "--scope", "calls:write",
                 "--expires", "12h", "--name", "deploy", stdout=out, stderr=err)
    key = out.getvalue().strip()
    token = ApiToken.objects.get(key_hash=hash_key(key))
    assert token.scopes == ["calls:write", "read"] and token.name == "deploy" and token.workspace == ws_a
    assert timedelta(hours=11) < token.expires_at - timezone.now() <= timedelta(hours=12)
    assert key not in err.getvalue() and "calls:write" in err.getvalue()
    assert ApiClient(client, key).get("/api/calls").status_code == 200


@pytest.mark.parametrize("args", [
    ["--workspace", "nope", "--scope", "read"],
    ["--workspace", "acme", "--scope", "read", "--expires", "soon"],
])
def test_the_command_refuses_bad_arguments(ws_a, args):
    with pytest.raises(CommandError):
        call_command("create_api_token", *args, stdout=StringIO(), stderr=StringIO())
    assert not ApiToken.objects.exists()


def test_expiry_parsing():
    now = timezone.now()
    assert parse_expiry("2w", now) == now + timedelta(weeks=2) and parse_expiry("never") is None
    for bad in ("0d", "3y", "-1d", ""):
        with pytest.raises(ValueError):
            parse_expiry(bad, now)


@pytest.fixture
def admin(client, ws_a):
    return ApiClient.issue(client, ws_a, "admin")


@pytest.mark.parametrize(("body", "code"), [
    ("[]", "validation_error"),
    ('"a string"', "validation_error"),
    ("{not json", "bad_request"),
    ('{"name": "X", "unknown": 1}', "validation_error"),
    ('{"name": 42}', "validation_error"),
])
def test_bodies_that_are_not_agents_are_400(admin, body, code):
    response = admin.post("/api/agents", body)
    assert response.status_code == 400 and response.json()["error"] == code, response.content
    assert not Agent.objects.exists()


def test_an_oversize_body_is_413_and_writes_nothing(settings, admin):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = admin.post("/api/agents", {"name": "Big", "greeting": "la " * 5000})
    assert response.status_code == 413 and response.json()["error"] == "payload_too_large"
    assert not Agent.objects.exists()


def test_unknown_fields_on_outbound_are_named(admin, number_a):
    response = admin.post("/api/calls/outbound", {"agent": number_a.agent_id, "to": "+15557770001", "colour": 1})
    assert response.status_code == 400 and response.json()["fields"] == {"colour": ["Unknown field."]}

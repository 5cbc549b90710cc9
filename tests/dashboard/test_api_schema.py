"""Schemathesis against the generated OpenAPI document: for every operation, requests generated from the schema
(valid and invalid) never make a 500, and every answer matches what the document says (status, content type,
body schema). The requests go through Django's WSGI handler in-process, on the test's database.

Carriers are not configured here, so generated outbound calls, hang-ups and campaign starts stop at
`carrier_not_configured` / `hangup_unsupported` before any network."""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from calls.models import Call
from dashboard.models import ApiToken

from .conftest import SAMPLE_TURNS, make_call

pytestmark = pytest.mark.django_db

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())
KEY: dict[str, str] = {}  # the admin key of the test that runs (each test has its own database)


@schema.auth(refresh_interval=None)
class BearerKey:
    """Given to schemathesis as the auth, so it knows a request is authenticated (and still generates requests
    without a key, or with a wrong one, expecting a 401)."""

    def get(self, case, context):
        return KEY.get("admin", "")  # also asked once at collection, before any test has a key

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture
def seeded(settings, ws_a, agent_a, number_a, call_a):
    """Something to find in workspace A (an agent, a number, a finished and a live call) and its admin key."""
    settings.TWILIO_CREDENTIALS_ARE_REAL = False
    settings.TELNYX_API_KEY = ""
    make_call(ws_a, agent_a, "CA-live", turns=SAMPLE_TURNS[:1], status=Call.Status.IN_PROGRESS)
    KEY["admin"] = ApiToken.issue(ws_a, "schemathesis", scopes=["admin"])[1]
    yield
    KEY.clear()


# 25 examples per operation keep it near 15 s in `make test`; API_SCHEMA_EXAMPLES=200 for a deeper run (~4 min).
@schema.parametrize()
@hypothesis_settings(max_examples=int(os.environ.get("API_SCHEMA_EXAMPLES", "25")), deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_the_api_keeps_to_its_openapi_document(case, seeded):
    # All of schemathesis's default checks but one: "schema-valid data is accepted" cannot hold, because the
    # checks behind a 400 go further than a JSON schema can say (a flow that compiles, a provider the registry
    # knows, a number not bound elsewhere). Invalid data must still be refused, and nothing may be a 500.
    case.call_and_validate(excluded_checks=[positive_data_acceptance])

"""Binding numbers: E.164 validation, one binding per (number, carrier), and the webhook URLs to paste."""

from __future__ import annotations

import pytest
from django.urls import reverse

from calls.models import PhoneNumber
from dashboard.forms import normalize_e164

pytestmark = pytest.mark.django_db


def test_bind_number_normalises_pasted_formatting(client_a, ws_a, agent_a):
    response = client_a.post(
        reverse("dashboard:numbers"), {"e164": "+1 (415) 555-0123", "carrier": "telnyx", "agent": agent_a.pk}
    )
    assert response.status_code == 302
    number = PhoneNumber.objects.get(workspace=ws_a)
    assert (number.e164, number.carrier, number.agent) == ("+14155550123", "telnyx", agent_a)


@pytest.mark.parametrize("raw", ["4155550123", "+0155550123", "+1415abc0123", "+1234567890123456", "+12"])
def test_invalid_numbers_are_refused(client_a, agent_a, raw):
    response = client_a.post(reverse("dashboard:numbers"), {"e164": raw, "carrier": "twilio", "agent": agent_a.pk})
    assert response.status_code == 400 and "Not an E.164 number" in response.content.decode()
    assert not PhoneNumber.objects.exists()


def test_a_number_is_bound_once_per_carrier_across_workspaces(client_a, agent_a, number_b):
    response = client_a.post(
        reverse("dashboard:numbers"), {"e164": number_b.e164, "carrier": number_b.carrier, "agent": agent_a.pk}
    )
    html = response.content.decode()
    assert response.status_code == 400 and "is already bound on Telnyx" in html
    assert "Bolt" not in html  # whose it is stays private
    # The same number on the other carrier is fine.
    ok = client_a.post(reverse("dashboard:numbers"), {"e164": number_b.e164, "carrier": "twilio", "agent": agent_a.pk})
    assert ok.status_code == 302


def test_rebind_and_unbind(client_a, ws_a, agent_a, number_a):
    other = type(agent_a).objects.create(workspace=ws_a, name="Night shift", flow=agent_a.flow)
    response = client_a.post(
        reverse("dashboard:number-edit", args=[number_a.pk]),
        {"e164": number_a.e164, "carrier": number_a.carrier, "agent": other.pk},
    )
    assert response.status_code == 302
    number_a.refresh_from_db()
    assert number_a.agent == other
    client_a.post(reverse("dashboard:number-delete", args=[number_a.pk]))
    assert not PhoneNumber.objects.filter(pk=number_a.pk).exists()


def test_page_shows_webhook_urls_and_signature_state(client_a, settings, agent_a):
    settings.PUBLIC_BASE_URL = "https://voice.example.com"
    settings.TWILIO_CREDENTIALS_ARE_REAL = True
    from voicebot.env import local_ed25519_keypair

    settings.TELNYX_PUBLIC_KEY = local_ed25519_keypair(settings.VAR_DIR)[1]  # the generated stand-in
    settings.TELNYX_CREDENTIALS_ARE_REAL = False
    html = client_a.get(reverse("dashboard:numbers")).content.decode()
    for path in ("/twilio/voice", "/twilio/status", "/telnyx/texml", "/telnyx/status", "/telnyx/events"):
        assert f'data-copy="https://voice.example.com{path}"' in html, path
    assert "wss://voice.example.com/media/twilio" in html
    assert "Signatures are checked with TWILIO_AUTH_TOKEN." in html
    assert "set TELNYX_PUBLIC_KEY" in html
    settings.TELNYX_PUBLIC_KEY = "cG9ydGFsIGtleQ=="  # as if pasted from the Telnyx portal
    settings.TELNYX_CREDENTIALS_ARE_REAL = True
    assert (
        "Signatures are checked with TELNYX_PUBLIC_KEY." in client_a.get(reverse("dashboard:numbers")).content.decode()
    )


def test_normalize_e164():
    assert normalize_e164(" +44 20 7946.0958 ") == "+442079460958"

"""The agent form's language and the voice sample that speaks it, with the agent's voice options."""

from __future__ import annotations

import io
import json
import wave

import pytest
from django.urls import reverse

from calls.models import Agent

from .test_agents import form_data

pytestmark = pytest.mark.django_db


def test_the_form_offers_the_languages_and_refuses_others_beside_the_field(client_a, ws_a):
    page = client_a.get(reverse("dashboard:agent-new")).content.decode()
    assert '<option value="es-MX">' in page and 'name="language"' in page
    response = client_a.post(reverse("dashboard:agent-new"), form_data(name="Accueil", language="fr-FR"))
    assert response.status_code == 302 and Agent.objects.get(workspace=ws_a, name="Accueil").language == "fr-FR"
    bad = client_a.post(reverse("dashboard:agent-new"), form_data(name="Klingon", language="tlh"))
    assert bad.status_code == 400 and "Select a valid choice" in bad.context["form"].errors["language"][0]
    assert not Agent.objects.filter(name="Klingon").exists()


def test_an_agent_saved_without_the_field_keeps_its_language(client_a, ws_a):
    agent = Agent.objects.create(workspace=ws_a, name="Empfang", language="de-DE", voice="en-us", tts_provider="espeak")
    response = client_a.post(reverse("dashboard:agent-edit", args=[agent.pk]), form_data(name="Empfang"))
    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.language == "de-DE"


def test_a_voice_knob_out_of_range_is_an_error_on_the_options(client_a):
    response = client_a.post(reverse("dashboard:agent-new"), form_data(
        provider_options=json.dumps({"tts": {"noise_scale": "loud"}})))
    assert response.status_code == 400
    assert 'tts "noise_scale" must be a number' in response.context["form"].errors["provider_options"][0]


def sample(client, **params) -> tuple[int, str, float]:
    response = client.get(reverse("dashboard:voice-sample"), params)
    assert response.status_code == 200, response.content
    with wave.open(io.BytesIO(response.content)) as wav:
        return wav.getframerate(), response["X-Voice"], wav.getnframes() / wav.getframerate()


def test_hear_this_voice_speaks_the_agents_language_as_a_call_would(client_a):
    rate, voice, seconds = sample(client_a, provider="piper", voice="en_US-joe-medium", language="es-ES",
                                  text="Buenos días, ¿en qué puedo ayudarle?")
    assert voice == "espeak es" and rate == 22050 and seconds > 1.0  # Piper has no Spanish voice
    assert sample(client_a, provider="piper", voice="en_US-joe-medium", language="en-US")[1] == "piper en_US-joe-medium"


def test_hear_this_voice_uses_the_agents_piper_speed(client_a):
    text = "Thanks for calling, how can I help you today?"
    slow = sample(client_a, provider="piper", voice="joe", text=text, options=json.dumps({"speed": 0.6}))[2]
    fast = sample(client_a, provider="piper", voice="joe", text=text, options=json.dumps({"length_scale": 0.6}))[2]
    assert slow > 1.6 * fast  # length 1/0.6 against 0.6: about 2.8 times as long
    bad = client_a.get(reverse("dashboard:voice-sample"), {"provider": "piper", "options": '{"speed": 7}'})
    assert bad.status_code == 400 and "speed" in bad.content.decode()

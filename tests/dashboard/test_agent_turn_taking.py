"""The agent form takes the turn-taking section of provider_options (how callers interrupt the agent)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from calls.models import Agent

from .test_agents import form_data

pytestmark = pytest.mark.django_db


def test_an_interruption_strategy_and_its_options_are_saved(client_a, ws_a):
    options = '{"turn_taking": {"interruption": "words", "words": {"min_words": 3, "language": "es"}}}'
    response = client_a.post(reverse("dashboard:agent-new"), form_data(provider_options=options))
    assert response.status_code == 302
    agent = Agent.objects.get(workspace=ws_a, name="Front desk")
    assert agent.provider_options["turn_taking"]["words"] == {"min_words": 3, "language": "es"}


def test_an_unknown_interruption_strategy_is_refused_beside_the_field(client_a, ws_a):
    response = client_a.post(reverse("dashboard:agent-new"),
                             form_data(provider_options='{"turn_taking": {"interruption": "psychic"}}'))
    assert response.status_code == 400
    assert "Unknown interruption strategy &#x27;psychic&#x27;" in response.content.decode()
    assert not Agent.objects.filter(workspace=ws_a).exists()

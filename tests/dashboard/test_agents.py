"""Agent forms: validation beside the field, nothing half-saved, clone, delete, voice sample."""

from __future__ import annotations

import io
import json
import wave

import pytest
from django.urls import reverse

from calls.flows.demo import DEMO_FLOW
from calls.models import Agent, Call

from .conftest import make_call

pytestmark = pytest.mark.django_db


def form_data(**overrides) -> dict:
    data = {
        "name": "Front desk",
        "greeting": "Hi there!",
        "flow": json.dumps(DEMO_FLOW),
        "stt_provider": "whisper",
        "llm_provider": "flow",
        "tts_provider": "espeak",
        "provider_options": "{}",
        "voice": "en-us",
        "barge_in_enabled": "on",
        "barge_in_min_ms": "200",
        "end_of_turn": "silence+provider",
        "end_of_turn_silence_ms": "300",
        "end_of_turn_max_silence_ms": "1200",
        "smart_turn_silence_ms": "120",
        "silence_timeout_s": "8",
        "max_reprompts": "2",
        "max_duration_s": "600",
    }
    data.update(overrides)
    return data


def test_create_agent(client_a, ws_a):
    response = client_a.post(reverse("dashboard:agent-new"), form_data())
    agent = Agent.objects.get(workspace=ws_a, name="Front desk")
    assert response.status_code == 302 and response["Location"] == reverse("dashboard:agent-edit", args=[agent.pk])
    assert agent.flow == DEMO_FLOW and agent.voice == "en-us" and agent.barge_in_enabled


def test_an_agent_can_choose_how_its_callers_turns_end(client_a, ws_a):
    page = client_a.get(reverse("dashboard:agent-new")).content.decode()
    for value in ("silence+provider", "silence", "smart-turn", "provider"):
        assert f'<option value="{value}"' in page
    assert 'name="end_of_turn_max_silence_ms"' in page and 'name="smart_turn_silence_ms"' in page
    options = '{"turn_taking": {"smart-turn": {"threshold": 0.6}}}'
    response = client_a.post(reverse("dashboard:agent-new"), form_data(
        end_of_turn="smart-turn", end_of_turn_max_silence_ms="1500", smart_turn_silence_ms="140",
        provider_options=options))
    assert response.status_code == 302
    agent = Agent.objects.get(workspace=ws_a, name="Front desk")
    assert (agent.end_of_turn, agent.end_of_turn_max_silence_ms, agent.smart_turn_silence_ms) == ("smart-turn", 1500,
                                                                                                  140)

    from calls.session.factory import agent_settings

    settings = agent_settings(agent)
    assert settings.end_of_turn == "smart-turn" and settings.end_of_turn_max_silence_ms == 1500
    assert settings.smart_turn_silence_ms == 140 and settings.turn_taking_options == {"smart-turn": {"threshold": 0.6}}


def test_smart_turn_needs_a_longest_wait_beyond_the_asking_silence(client_a, ws_a):
    response = client_a.post(reverse("dashboard:agent-new"), form_data(
        end_of_turn="smart-turn", end_of_turn_max_silence_ms="400", smart_turn_silence_ms="500"))
    assert response.status_code == 400
    assert 'data-error-for="end_of_turn_max_silence_ms"' in response.content.decode()
    assert not Agent.objects.filter(workspace=ws_a).exists()


def test_new_agent_page_has_starter_flow_and_diagram(client_a):
    page = client_a.get(reverse("dashboard:agent-new")).content.decode()
    assert "&quot;start&quot;" in page and 'data-testid="flow-diagram"' in page


def test_invalid_flow_shows_the_flow_error_and_saves_nothing(client_a, ws_a, agent_a):
    flow = json.loads(json.dumps(DEMO_FLOW))
    flow["nodes"]["ask_help"]["routes"][1]["next"] = "bookng"
    response = client_a.post(
        reverse("dashboard:agent-edit", args=[agent_a.pk]), form_data(name="Renamed", flow=json.dumps(flow))
    )
    assert response.status_code == 400
    html = response.content.decode()
    # The FlowError's own words, beside the flow field.
    assert "node &#x27;ask_help&#x27;: route 2 &#x27;next&#x27; points to unknown node &#x27;bookng&#x27;" in html
    assert 'data-error-for="flow"' in html
    agent_a.refresh_from_db()
    assert agent_a.name == "Receptionist" and agent_a.flow == DEMO_FLOW  # nothing half-saved


def test_json_syntax_error_names_line_and_column(client_a, ws_a):
    response = client_a.post(reverse("dashboard:agent-new"), form_data(flow='{"start": "a",\n  "nodes": }'))
    assert response.status_code == 400
    assert "Not valid JSON: Expecting value (line 2, column 12)." in response.content.decode()
    assert not Agent.objects.filter(workspace=ws_a).exists()


@pytest.mark.parametrize(
    "options, message",
    [
        ('["not", "an", "object"]', "Must be a JSON object"),
        ('{"sst": {}}', "Unknown section &#x27;sst&#x27;"),
        ('{"tts": "fast"}', "&#x27;tts&#x27; must be an object"),
        (
            '{"tools": [{"name": "lookup", "url": "ftp://x"}]}',
            "&#x27;tools&#x27; item 1: tool lookup: url must be http(s)",
        ),
    ],
)
def test_provider_options_are_validated(client_a, ws_a, options, message):
    response = client_a.post(reverse("dashboard:agent-new"), form_data(provider_options=options))
    assert response.status_code == 400 and message in response.content.decode()
    assert not Agent.objects.filter(workspace=ws_a).exists()


def test_other_field_errors(client_a, ws_a, agent_a):
    response = client_a.post(
        reverse("dashboard:agent-new"),
        form_data(name="Receptionist", voice="xx-nonexistent", barge_in_min_ms="-5", stt_provider="telepathy"),
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "Another agent in this workspace already has this name." in html
    assert "eSpeak has no voice &#x27;xx-nonexistent&#x27;" in html
    assert 'data-error-for="barge_in_min_ms"' in html and 'data-error-for="stt_provider"' in html
    assert Agent.objects.filter(workspace=ws_a).count() == 1


def test_flow_brain_needs_a_flow(client_a):
    response = client_a.post(reverse("dashboard:agent-new"), form_data(flow=""))
    assert response.status_code == 400 and "The Flow brain needs a flow" in response.content.decode()
    assert client_a.post(reverse("dashboard:agent-new"), form_data(flow="", llm_provider="openai")).status_code == 302


def test_same_name_in_another_workspace_is_fine(client_a, agent_b):
    assert client_a.post(reverse("dashboard:agent-new"), form_data(name=agent_b.name)).status_code == 302


def test_edit_page_draws_the_flow_diagram(client_a, agent_a):
    html = client_a.get(reverse("dashboard:agent-edit", args=[agent_a.pk])).content.decode()
    assert 'id="node-recording_notice"' in html and 'href="#node-goodbye"' in html
    assert "At every question" in html  # the demo's global routes


def test_clone(client_a, ws_a, agent_a, number_a):
    url = reverse("dashboard:agent-clone", args=[agent_a.pk])
    client_a.post(url)
    response = client_a.post(url)
    names = set(Agent.objects.filter(workspace=ws_a).values_list("name", flat=True))
    assert names == {"Receptionist", "Receptionist (copy)", "Receptionist (copy 2)"}
    clone = Agent.objects.get(name="Receptionist (copy 2)")
    assert response["Location"] == reverse("dashboard:agent-edit", args=[clone.pk])
    assert clone.flow == agent_a.flow and clone.greeting == agent_a.greeting and clone.numbers.count() == 0


def test_delete_keeps_calls(client_a, ws_a, agent_a):
    call = make_call(ws_a, agent_a, "CA-del")
    assert client_a.get(reverse("dashboard:agent-delete", args=[agent_a.pk])).status_code == 200
    response = client_a.post(reverse("dashboard:agent-delete", args=[agent_a.pk]))
    assert response.status_code == 302 and not Agent.objects.filter(pk=agent_a.pk).exists()
    assert Call.objects.get(pk=call.pk).agent is None


def test_delete_refused_while_a_number_uses_the_agent(client_a, agent_a, number_a):
    response = client_a.post(reverse("dashboard:agent-delete", args=[agent_a.pk]), follow=True)
    assert Agent.objects.filter(pk=agent_a.pk).exists()
    assert "still answers phone numbers" in response.content.decode()


def test_voice_sample_is_a_wav(client_a):
    response = client_a.get(reverse("dashboard:voice-sample"), {"voice": "en-gb", "text": "Testing one two."})
    assert response.status_code == 200 and response["Content-Type"] == "audio/wav"
    with wave.open(io.BytesIO(response.content)) as wav:
        assert wav.getnchannels() == 1 and wav.getsampwidth() == 2 and wav.getnframes() > wav.getframerate() // 2
    bad = client_a.get(reverse("dashboard:voice-sample"), {"voice": "xx-nonexistent"})
    assert bad.status_code == 400


def test_all_provider_option_sections_are_accepted(client_a, ws_a):
    options = {
        "stt": {"language": "en"},
        "llm": {"model": "gpt-4o-mini"},
        "tts": {"transport": "websocket"},
        "telephony": {"codec": "L16", "sample_rate": 16000},
        "fallback": {"brain": "end", "line": "Sorry."},
        "tools": [
            {
                "name": "lookup_order",
                "url": "https://crm.example.com/hook",
                "secret": "s3cret",
                "parameters": {"type": "object", "properties": {}},
            }
        ],
    }
    response = client_a.post(
        reverse("dashboard:agent-new"),
        form_data(
            provider_options=json.dumps(options), llm_provider="openai", tts_provider="elevenlabs", voice="Rachel"
        ),
    )
    assert response.status_code == 302
    assert Agent.objects.get(workspace=ws_a).provider_options == options


def test_voice_sample_speaks_with_piper_when_the_agent_uses_it(client_a):
    response = client_a.get(reverse("dashboard:voice-sample"),
                            {"provider": "piper", "voice": "en_US-joe-medium", "text": "Testing one two."})
    assert response.status_code == 200 and response["Content-Type"] == "audio/wav"
    with wave.open(io.BytesIO(response.content)) as wav:
        assert wav.getframerate() == 22050 and wav.getnframes() > wav.getframerate() // 2
    bad = client_a.get(reverse("dashboard:voice-sample"), {"provider": "piper", "voice": "xx-nonexistent"})
    assert bad.status_code == 400

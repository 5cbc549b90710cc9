"""Prompt-first agents in the dashboard: start from a template, edit the prompt, save; a template with an unknown
{{variable}}, bad tools or bad analysis fields is refused beside its field and nothing is saved."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from calls.agent_templates import BY_KEY, TEMPLATES
from calls.models import Agent

from .test_agents import form_data

pytestmark = pytest.mark.django_db


def page_form(html: str) -> dict:
    """The values the agent page's form would post as it is drawn (inputs, textareas, selected options)."""
    data: dict[str, str] = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html):
        data[name] = value
    for name in re.findall(r'<input[^>]*type="checkbox"[^>]*name="([^"]+)"[^>]*checked', html):
        data[name] = "on"
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        data[name] = _unescape(body.lstrip("\n"))
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', body)
        if chosen:
            data[name] = chosen.group(1)
    data.pop("csrfmiddlewaretoken", None)
    return {k: _unescape(v) for k, v in data.items()}


def _unescape(text: str) -> str:
    return (text.replace("&quot;", '"').replace("&#x27;", "'").replace("&lt;", "<").replace("&gt;", ">")
            .replace("&amp;", "&"))


def prompt_agent(**overrides) -> dict:
    fields = BY_KEY["receptionist"].fields
    data = form_data(
        name="Desk", llm_provider="openai", flow="", greeting=fields["greeting"], system_prompt=fields["system_prompt"],
        variable_defaults=json.dumps(fields["variable_defaults"]), llm_model="gpt-4o-mini", end_call_enabled="on",
        transfer_targets=json.dumps(fields["transfer_targets"]), analysis_schema=json.dumps(fields["analysis_schema"]),
        tools="[]")
    data.update(overrides)
    return data


def test_the_agents_page_offers_each_template(client_a):
    html = client_a.get(reverse("dashboard:agents")).content.decode()
    for template in TEMPLATES:
        assert f"?template={template.key}" in html and template.title in html


def test_an_agent_made_from_a_template_is_saved_as_the_page_shows_it(client_a, ws_a):
    html = client_a.get(reverse("dashboard:agent-new") + "?template=lead_qualification").content.decode()
    data = page_form(html)
    assert data["system_prompt"].startswith("You are Alex, a friendly sales development representative for {{company}}")
    data["system_prompt"] += "\nAlways mention {{product}} by name."
    response = client_a.post(reverse("dashboard:agent-new"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    agent = Agent.objects.get(workspace=ws_a, name="Lead qualification")
    template = BY_KEY["lead_qualification"].fields
    assert agent.llm_provider == "openai" and agent.system_prompt.endswith("Always mention {{product}} by name.")
    assert agent.greeting == template["greeting"] and agent.analysis_schema == template["analysis_schema"]
    assert agent.variable_defaults == template["variable_defaults"] and agent.end_call_enabled
    # And the saved agent's page shows its prompt again.
    html = client_a.get(reverse("dashboard:agent-edit", args=[agent.pk])).content.decode()
    assert "Always mention {{product}} by name." in _unescape(html)


@pytest.mark.parametrize("field, value, message", [
    ("system_prompt", "Hello {{customer}}", "unknown variable {{customer}}"),
    ("greeting", "Hi {{nme}}", "unknown variable {{nme}}"),
    ("tools", '[{"name": "lookup", "url": "ftp://x", "description": "d"}]', "absolute http(s) URL"),
    ("tools", "{", "Not valid JSON"),
    ("analysis_schema", '[{"name": "x", "type": "enum"}]', "needs choices"),
    ("transfer_targets", '{"sales": "later"}', "not an E.164"),
    ("llm_temperature", "7", "less than or equal to 2"),
])  # fmt: skip
def test_a_bad_prompt_agent_is_refused_beside_its_field_and_nothing_is_saved(client_a, ws_a, field, value, message):
    response = client_a.post(reverse("dashboard:agent-new"), prompt_agent(**{field: value}))
    assert response.status_code == 400
    assert message in _unescape(response.content.decode())
    assert not Agent.objects.filter(workspace=ws_a).exists()


def test_a_valid_prompt_agent_saves(client_a, ws_a):
    assert client_a.post(reverse("dashboard:agent-new"), prompt_agent()).status_code == 302
    assert Agent.objects.get(workspace=ws_a, name="Desk").transfer_targets == {"front desk": "+15550100"}

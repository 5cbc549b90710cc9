"""A prompt-first agent's settings are checked where every writer goes through (`Agent.full_clean`): unknown
{{variables}}, bad tools, bad transfer targets and bad analysis fields are refused with the field named."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from calls.agent_templates import TEMPLATES
from calls.models import Agent, Workspace
from calls.templating import placeholders, render, unknown_variables

pytestmark = pytest.mark.django_db

TOOL = {"name": "order_status", "description": "Where an order is", "url": "https://crm.example.com/orders",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]},
        "method": "GET", "headers": {"Authorization": "Bearer {{secret:CRM_TOKEN}}"}}


@pytest.fixture
def workspace():
    return Workspace.objects.create(name="W", slug="w")


def errors_of(agent: Agent) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        agent.full_clean()
    return caught.value.message_dict


def test_templates_render_declared_and_builtin_variables_and_leave_secrets_for_later():
    text = "Hi {{ customer_name }}, you call from {{caller_number}}. Key {{secret:CRM}}. JSON {\"a\": 1} {single}"
    assert placeholders(text) == ["customer_name", "caller_number", "secret:CRM"]
    assert render(text, {"customer_name": "Ada", "caller_number": "+1555"}) == \
        'Hi Ada, you call from +1555. Key {{secret:CRM}}. JSON {"a": 1} {single}'
    assert render("{{secret:CRM}} {{missing}}!", {}, secrets={"CRM": "s3"}) == "s3 !"
    assert unknown_variables(text, {"customer_name"}) == ["secret:CRM"]  # a secret outside a tool header
    assert unknown_variables(text, {"customer_name"}, allow_secrets=True) == []


def test_an_unknown_variable_in_the_prompt_or_first_message_is_refused_on_save(workspace):
    agent = Agent(workspace=workspace, name="A", system_prompt="You call {{customer_name}} about {{product}}.",
                  greeting="Hello {{custmer_name}}", variable_defaults={"customer_name": "there"})
    errors = errors_of(agent)
    assert "{{product}}" in errors["system_prompt"][0] and "{{custmer_name}}" in errors["greeting"][0]
    agent.variable_defaults = {"customer_name": "there", "product": "widgets", "custmer_name": ""}
    agent.full_clean()


def test_a_secret_is_refused_outside_tool_headers(workspace):
    agent = Agent(workspace=workspace, name="A", system_prompt="The key is {{secret:OPENAI_API_KEY}}")
    assert "only be used in tool headers" in errors_of(agent)["system_prompt"][0]


@pytest.mark.parametrize("tool, message", [
    ({**TOOL, "name": "end_call"}, "built-in"),
    ({**TOOL, "url": "ftp://x"}, "absolute http(s) URL"),
    ({**TOOL, "method": "TRACE"}, "method must be one of"),
    ({**TOOL, "parameters": {"type": "string"}}, '"type": "object"'),
    ({**TOOL, "parameters": {"type": "object", "properties": {}, "required": ["x"]}}, "parameters.required"),
    ({**TOOL, "headers": {"X-Key": "{{unknown}}"}}, "{{unknown}}"),
    ({**TOOL, "description": ""}, "description is required"),
    ({**TOOL, "timeout_s": 90}, "timeout_s"),
    ({**TOOL, "colour": "red"}, "unknown key(s) colour"),
    ("not an object", "must be an object"),
])  # fmt: skip
def test_bad_tools_are_refused_with_what_is_wrong(workspace, tool, message):
    errors = errors_of(Agent(workspace=workspace, name="A", tools=[tool]))
    assert message in errors["tools"][0]


def test_two_tools_with_one_name_are_refused(workspace):
    assert "two tools" in errors_of(Agent(workspace=workspace, name="A", tools=[TOOL, TOOL]))["tools"][0]


@pytest.mark.parametrize("schema, message", [
    ([{"name": "x", "type": "colour"}], "type must be one of"),
    ([{"name": "x", "type": "enum"}], "needs choices"),
    ([{"name": "x", "type": "text", "choices": ["a"]}], "only an enum"),
    ([{"name": "bad name", "type": "text"}], "letters, digits"),
    ([{"name": "x", "type": "text"}, {"name": "x", "type": "number"}], "two fields"),
    ({"name": "x"}, "must be a JSON list"),
])  # fmt: skip
def test_bad_analysis_fields_are_refused(workspace, schema, message):
    assert message in errors_of(Agent(workspace=workspace, name="A", analysis_schema=schema))["analysis_schema"][0]


def test_bad_variables_and_transfer_targets_are_refused(workspace):
    errors = errors_of(Agent(workspace=workspace, name="A", variable_defaults={"caller_number": "x"},
                             transfer_targets={"sales": "call me"}))
    assert "built in" in errors["variable_defaults"][0] and "not an E.164" in errors["transfer_targets"][0]


def test_every_template_is_a_valid_agent(workspace):
    for template in TEMPLATES:
        Agent(workspace=workspace, **template.fields).full_clean()

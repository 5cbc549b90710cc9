"""The migration to prompt-first agents: an LLM agent's prompt, model, temperature, base URL, transfer targets and
tools move out of provider_options into its own fields (its other extras stay); a flow agent keeps its "llm"
options (its flow's LLM steps read them) and its tools move."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE = [("calls", "0005_callevent_kinds")]
AFTER = [("calls", "0008_agents_prompt_first_fields")]
TOOL = {"name": "lookup", "description": "d", "url": "https://x.example", "secret": "s"}


def test_llm_options_move_into_the_agents_fields():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    ws = old.get_model("calls", "Workspace").objects.create(name="W", slug="w")
    Agent = old.get_model("calls", "Agent")
    llm = Agent.objects.create(workspace=ws, name="L", llm_provider="openai", provider_options={
        "llm": {"system_prompt": "You are Sam.", "model": "gpt-4o", "temperature": 0.3, "first_token_timeout_s": 3,
                "transfer_targets": ["+15550100"]},
        "tools": [TOOL], "stt": {"language": "de"}})
    flow = Agent.objects.create(workspace=ws, name="F", llm_provider="flow",
                                provider_options={"llm": {"model": "gpt-4o"}, "tools": [TOOL]})
    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps.get_model("calls", "Agent")
    llm, flow = new.objects.get(pk=llm.pk), new.objects.get(pk=flow.pk)
    assert (llm.system_prompt, llm.llm_model, llm.llm_temperature) == ("You are Sam.", "gpt-4o", 0.3)
    assert llm.transfer_targets == {"+15550100": "+15550100"} and llm.tools == [TOOL]
    assert llm.provider_options == {"llm": {"first_token_timeout_s": 3}, "stt": {"language": "de"}}
    assert flow.provider_options == {"llm": {"model": "gpt-4o"}} and flow.tools == [TOOL]
    assert flow.system_prompt == ""
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())  # back to the latest for the next tests

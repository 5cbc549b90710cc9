"""The migration that gives agents a language: default en-US, and an agent whose STT option named a language
(the only way to set one before) gets that language's tag."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE = [("calls", "0014_smart_turn_default")]
AFTER = [("calls", "0015_agent_language")]


def test_agents_get_a_language_from_their_stt_option_or_en_us():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    ws = old.get_model("calls", "Workspace").objects.create(name="W", slug="w")
    Agent = old.get_model("calls", "Agent")
    german = Agent.objects.create(workspace=ws, name="G", provider_options={"stt": {"language": "de"}})
    latam = Agent.objects.create(workspace=ws, name="L", provider_options={"stt": {"language": "es-419"}})
    odd = Agent.objects.create(workspace=ws, name="O", provider_options={"stt": {"language": "multi"}})
    plain = Agent.objects.create(workspace=ws, name="P")
    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps.get_model("calls", "Agent")
    languages = {a.name: a.language for a in new.objects.filter(pk__in=[german.pk, latam.pk, odd.pk, plain.pk])}
    assert languages == {"G": "de-DE", "L": "es-MX", "O": "en-US", "P": "en-US"}
    assert new.objects.get(pk=german.pk).provider_options == {"stt": {"language": "de"}}  # left as it was
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())  # back to the latest for the next tests

"""Post-call redaction and the retention purge, run by the real Celery worker against PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.services


def test_post_call_redacts_pii_from_the_stored_transcript_and_a_4xx_webhook_is_not_retried(stack):
    stack.receiver.answers["/hooks/private"] = [410]
    call_id = stack.ids["pii_call"]
    stack.send_task("automation.tasks.post_call", call_id)
    stack.wait_for("the summary", lambda: stack.sql(
        "SELECT 1 FROM calls_call WHERE id = %s AND summary <> ''", call_id))
    texts = [t for (t,) in stack.sql("SELECT text FROM calls_turn WHERE call_id = %s ORDER BY index", call_id)]
    assert texts[1] == "My card is [card] and my social is [id]."
    assert texts[2] == "Thanks. Can I email you at [email] or call [phone]?"
    assert texts[3] == "Order 12345 for tomorrow please"  # not every number is personal
    (summary,), = stack.sql("SELECT summary FROM calls_call WHERE id = %s", call_id)
    assert "4111" not in summary and "[card]" in summary
    deliveries = stack.wait_for("the webhook attempt", lambda: stack.sql(
        "SELECT attempt, status, status_code FROM automation_webhookdelivery WHERE call_id = %s", call_id))
    assert deliveries == [(1, "failed", 410)]
    body = stack.receiver.at("/hooks/private")[0].body.decode()
    assert "4111" not in body and "ada.lovelace" not in body


def test_retention_purges_expired_calls_and_their_recordings(stack):
    recordings = Path(stack.env["MEDIA_ROOT"]) / "recordings"
    assert (recordings / "expired.wav").exists()
    stack.send_task("automation.tasks.purge_expired_calls")
    stack.wait_for("the purge", lambda: not stack.sql(
        "SELECT 1 FROM calls_call WHERE id = %s", stack.ids["expired_call"]))
    assert not (recordings / "expired.wav").exists()
    assert (recordings / "recent.wav").exists()
    kept = {pk for (pk,) in stack.sql("SELECT id FROM calls_call WHERE id IN (%s, %s)",
                                      stack.ids["kept_recent"], stack.ids["kept_no_retention"])}
    assert kept == {stack.ids["kept_recent"], stack.ids["kept_no_retention"]}

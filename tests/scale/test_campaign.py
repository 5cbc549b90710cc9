"""A campaign dialled by the Celery worker through the real Twilio SDK (pointed at a fake Twilio that rings each
call and reports its end): never more calls up at once than the cap, retries for busy numbers, a result each."""

from __future__ import annotations

import pytest

from .seed import BUSY_ONCE, CONTACTS, DIALLER_NUMBER

pytestmark = pytest.mark.services


def test_campaign_honours_the_concurrency_cap_and_retries(stack):
    stack.busy_once.add(BUSY_ONCE)
    stack.send_task("automation.tasks.run_campaign", stack.ids["campaign"])

    stack.wait_for("the campaign to complete", lambda: stack.sql(
        "SELECT 1 FROM automation_campaign WHERE id = %s AND status = 'completed'", stack.ids["campaign"]),
        timeout=40)
    dialled = [d for d in stack.twilio.dialled if d.from_ == DIALLER_NUMBER]
    assert sorted(d.to for d in dialled) == sorted([*CONTACTS, BUSY_ONCE])  # every contact, the busy one twice
    assert stack.twilio.max_active == 2  # the cap, reached and never exceeded
    assert not stack.twilio.callback_errors
    contacts = dict((n, (s, r, a)) for n, s, r, a in stack.sql(
        "SELECT number, status, result, attempts FROM automation_contact WHERE campaign_id = %s",
        stack.ids["campaign"]))
    assert contacts[BUSY_ONCE] == ("done", "completed", 2)
    assert all(v == ("done", "completed", 1) for n, v in contacts.items() if n != BUSY_ONCE), contacts
    # Each call carries its contact's variables, and was dialled the way the agent wants (no AMD here).
    calls = stack.sql("SELECT to_number, direction, variables FROM calls_call WHERE from_number = %s", DIALLER_NUMBER)
    assert len(calls) == 6 and all(direction == "outbound" for _, direction, _ in calls)
    assert all(variables["name"].startswith("Contact ") for _, _, variables in calls)
    assert all(d.machine_detection == "" and "/twilio/outbound/answer?call=" in d.url for d in dialled)

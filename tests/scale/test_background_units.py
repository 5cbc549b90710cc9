"""The background work's pieces on their own: redaction rules, the webhook signature and attempt classification,
retry delays, campaign results and retry rules, extractive summaries."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from automation import backoff, campaigns, delivery, redaction, webhooks
from automation.models import Campaign, Contact, WebhookDelivery
from automation.summary import extractive_summary
from calls.models import Agent, Call, Turn, Workspace

from .receiver import WebhookReceiver


@pytest.mark.parametrize("text, expected", [
    ("card 4111 1111 1111 1111 ok", "card [card] ok"),
    ("card 5555-5555-5555-4444", "card [card]"),
    ("not a card 4111 1111 1111 1112", "not a card 4111 1111 1111 1112"),  # fails Luhn
    ("ssn 123-45-6789, or 123 45 6789", "ssn [id], or [id]"),
    ("ssn 000-12-3456 is never issued", "ssn 000-12-3456 is never issued"),
    ("NI number AB 12 34 56 C", "NI number [id]"),
    ("write to ada.lovelace+calls@example.co.uk", "write to [email]"),
    ("call +44 20 7946 0958 or (415) 555-2671 or 415.555.2671", "call [phone] or [phone] or [phone]"),
    ("order 12345 at 10:30 on 2025-05-01, room 101", "order 12345 at 10:30 on 2025-05-01, room 101"),
])
def test_redaction(text, expected):
    assert redaction.redact(text) == expected
    assert redaction.redact(expected) == expected  # idempotent


def test_redaction_reaches_every_string_of_a_brain_state():
    state = {"node": "x", "variables": {"messages": [{"role": "user", "content": "mail me: a@b.io"}], "n": 3}}
    assert redaction.redact_tree(state) == {
        "node": "x", "variables": {"messages": [{"role": "user", "content": "mail me: [email]"}], "n": 3}}


def test_signature_covers_timestamp_and_body():
    body = b'{"event": "call.completed"}'
    header = webhooks.signature("secret", body, int(time.time()))
    assert webhooks.verify("secret", body, header)
    assert not webhooks.verify("other", body, header)
    assert not webhooks.verify("secret", body + b" ", header)
    assert not webhooks.verify("secret", body, webhooks.signature("secret", body, int(time.time()) - 3600))


def test_retry_delays_grow_exponentially_with_jitter_and_a_cap():
    for attempt, ceiling in [(1, 10), (2, 20), (3, 40), (10, 300)]:
        delays = {backoff.delay_s(attempt, 10, cap_s=300) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays) and len(delays) > 1


@pytest.fixture
def receiver():
    made = WebhookReceiver().start()
    yield made
    made.stop()


@pytest.fixture
def finished_call(db, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    ws = Workspace.objects.create(name="W", slug="w")
    agent = Agent.objects.create(workspace=ws, name="A", post_call_webhook_url=receiver.url + "/hook",
                                 post_call_webhook_secret="k")
    return Call.objects.create(workspace=ws, agent=agent, carrier="twilio", carrier_call_id="CA1", status="completed")


def attempts(call: Call) -> list[tuple]:
    return list(WebhookDelivery.objects.filter(call=call).order_by("attempt").values_list("attempt", "status",
                                                                                          "status_code"))


@pytest.mark.django_db
def test_webhook_attempts_retry_5xx_and_429_but_not_4xx(finished_call, receiver):
    receiver.answers["/hook"] = [503, 429, 404]
    assert delivery.attempt(finished_call.pk, "task-1", 1) is delivery.Result.RETRY
    assert delivery.attempt(finished_call.pk, "task-1", 2) is delivery.Result.RETRY
    assert delivery.attempt(finished_call.pk, "task-1", 3) is delivery.Result.FAILED
    assert attempts(finished_call) == [(1, "retrying", 503), (2, "retrying", 429), (3, "failed", 404)]


@pytest.mark.django_db
def test_webhook_attempts_are_made_once_and_by_one_task(finished_call, receiver):
    assert delivery.attempt(finished_call.pk, "task-1", 1) is delivery.Result.DELIVERED
    assert delivery.attempt(finished_call.pk, "task-1", 1) is delivery.Result.SKIPPED  # redelivered run
    assert delivery.attempt(finished_call.pk, "task-2", 1) is delivery.Result.SKIPPED  # post_call ran twice
    assert len(receiver.received) == 1


@pytest.mark.django_db
def test_an_unreachable_receiver_is_retried_until_the_last_attempt(finished_call, settings):
    Agent.objects.filter(pk=finished_call.agent_id).update(post_call_webhook_url="http://127.0.0.1:9/hook")
    results = [delivery.attempt(finished_call.pk, "t", n) for n in (1, 2, 3)]
    assert results == [delivery.Result.RETRY, delivery.Result.RETRY, delivery.Result.FAILED]
    assert [status for _, status, code in attempts(finished_call) if code is None] == ["retrying", "retrying", "failed"]


@pytest.mark.django_db
def test_the_webhook_task_retries_through_celery(finished_call, receiver, settings):
    from automation.tasks import deliver_call_webhook

    receiver.answers["/hook"] = [500]
    # Eager (no broker in the test settings): Celery re-runs the task at once, with the same task id.
    assert deliver_call_webhook.delay(finished_call.pk).get() == "delivered"
    assert attempts(finished_call) == [(1, "retrying", 500), (2, "delivered", 200)]
    assert len({d.task_id for d in WebhookDelivery.objects.all()}) == 1


@pytest.fixture
def campaign(db):
    ws = Workspace.objects.create(name="W", slug="w")
    agent = Agent.objects.create(workspace=ws, name="A")
    return Campaign.objects.create(workspace=ws, agent=agent, name="C", from_number="+15550100000", carrier="twilio",
                                   max_attempts=2, retry_delay_s=60, status="running")


def dialled(campaign: Campaign, number: str, **call_fields) -> tuple[Contact, Call]:
    call = Call.objects.create(workspace=campaign.workspace, agent=campaign.agent, carrier="twilio",
                               carrier_call_id=f"CA-{number}", direction="outbound", **call_fields)
    contact = Contact.objects.create(campaign=campaign, number=number, attempts=1, status="dialing", call=call)
    return contact, call


@pytest.mark.parametrize("fields, result, status", [
    (dict(status="completed", end_reason="agent-ended"), "completed", "done"),
    (dict(status="failed", end_reason="carrier:busy"), "busy", "pending"),
    (dict(status="completed", end_reason="machine:message", answered_by="machine"), "voicemail", "done"),
    (dict(status="completed", end_reason="machine:hangup", answered_by="machine"), "machine", "pending"),
])
def test_a_settled_contact_gets_its_result_and_a_retry_when_nobody_was_reached(campaign, fields, result, status):
    contact, call = dialled(campaign, "+15557770001", **fields)
    campaigns.settle(call)
    contact.refresh_from_db()
    assert (contact.result, contact.status) == (result, status)
    if status == "pending":
        assert contact.next_attempt_at > timezone.now() + timedelta(seconds=50)
    assert campaigns.settle(call) is None  # twice: nothing more happens


def test_the_last_attempt_fails_the_contact(campaign):
    contact, call = dialled(campaign, "+15557770001", status="failed", end_reason="carrier:no-answer")
    Contact.objects.filter(pk=contact.pk).update(attempts=2)
    campaigns.settle(call)
    contact.refresh_from_db()
    assert (contact.result, contact.status) == ("no-answer", "failed")


def test_the_campaign_waits_for_the_next_retry_only_when_a_slot_is_free(campaign):
    Contact.objects.create(campaign=campaign, number="+15557770001",
                           next_attempt_at=timezone.now() + timedelta(seconds=30))
    assert 25 < campaigns.seconds_until_due(campaign.pk) <= 30
    campaign.concurrency_cap = 1
    campaign.save()
    dialled(campaign, "+15557770002", status="in-progress")
    assert campaigns.seconds_until_due(campaign.pk) is None  # a call ending wakes it instead


@pytest.mark.django_db
def test_extractive_summary_has_the_callers_intents_and_the_agents_confirmations():
    ws = Workspace.objects.create(name="W", slug="w")
    call = Call.objects.create(workspace=ws, carrier="twilio", carrier_call_id="CA1", status="completed",
                               end_reason="agent-ended", brain_state={"node": "bye", "variables": {
                                   "intent": "bye", "day": "tomorrow"}})
    now = timezone.now()
    for index, (role, text, heard) in enumerate([
        ("agent", "Hello. How can I help?", ""),
        ("caller", "I'd like to book a cleaning", ""),
        ("agent", "Great, I've pencilled you in for tomorrow. We'll text you the time.",
         "Great, I've pencilled you in"),
        ("caller", "Thanks, bye", ""),
    ]):
        Turn.objects.create(call=call, index=index, role=role, text=text, heard_text=heard, interrupted=bool(heard),
                            started_at=now, ended_at=now)
    summary = extractive_summary(call, list(call.turns.order_by("index")))
    assert summary == ("Caller: I'd like to book a cleaning / Thanks, bye. Agent: Great, I've pencilled you in. "
                       "Details: day: tomorrow. Outcome: agent-ended.")


def test_a_campaign_without_carrier_credentials_pauses_instead_of_failing_its_contacts(campaign, settings):
    settings.TWILIO_CREDENTIALS_ARE_REAL = False
    contact = Contact.objects.create(campaign=campaign, number="+15557770001")
    assert campaigns.dial_due(campaign.pk) == 1
    contact.refresh_from_db()
    campaign.refresh_from_db()
    assert (contact.status, contact.attempts, campaign.status) == ("pending", 0, "paused")
    assert not Call.objects.exists()


@pytest.mark.django_db
def test_an_openai_agent_gets_its_summary_from_the_model_and_falls_back_when_it_fails(settings):
    import asyncio

    from automation.summary import summarize
    from voicebot.testing.vendors.openai import API_KEY, FakeOpenAI, ScriptedReply

    ws = Workspace.objects.create(name="W", slug="w")
    agent = Agent.objects.create(workspace=ws, name="A", llm_provider="openai",
                                 provider_options={"llm": {"model": "gpt-test"}})
    call = Call.objects.select_related("agent").get(pk=Call.objects.create(
        workspace=ws, agent=agent, carrier="twilio", carrier_call_id="CA1", status="completed").pk)
    now = timezone.now()
    turns = [Turn(call=call, index=0, role="caller", text="Book me for Monday", started_at=now, ended_at=now)]

    async def go():
        fake = FakeOpenAI(replies=[ScriptedReply(text="The caller booked Monday."), ScriptedReply(status=500)])
        await fake.start()
        try:
            settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL = API_KEY, fake.base_url
            first = await asyncio.to_thread(summarize, call, turns)
            second = await asyncio.to_thread(summarize, call, turns)
            return first, second, fake.requests
        finally:
            await fake.stop()

    first, second, requests = asyncio.run(go())
    assert first == "The caller booked Monday."
    assert requests[0]["model"] == "gpt-test" and "caller: Book me for Monday" in requests[0]["messages"][1]["content"]
    assert second.startswith("Caller: Book me for Monday.")  # the model failed: the extractive summary instead


# ---------------------------------------------------------------- signals -> tasks (automation.receivers)


@pytest.fixture
def queued(monkeypatch):
    """The tasks' `delay`, recorded instead of run: {task name: [args, ...]}."""
    from automation import tasks

    made: dict[str, list] = {}
    for task in (tasks.post_call, tasks.run_campaign, tasks.deliver_call_webhook):
        monkeypatch.setattr(task, "delay", lambda *args, name=task.name: made.setdefault(name, []).append(args))
    return made


def test_a_finished_call_queues_its_post_call_work(queued):
    from calls.signals import call_finished

    call_finished.send(sender=Call, call_id=41)
    assert queued == {"automation.tasks.post_call": [(41,)]}


def test_a_broker_outage_at_the_end_of_a_call_is_logged_not_raised(monkeypatch, caplog):
    from kombu.exceptions import OperationalError as BrokerDown

    from automation import tasks
    from calls.signals import call_finished

    def down(*args):
        raise BrokerDown("connection refused")

    monkeypatch.setattr(tasks.post_call, "delay", down)
    call_finished.send(sender=Call, call_id=42)
    assert "call 42: post-call work not queued (broker unavailable)" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_settled_contact_wakes_its_campaign_and_a_finished_call_its_webhook(campaign, queued, receiver):
    from automation import post_call

    contact, call = dialled(campaign, "+15557770001", status="completed", end_reason="agent-ended")
    Agent.objects.filter(pk=campaign.agent_id).update(post_call_webhook_url=receiver.url + "/hook")
    assert post_call.run(call.pk) == "done"  # outside a transaction: the on-commit sends happen at once
    assert queued == {"automation.tasks.run_campaign": [(campaign.pk,)],
                      "automation.tasks.deliver_call_webhook": [(call.pk, "call.ended")]}

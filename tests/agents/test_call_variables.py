"""Per-call variables on a real call path (ASGI media consumer, session, the real openai SDK against the OpenAI
fake): the outbound/CSV variables, the built-ins and the call-starting webhook's answer reach the system prompt the
model is sent and the first message the caller hears; a webhook that is slow, fails or answers junk leaves the
call on the agent's defaults, with a CallEvent that says why."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from calls import stream_tokens
from calls.agent_templates import BY_KEY
from calls.call_start import BadAnswer, parse_answer
from calls.models import Agent, Call, CallEvent, Turn, Workspace
from calls.signing import verify
from tests.scale.test_resume_session import open_stream, talk, until
from tests.test_media_consumer import fakes  # noqa: F401 (a fixture)
from voicebot.testing.vendors.threaded_server import ThreadedServer

pytestmark = pytest.mark.django_db(transaction=True)
SECRET = "whsec-test"


class CustomerServer(ThreadedServer):
    """The customer's call-starting endpoint: answers what the test says, after `delay_s`, and keeps requests."""

    def __init__(self, answer=(200, {}), delay_s: float = 0.0) -> None:
        super().__init__()
        self.answer, self.delay_s, self.requests = answer, delay_s, []

    def post(self, path, headers, raw):
        self.requests.append((headers, raw))
        time.sleep(self.delay_s)
        return self.answer


def lead_call(fakes, webhook_url: str = "") -> Call:  # noqa: F811
    ws = Workspace.objects.create(name="W", slug="w")
    fields = {**BY_KEY["lead_qualification"].fields, "stt_provider": "scripted", "tts_provider": "tone",
              "silence_timeout_s": 30, "call_start_webhook_url": webhook_url, "call_start_webhook_secret": SECRET}
    agent = Agent(workspace=ws, **fields)
    agent.full_clean()
    agent.save()
    token, nonce = stream_tokens.issue("CA1")
    call = Call.objects.create(workspace=ws, agent=agent, carrier="twilio", carrier_call_id="CA1", stream_nonce=nonce,
                               direction="outbound", from_number="+15550100000", to_number="+15557654321",
                               variables={"customer_name": "Ada"})  # what the outbound request / CSV row gave
    call.token = token
    return call


def run_call(call: Call, fakes, cloud) -> dict:  # noqa: F811
    fakes.script = ["Tell me more"]

    async def go():
        comm, carrier = await open_stream(call.token)
        await talk(carrier, say=False)
        await talk(carrier)
        await until(lambda: _agent_turns(call.pk, 2))
        await comm.send_to(text_data=json.dumps({"event": "stop", "stop": {"callSid": "CA1"}}))
        await comm.wait(timeout=3)

    asyncio.run(go())
    return cloud.cloud.openai.requests[0]


async def _agent_turns(call_pk: int, n: int) -> bool:
    from asgiref.sync import sync_to_async

    return await sync_to_async(Turn.objects.filter(call_id=call_pk, role="agent").count)() >= n


def greeting_of(call: Call) -> str:
    return Turn.objects.filter(call=call, role="agent").order_by("index").first().text


def test_variables_from_the_request_and_the_webhook_reach_the_prompt_and_the_greeting(fakes, cloud):  # noqa: F811
    with CustomerServer((200, {"variables": {"company": "Initech"}, "overrides": {"llm_temperature": 0.1}})) as server:
        call = lead_call(fakes, server.origin + "/call-start")
        request = run_call(call, fakes, cloud)
    system = request["messages"][0]["content"]
    assert "calling Ada about our product" in system and "for Initech" in system
    assert request["temperature"] == 0.1  # the webhook's override for this one call
    assert greeting_of(call).startswith("Hi Ada, this is Alex from Initech.")
    # The customer's server got a signed request with what the call knew so far.
    headers, raw = server.requests[0]
    assert verify(SECRET, raw, headers["X-Voicebot-Signature"])
    sent = json.loads(raw)
    assert sent["event"] == "call.starting" and sent["variables"] == {"customer_name": "Ada"}
    assert sent["call"]["to"] == "+15557654321"
    call.refresh_from_db()
    assert call.variables["company"] == "Initech" and call.variables["customer_name"] == "Ada"
    event = CallEvent.objects.get(call=call, kind="call_start_webhook")
    assert event.detail["outcome"] == "ok" and event.detail["variables"] == ["company"]


def test_builtins_fill_the_prompt_of_an_outbound_call(fakes, cloud):  # noqa: F811
    call = lead_call(fakes)
    Agent.objects.filter(pk=call.agent_id).update(
        system_prompt="You are calling {{caller_number}} from {{agent_number}} ({{direction}}) on {{weekday}}.")
    call.agent.refresh_from_db()
    system = run_call(call, fakes, cloud)["messages"][0]["content"]
    assert system.startswith("You are calling +15557654321 from +15550100000 (outbound) on ")
    assert "{{" not in system


@pytest.mark.parametrize("answer, delay_s, outcome", [
    ((200, {"variables": {"company": "Initech"}}), 3.0, "timeout"),
    ((500, {"error": "down"}), 0.0, "error"),
    ((200, ["not", "an", "object"]), 0.0, "error"),
    ((200, {"variables": {"caller_number": "+1999"}}), 0.0, "error"),  # a built-in cannot be faked
])  # fmt: skip
def test_a_slow_failing_or_junk_webhook_leaves_the_call_on_its_defaults(  # noqa: F811
        fakes, cloud, settings, answer, delay_s, outcome):
    settings.CALL_START_WEBHOOK_TIMEOUT_S = 0.5
    with CustomerServer(answer, delay_s) as server:
        call = lead_call(fakes, server.origin + "/call-start")
        system = run_call(call, fakes, cloud)["messages"][0]["content"]
    assert "calling Ada about our product" in system and "for our company" in system  # the agent's default
    assert greeting_of(call).startswith("Hi Ada, this is Alex from our company.")
    event = CallEvent.objects.get(call=call, kind="call_start_webhook")
    assert event.detail["outcome"] == outcome and event.detail["fallback"] == "agent defaults"
    call.refresh_from_db()
    assert call.variables == {"customer_name": "Ada"}


@pytest.mark.parametrize("raw, message", [
    (b"{", "not JSON"),
    (b'{"variables": {"x": {"nested": 1}}}', "a text, number or boolean"),
    (b'{"overrides": {"tools": []}}', "not allowed"),
    (b'{"overrides": {"llm_temperature": "hot"}}', "must be a float"),
    (b'{"extra": 1}', "expected an object"),
])  # fmt: skip
def test_junk_answers_are_named(raw, message):
    with pytest.raises(BadAnswer, match=message):
        parse_answer(raw)
    assert parse_answer(b"") == ({}, {})

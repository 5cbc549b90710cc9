"""Every action the agent announces can fail; the caller is never left in dead air for it. On a real-time line,
through the real ASGI app, with the real Twilio SDK sending its REST requests to a port where nothing listens (the
ConnectionError of issue 13):

- a failed transfer: the caller hears one apology within ~1.5 s of the announcement, is answered afterwards, and
  the brain knows (the flow goes back to its menu; the LLM finds the error in its transfer_call result);
- a failed hang-up: the goodbye is said and the call still ends (the socket closes, the call is completed);
- a failing HTTP tool of the LLM (an error status, a timeout): the LLM gets the error as the tool's result and
  answers, with no dead air on the way.
"""

from __future__ import annotations

import asyncio
import json
import socket

import pytest
from asgiref.sync import sync_to_async

from calls import stream_tokens
from calls.models import Agent, Call, CallEvent, Turn, Workspace
from calls.providers import registry
from calls.session.lines import TRANSFER_FAILED_LINE
from tests import tally
from tests.pipeline_fakes import ScriptedSTT
from voicebot.testing.vendors import ScriptedReply
from voicebot.testing.vendors.tool_server import FakeToolServer

from .cloud_call import ANSWER, SAID, cloud_agent, new_call, run_call
from .line import PhoneLine
from .test_provider_faults import DEAD_AIR_S, END_OF_TURN_S, SLACK_S

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True),
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]

ANNOUNCE = "Of course. Connecting you to our front desk now."
FLOW = {"start": "menu", "nodes": {
    "menu": {"type": "ask", "text": "How can I help?", "routes": [
        {"keywords": ["human"], "next": "desk"}, {"keywords": ["hours"], "next": "hours"},
        {"keywords": ["goodbye"], "next": "bye"}]},
    "desk": {"type": "transfer", "target": "+15550100999", "text": ANNOUNCE},
    "hours": {"type": "say", "text": "We open at nine.", "next": "menu"},
    "bye": {"type": "end", "text": "Goodbye."},
}}


@pytest.fixture
def dead_twilio(settings):
    """Twilio REST credentials that look real, and a base URL where nothing listens: every request is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def apply():
        settings.TWILIO_ACCOUNT_SID = "AC" + "1" * 32
        settings.TWILIO_AUTH_TOKEN = "test-token"
        settings.TWILIO_CREDENTIALS_ARE_REAL = True
        settings.TWILIO_BASE_URL = f"http://127.0.0.1:{port}"

    apply()
    return apply


@pytest.fixture(autouse=True)
def scripted_stt(monkeypatch):
    monkeypatch.setitem(registry.STT, "scripted", "tests.pipeline_fakes.ScriptedSTT")


def events(call, kind: str) -> list[dict]:
    return list(CallEvent.objects.filter(call=call, kind=kind).order_by("id").values_list("detail", flat=True))


def conversation(call) -> list[tuple[str, str]]:
    return list(Turn.objects.filter(call=call).order_by("index").values_list("role", "text"))


def apology_delay(line: PhoneLine, n: int) -> float:
    """From the announcement's last frame to the apology's first: the longest gap inside the n-th answer."""
    delay = line.longest_silence_in_reply(n)
    tally.measured("faults", "silence before the apology for a failed transfer (s)", delay)
    return delay


def test_a_failed_transfer_is_apologised_for_and_the_flow_goes_on_then_a_failed_hang_up_still_ends_the_call(
        dead_twilio):
    tally.ran("faults", "actions")
    ScriptedSTT.script = ["can I speak to a human agent please", "what are your opening hours", "goodbye"]
    ws, _ = Workspace.objects.get_or_create(slug="faults", defaults={"name": "Faults"})
    agent = Agent.objects.create(workspace=ws, name="Desk", greeting="Hello.", flow=FLOW, stt_provider="scripted",
                                 llm_provider="flow", tts_provider="espeak", silence_timeout_s=30,
                                 provider_options={"fallback": {"stt": "scripted"}})
    token, nonce = stream_tokens.issue("CA-actions")
    call = Call.objects.create(workspace=ws, agent=agent, carrier="twilio", carrier_call_id="CA-actions",
                               stream_nonce=nonce)

    async def talk():
        line = await PhoneLine(token).open()
        try:
            await line.listen()
            await line.say()  # "a human agent please": the announcement, the failed transfer, the apology
            await line.listen(quiet_s=2.5)
            await line.say()  # the conversation goes on
            await line.listen(quiet_s=1.0)
            await line.say()  # "goodbye": said, then the REST hang-up fails
            await line.listen(quiet_s=30, limit_s=10)  # returns when the socket closes
        finally:
            await line.hang_up()
        return line

    line = asyncio.run(talk())

    delay = apology_delay(line, 0)
    assert delay <= DEAD_AIR_S + SLACK_S, f"{delay:.2f} s of dead air before the apology"
    turns = conversation(call)
    assert turns[1:4] == [("caller", ScriptedSTT.script[0]), ("agent", ANNOUNCE), ("agent", TRANSFER_FAILED_LINE)]
    # The flow learnt it failed: it is back at its menu, and routes the next turn from there.
    assert turns[4:6] == [("caller", ScriptedSTT.script[1]), ("agent", "We open at nine. How can I help?")], turns
    assert turns[6:8] == [("caller", "goodbye"), ("agent", "Goodbye.")], turns
    failed = events(call, "action_failed")
    assert [e["action"] for e in failed] == ["transfer", "hang_up"]
    assert "ConnectionError" in failed[0]["error"] and failed[0]["target"] == "+15550100999"
    # The failed hang-up still ended the call: our side closed the socket and the call is completed.
    assert line.close_code == 1000
    call.refresh_from_db()
    assert call.status == "completed" and call.end_reason == "completed"


def test_a_failed_transfer_is_told_to_the_llm_and_the_call_goes_on(settings, dead_twilio):
    tally.ran("faults", "actions")
    ScriptedSTT.script = list(SAID)
    call, token = new_call(cloud_agent())
    Agent.objects.filter(pk=call.agent_id).update(provider_options={
        "fallback": {"stt": "scripted"}, "llm": {"transfer_targets": {"front desk": "+15550100999"}}})

    def fault(cloud):
        dead_twilio()  # FakeCloud's settings are in place by now; the Twilio ones go on top
        cloud.openai.replies.append(ScriptedReply(text="Connecting you to the front desk now. ", tool_calls=[
            ("transfer_call", {"destination": "front desk", "summary": "wants a human"})]))

    line = asyncio.run(run_call(settings, token, fault=fault, listen_quiet_s=2.5))

    delay = apology_delay(line, 0)
    assert delay <= DEAD_AIR_S + SLACK_S, f"{delay:.2f} s of dead air before the apology"
    turns = conversation(call)
    assert turns[1:4] == [("caller", SAID[0]), ("agent", "Connecting you to the front desk now."),
                          ("agent", TRANSFER_FAILED_LINE)], turns
    assert turns[4:6] == [("caller", SAID[1]), ("agent", ANSWER)], "the conversation goes on"
    # The apology took no model request; the next one shows the model its transfer failed, and what was said.
    requests = line.cloud.openai.requests
    assert len(requests) == 2
    messages = requests[1]["messages"]
    call_id = next(m for m in messages if m.get("tool_calls"))["tool_calls"][0]["id"]
    result = next(m for m in messages if m.get("tool_call_id") == call_id)
    assert "transfer_call failed" in json.loads(result["content"])["error"]
    assert {"role": "assistant", "content": TRANSFER_FAILED_LINE + " "} in messages
    assert [e["action"] for e in events(call, "action_failed")] == ["transfer"]


@pytest.mark.parametrize("fault", ["errors", "times_out"])
def test_a_failing_http_tool_is_reported_to_the_llm_which_answers(settings, fault):
    tally.ran("faults", "actions")
    ScriptedSTT.script = list(SAID)
    call, token = new_call(cloud_agent())
    sorry = "Sorry, I can't check your order right now."

    def answer(body: dict) -> ScriptedReply:
        last = body["messages"][-1]
        return ScriptedReply(text=sorry if last["role"] == "tool" and "error" in last["content"] else ANSWER)

    async def scenario():
        status, delay = (500, 0.0) if fault == "errors" else (200, 3.0)
        async with FakeToolServer(secret="s3cret", status=status, delay_s=delay) as tools:
            await sync_to_async(Agent.objects.filter(pk=call.agent_id).update)(provider_options={
                "fallback": {"stt": "scripted"},
                "tools": [{"name": "order_status", "description": "Where an order is", "url": tools.endpoint,
                           "secret": "s3cret", "timeout_s": 1.2,
                           "parameters": {"type": "object", "properties": {"order": {"type": "string"}}}}]})

            def script(cloud):
                cloud.openai.responder = answer
                cloud.openai.replies.append(ScriptedReply(tool_calls=[("order_status", {"order": "A-1"})]))

            line = await run_call(settings, token, fault=script, listen_quiet_s=2.5)
            return line, tools.calls

    line, tool_calls = asyncio.run(scenario())

    assert tool_calls and tool_calls[0][0] == {"order": "A-1"}
    after_turn = line.gaps[0] - END_OF_TURN_S
    inside = line.longest_silence_in_reply(0)
    tally.measured("faults", f"dead air after the turn, HTTP tool {fault} (s)", after_turn)
    tally.measured("faults", f"dead air inside the answer, HTTP tool {fault} (s)", inside)
    assert after_turn <= DEAD_AIR_S + SLACK_S, f"{after_turn:.2f} s of dead air after the caller's turn"
    assert inside <= DEAD_AIR_S + SLACK_S, f"{inside:.2f} s of dead air while the tool failed"
    second_request = line.cloud.openai.requests[1]["messages"]
    assert "error" in json.loads(second_request[-1]["content"]), "the model got the error as the tool's result"
    replies = [text for role, text in conversation(call) if role == "agent"]
    assert sorry in replies[1], replies
    assert replies[2] == ANSWER, "and the conversation goes on"
    assert not events(call, "provider_failure"), "the LLM answered: no fallback was needed"

"""The media consumer and session around a dropped stream, through the real ASGI app with fake speech providers:
a drop is told apart from an end, the carrier is asked to reconnect (or the call ends without credentials), and a
reconnected stream continues the conversation — brain state saved with every turn, no second greeting."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from channels.testing import WebsocketCommunicator

from calls import stream_tokens
from calls.models import Agent, Call, CallEvent, Turn, Workspace
from calls.session.call_session import RESUME_LINE
from tests.test_media_consumer import Carrier, fakes, start_msg  # noqa: F401 (fakes: a fixture)
from voicebot.asgi import application
from voicebot.testing.pcm import silence, voiced
from voicebot.testing.vendors.twilio_rest import ACCOUNT_SID, FakeTwilio

from .seed import FLOW

pytestmark = pytest.mark.django_db(transaction=True)
ABNORMAL_CLOSURE = 1006


@pytest.fixture
def call(fakes):  # noqa: F811
    ws = Workspace.objects.create(name="W", slug="w")
    agent = Agent.objects.create(workspace=ws, name="A", greeting="Hi {name}.", flow=FLOW, stt_provider="scripted",
                                 tts_provider="tone", silence_timeout_s=30)
    token, nonce = stream_tokens.issue("CA1")
    made = Call.objects.create(workspace=ws, agent=agent, carrier="twilio", carrier_call_id="CA1", stream_nonce=nonce,
                               variables={"name": "Ada"})
    made.token = token
    return made


async def talk(carrier: Carrier, say: bool = True) -> None:
    """One caller utterance (if `say`), then listen until the agent has been quiet a while."""
    if say:
        await carrier.send_audio(silence(200) + voiced(500) + silence(500))
    await carrier.pump(wait=0.6)


async def open_stream(token: str) -> tuple[WebsocketCommunicator, Carrier]:
    comm = WebsocketCommunicator(application, "/media/twilio")
    assert (await comm.connect())[0]
    carrier = Carrier(comm)
    await comm.send_to(text_data=start_msg(token))
    return comm, carrier


async def until(check, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while not (value := await check()):
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)
    return value


def agent_texts(call: Call) -> list[str]:
    return list(Turn.objects.filter(call=call, role="agent").order_by("index").values_list("text", flat=True))


def test_call_variables_fill_the_greeting_and_the_brain_state_is_saved_with_each_turn(call, fakes):  # noqa: F811
    fakes.script = ["I want an appointment"]

    async def go():
        comm, carrier = await open_stream(call.token)
        await talk(carrier, say=False)
        await talk(carrier)
        # Mid-call, the stored state is already the one after the agent's last reply.
        state = await until(lambda: _saved_node(call.pk, "day"))
        await comm.send_to(text_data=json.dumps({"event": "stop", "stop": {"callSid": "CA1"}}))
        await comm.disconnect()  # a clean close after the stop: the end of the stream, not a drop
        return state

    assert asyncio.run(go())["variables"]["name"] == "Ada"
    assert agent_texts(call)[:2] == ["Hi Ada. How can I help?", "Which day?"]


async def _saved_node(pk: int, node: str):
    state = (await Call.objects.aget(pk=pk)).brain_state
    return state if state.get("node") == node else None


def test_a_reconnected_stream_skips_the_greeting_and_continues_at_the_saved_node(call, fakes):  # noqa: F811
    fakes.script = ["I want an appointment", "tomorrow"]

    async def first_stream():
        comm, carrier = await open_stream(call.token)
        await talk(carrier, say=False)
        await talk(carrier)
        await comm.send_to(text_data=json.dumps({"event": "stop", "stop": {"callSid": "CA1"}}))
        await comm.disconnect()  # a clean close after the stop: the end of the stream, not a drop

    asyncio.run(first_stream())
    fakes.script = ["tomorrow"]
    token, nonce = stream_tokens.issue("CA1")
    Call.objects.filter(pk=call.pk).update(stream_nonce=nonce)

    async def second_stream():
        comm, carrier = await open_stream(token)
        await talk(carrier, say=False)
        await talk(carrier)
        await comm.send_to(text_data=json.dumps({"event": "stop", "stop": {"callSid": "CA1"}}))
        await comm.disconnect()  # a clean close after the stop: the end of the stream, not a drop

    asyncio.run(second_stream())
    turns = list(Turn.objects.filter(call=call).order_by("index").values_list("index", "role", "text"))
    assert [t[0] for t in turns] == list(range(len(turns)))
    assert [t[2] for t in turns if t[1] == "agent"] == [
        "Hi Ada. How can I help?", "Which day?", RESUME_LINE, "Booked for tomorrow. Anything else?"]


def test_a_dropped_stream_without_credentials_ends_the_call(call, settings):
    settings.TWILIO_CREDENTIALS_ARE_REAL = False

    async def go():
        comm, carrier = await open_stream(call.token)
        await talk(carrier, say=False)
        await comm.disconnect(code=ABNORMAL_CLOSURE)
        # The post-call work (eager: no broker here) runs after the drop was judged not resumable.
        await until(lambda: Call.objects.filter(pk=call.pk).exclude(summary="").aexists())

    asyncio.run(go())
    stored = Call.objects.get(pk=call.pk)
    assert (stored.status, stored.end_reason) == ("completed", "stream-dropped")
    event = CallEvent.objects.get(call=call, kind="info", detail__stream="resume_unavailable")
    assert "TWILIO_ACCOUNT_SID" in event.detail["error"]


def test_a_dropped_stream_asks_twilio_to_reconnect_with_a_fresh_token(call, settings):
    fake = FakeTwilio("token").start()
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = ACCOUNT_SID, "token"
    settings.TWILIO_CREDENTIALS_ARE_REAL, settings.TWILIO_BASE_URL = True, fake.base_url
    try:
        async def go():
            comm, carrier = await open_stream(call.token)
            await talk(carrier, say=False)
            await comm.disconnect(code=ABNORMAL_CLOSURE)
            return await asyncio.to_thread(fake.reconnects.get, timeout=5)

        reconnect = asyncio.run(go())
    finally:
        fake.stop()
    assert reconnect.call_sid == "CA1"
    stored = Call.objects.get(pk=call.pk)
    # Reopened, and the new token is the one the call now accepts; no post-call work yet.
    assert (stored.status, stored.ended_at, stored.end_reason, stored.summary) == ("in-progress", None, "", "")
    claim = stream_tokens.verify(reconnect.params["token"])
    assert claim.call_id == "CA1" and claim.nonce == stored.stream_nonce
    assert CallEvent.objects.filter(call=call, kind="info", detail__stream="resume_requested").count() == 1

"""The media consumer through the real ASGI app: token gate, greeting, turns, barge-in, junk, persistence."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from channels.testing import WebsocketCommunicator

from calls import stream_tokens
from calls.consumers import BAD_INPUT
from calls.models import Agent, Call, CallEvent, PhoneNumber, Turn, Workspace
from calls.pipeline.audio import ulaw_encode
from calls.providers import registry
from voicebot.asgi import application
from voicebot.testing.pcm import silence, voiced

from .pipeline_fakes import ScriptedSTT, ToneTTS

FLOW = {
    "start": "ask",
    "nodes": {
        "ask": {"type": "ask", "text": "How can I help?", "routes": [
            {"keywords": ["appointment"], "next": "book"}, {"keywords": ["bye"], "next": "bye"},
            {"dtmf": "0", "next": "bye"}]},
        "book": {"type": "ask", "text": "Which day would you like to come in for your visit with the doctor?",
                 "routes": [{"keywords": ["tomorrow"], "next": "bye"}]},
        "bye": {"type": "end", "text": "Goodbye."},
    },
}


@pytest.fixture
def fakes(monkeypatch):
    monkeypatch.setitem(registry.STT, "scripted", "tests.pipeline_fakes.ScriptedSTT")
    monkeypatch.setitem(registry.TTS, "tone", "tests.pipeline_fakes.ToneTTS")
    monkeypatch.setitem(registry.TTS, "espeak", "tests.pipeline_fakes.ToneTTS")  # the fallback voice, too
    ScriptedSTT.script = []
    return ScriptedSTT


@pytest.fixture
def call(db, fakes):
    ws = Workspace.objects.create(name="W", slug="w")
    agent = Agent.objects.create(workspace=ws, name="A", greeting="Hello.", flow=FLOW, stt_provider="scripted",
                                 tts_provider="tone", silence_timeout_s=30)
    PhoneNumber.objects.create(workspace=ws, e164="+15550100000", carrier="twilio", agent=agent)
    token, nonce = stream_tokens.issue("CA1")
    call = Call.objects.create(workspace=ws, agent=agent, carrier="twilio", carrier_call_id="CA1", stream_nonce=nonce)
    call.token = token
    return call


def start_msg(token: str, call_id: str = "CA1") -> str:
    return json.dumps({"event": "start", "sequenceNumber": "1", "streamSid": "MZ1", "start": {
        "streamSid": "MZ1", "callSid": call_id, "accountSid": "AC1", "tracks": ["inbound"],
        "customParameters": {"token": token},
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}})


def media_msgs(pcm: bytes) -> list[str]:
    out = []
    for off in range(0, len(pcm), 320):
        payload = base64.b64encode(ulaw_encode(pcm[off : off + 320])).decode()
        out.append(json.dumps({"event": "media", "streamSid": "MZ1", "media": {"track": "inbound", "payload": payload}}))
    return out


class Carrier:
    """Plays the carrier over the communicator: paced frames, marks echoed once 'played'."""

    def __init__(self, comm: WebsocketCommunicator):
        self.comm = comm
        self.received: list[dict] = []

    async def send_audio(self, pcm: bytes) -> None:
        for msg in media_msgs(pcm):
            await self.comm.send_to(text_data=msg)
            await asyncio.sleep(0.002)  # faster than real time; the session does not care about the clock
            await self.pump(echo_marks=True)

    async def pump(self, echo_marks: bool = True, wait: float = 0.0) -> None:
        """Handle what the server sent; with `wait`, keep listening until it has been quiet that long."""
        while True:
            # (receive_output with a timeout would cancel the application on expiry, so poll the queue.)
            if self.comm.output_queue.empty() and (not wait or await self.comm.receive_nothing(wait, 0.01)):
                return
            raw = await self._nowait()
            if raw is None:
                return
            msg = json.loads(raw)
            self.received.append(msg)
            if msg["event"] == "mark" and echo_marks:
                await self.comm.send_to(text_data=json.dumps({"event": "mark", "streamSid": "MZ1", "mark": msg["mark"]}))

    async def _nowait(self):
        if self.comm.output_queue.empty():
            return None
        out = await self.comm.receive_output(timeout=1)
        if out["type"] == "websocket.close":
            self.received.append({"event": "__close__", "code": out.get("code")})
            return None
        return out["text"]

    def events(self, kind: str) -> list[dict]:
        return [m for m in self.received if m["event"] == kind]


async def connect():
    comm = WebsocketCommunicator(application, "/media/twilio")
    connected, _ = await comm.connect()
    assert connected
    return comm


@pytest.mark.django_db(transaction=True)
def test_stream_without_a_valid_token_is_closed_4403(call):
    async def go():
        comm = await connect()
        await comm.send_to(text_data=start_msg("forged.token"))
        out = await comm.receive_output(timeout=2)
        assert out == {"type": "websocket.close", "code": 4403}
        await comm.disconnect()

    asyncio.run(go())


@pytest.mark.django_db(transaction=True)
def test_a_used_token_cannot_open_a_second_stream(call):
    async def go():
        first = await connect()
        await first.send_to(text_data=start_msg(call.token))
        await first.receive_from(timeout=3)  # greeting audio: the first stream is live
        second = await connect()
        await second.send_to(text_data=start_msg(call.token))
        assert await second.receive_output(timeout=2) == {"type": "websocket.close", "code": 4403}
        await first.disconnect()
        await second.disconnect()

    asyncio.run(go())


@pytest.mark.django_db(transaction=True)
def test_a_conversation_with_barge_in_is_stored_turn_by_turn(call, fakes):
    fakes.script = ["I need an appointment", "tomorrow please"]

    async def go():
        comm = await connect()
        carrier = Carrier(comm)
        await comm.send_to(text_data=start_msg(call.token))
        await carrier.pump(wait=1.0)
        assert carrier.events("media"), "greeting audio should start at once"
        await carrier.send_audio(silence(400))
        await carrier.pump(wait=0.3)
        # Caller asks for an appointment; the agent answers with a long question.
        marks_before = len(carrier.events("mark"))
        await carrier.send_audio(voiced(600) + silence(500))
        await carrier.pump(echo_marks=False, wait=0.5)
        before = len(carrier.events("media"))
        assert before > 0
        # Echo only the first mark: the caller heard the start of the reply, then talks over it.
        first_mark = carrier.events("mark")[marks_before]
        await comm.send_to(text_data=json.dumps({"event": "mark", "mark": first_mark["mark"]}))
        await carrier.send_audio(voiced(400))
        await carrier.pump(wait=0.3)
        assert carrier.events("clear"), "barge-in must send clear"
        await carrier.send_audio(silence(500))
        await carrier.pump(wait=1.0)
        await comm.send_to(text_data=json.dumps({"event": "stop", "stop": {"callSid": "CA1"}}))
        await comm.wait(timeout=3)

    asyncio.run(go())
    turns = list(Turn.objects.filter(call=call).order_by("index"))
    roles = [t.role for t in turns]
    assert roles[:3] == ["agent", "caller", "agent"]
    assert turns[1].text == "I need an appointment"
    interrupted = turns[2]
    assert interrupted.interrupted and interrupted.text.startswith("Which day")
    assert 0 < len(interrupted.heard_text) < len(interrupted.text)
    assert interrupted.metrics.end_to_end_ms is not None
    assert turns[3].role == "caller" and turns[3].text == "tomorrow please"
    assert CallEvent.objects.filter(call=call, kind="barge_in").exists()
    assert Call.objects.get(pk=call.pk).status == "completed"


@pytest.mark.django_db(transaction=True)
def test_junk_is_counted_and_does_not_end_the_call(call, fakes):
    fakes.script = ["goodbye bye"]
    before = sum(BAD_INPUT.values())

    async def go():
        comm = await connect()
        carrier = Carrier(comm)
        await comm.send_to(text_data=json.dumps({"event": "media", "media": {"payload": "AAAA"}}))  # before start
        await comm.send_to(text_data=start_msg(call.token))
        for junk in ["{oops", "[]", '{"event": "nope"}', '{"event": "media", "media": {"payload": "!!"}}',
                     "x" * 70000]:
            await comm.send_to(text_data=junk)
        await comm.send_to(bytes_data=b"\x00\x01")
        await carrier.pump(wait=0.5)
        await carrier.send_audio(silence(300) + voiced(500) + silence(500))
        await carrier.pump(wait=1.5)
        assert carrier.events("media"), "the call goes on after junk"
        await comm.disconnect()

    asyncio.run(go())
    assert sum(BAD_INPUT.values()) - before >= 7
    bad = CallEvent.objects.get(call=call, kind="bad_input").detail
    for reason in ("invalid_json", "not_an_object", "unknown_event", "invalid_base64", "oversized", "binary_frame"):
        assert bad.get(reason) == 1, reason
    assert Turn.objects.filter(call=call, role="caller", text="goodbye bye").exists()


@pytest.mark.django_db(transaction=True)
def test_dtmf_reaches_the_flow(call):
    async def go():
        comm = await connect()
        carrier = Carrier(comm)
        await comm.send_to(text_data=start_msg(call.token))
        await carrier.pump(wait=1.0)
        await comm.send_to(text_data=json.dumps({"event": "dtmf", "dtmf": {"track": "inbound_track", "digit": "0"}}))
        await carrier.pump(wait=1.0)
        await comm.wait(timeout=3)

    asyncio.run(go())
    assert CallEvent.objects.filter(call=call, kind="dtmf", detail__digit="0").exists()
    assert Turn.objects.filter(call=call, role="agent", text="Goodbye.").exists()


@pytest.fixture
def quick_agent(call):
    """The same call, with short silence and duration limits and an uninterruptible greeting."""
    agent = call.agent
    agent.silence_timeout_s = 0.6
    agent.max_reprompts = 1
    agent.flow = {**FLOW, "no_input_goodbye": "I can't hear you. Goodbye.",
                  "nodes": {**FLOW["nodes"], "ask": {**FLOW["nodes"]["ask"], "reprompt": "Are you still there?"}}}
    agent.save()
    return call


@pytest.mark.django_db(transaction=True)
def test_silence_gets_a_reprompt_then_a_polite_goodbye(quick_agent):
    async def go():
        comm = await connect()
        carrier = Carrier(comm)
        await comm.send_to(text_data=start_msg(quick_agent.token))
        for _ in range(40):  # the caller says nothing for ~4 s
            await carrier.send_audio(silence(100))
            await carrier.pump(wait=0.08)
            if carrier.events("__close__"):
                break
        return carrier

    carrier = asyncio.run(go())
    agent_turns = list(Turn.objects.filter(call=quick_agent, role="agent").order_by("index").values_list("text", flat=True))
    assert any("Are you still there?" in t for t in agent_turns), agent_turns
    assert "Goodbye" in agent_turns[-1]
    assert CallEvent.objects.filter(call=quick_agent, kind="reprompt").count() == 1
    assert carrier.events("__close__"), "the agent ends the call after the goodbye"


@pytest.mark.django_db(transaction=True)
def test_max_duration_ends_the_call_after_a_goodbye(quick_agent):
    Agent.objects.filter(pk=quick_agent.agent_id).update(max_duration_s=1, silence_timeout_s=30)

    async def go():
        comm = await connect()
        carrier = Carrier(comm)
        await comm.send_to(text_data=start_msg(quick_agent.token))
        for _ in range(50):
            await carrier.send_audio(silence(100))
            await carrier.pump(wait=0.05)
            if carrier.events("__close__"):
                break
        return carrier

    carrier = asyncio.run(go())
    last = Turn.objects.filter(call=quick_agent, role="agent").order_by("-index").first()
    assert "time limit" in last.text
    assert carrier.events("__close__")
    assert Call.objects.get(pk=quick_agent.pk).end_reason == "max-duration"


@pytest.mark.django_db(transaction=True)
def test_uninterruptible_speech_is_not_cut_by_the_caller(call):
    flow = {**FLOW, "start": "notice", "nodes": {**FLOW["nodes"], "notice": {
        "type": "say", "uninterruptible": True, "next": "ask",
        "text": "This call may be recorded for quality and training purposes by our team."}}}
    Agent.objects.filter(pk=call.agent_id).update(flow=flow, greeting="")

    async def go():
        comm = await connect()
        carrier = Carrier(comm)
        await comm.send_to(text_data=start_msg(call.token))
        await carrier.pump(echo_marks=False, wait=0.2)
        await carrier.send_audio(voiced(500))  # talks over the legal notice
        await carrier.pump(echo_marks=False, wait=0.3)
        assert not carrier.events("clear")
        await comm.disconnect()

    asyncio.run(go())
    assert not CallEvent.objects.filter(call=call, kind="barge_in").exists()

"""The media consumer through the real ASGI app, fed random mixes of junk and valid messages: it never crashes, the
stream stays open and keeps working, every piece of junk is counted once under its reason, and the turns the call
already had are untouched."""

from __future__ import annotations

import asyncio
import copy
import json
from collections import Counter
from datetime import timedelta

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calls import stream_tokens
from calls.carriers.base import BadMessage, CallStart, StreamStopped
from calls.carriers.telnyx.media import TelnyxSerializer
from calls.carriers.twilio.media import TwilioSerializer
from calls.models import Agent, Call, CallEvent, Turn, Workspace
from calls.providers import registry
from tests import tally
from tests.pipeline_fakes import ScriptedSTT
from voicebot.asgi import application
from voicebot.testing.pcm import silence, voiced

from .messages import junk_text
from .wire import Wire

SERIALIZERS = {"twilio": TwilioSerializer, "telnyx": TelnyxSerializer}
FLOW = {"start": "ask", "nodes": {"ask": {"type": "ask", "text": "How can I help?", "routes": []}}}
STORED = ["Thanks for calling, this is the first stored turn.", "I'd like to book a cleaning", "Sure, which day?"]

actions = st.one_of(
    st.tuples(st.just("junk"), st.none()),  # the text is drawn per carrier below
    st.tuples(st.just("audio"), st.sampled_from([("voiced", 200), ("silence", 100), ("silence", 20)])),
    st.tuples(st.just("mark"), st.sampled_from(["m-1", "m-2", "", "never-sent"])),
    st.tuples(st.just("dtmf"), st.sampled_from(list("0123456789*#"))),
    st.tuples(st.just("binary"), st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("oversized"), st.integers(1, 5000)),
)


@pytest.fixture
def agent(db, monkeypatch):
    monkeypatch.setitem(registry.STT, "scripted", "tests.pipeline_fakes.ScriptedSTT")
    monkeypatch.setitem(registry.TTS, "tone", "tests.pipeline_fakes.ToneTTS")
    monkeypatch.setitem(registry.TTS, "espeak", "tests.pipeline_fakes.ToneTTS")
    ScriptedSTT.script = []
    ws = Workspace.objects.create(name="W", slug="w")
    return Agent.objects.create(workspace=ws, name="A", greeting="Hello.", flow=FLOW, stt_provider="scripted",
                                tts_provider="tone", silence_timeout_s=30)


def call_with_turns(agent: Agent, carrier: str, n: int) -> tuple[Call, str]:
    call_id = f"{carrier}-{n}"
    token, nonce = stream_tokens.issue(call_id)
    # A call with turns already stored is a reconnected stream: it resumes where its flow was.
    call = Call.objects.create(workspace=agent.workspace, agent=agent, carrier=carrier, carrier_call_id=call_id,
                               stream_nonce=nonce, brain_state={"node": "ask", "variables": {}})
    at = timezone.now() - timedelta(minutes=1)
    for index, text in enumerate(STORED):
        Turn.objects.create(call=call, index=index, role="agent" if index % 2 == 0 else "caller", text=text,
                            started_at=at + timedelta(seconds=index), ended_at=at + timedelta(seconds=index + 1))
    return call, token


class Shadow:
    """A second serializer fed exactly what the consumer's is fed, to know what the consumer must have counted."""

    def __init__(self, carrier: str) -> None:
        self.serializer = SERIALIZERS[carrier]()
        self.started = False
        self.bad: Counter = Counter()

    def would_end_the_stream(self, text: str) -> bool:
        """Junk that legitimately ends a stream: a start with a forged token or an undecodable format before ours,
        or a stop once the call runs. Those are not recoverable, so the random junk leaves them out."""
        if len(text) > django_settings.MAX_WS_MESSAGE_BYTES:
            return False
        try:
            events = copy.deepcopy(self.serializer).parse(text)
        except BadMessage as exc:
            return exc.reason == "unsupported_media_format" and not self.started
        except Exception:  # noqa: BLE001 - the consumer must survive this too; the serializer suite reports it
            return False
        kinds = {type(e) for e in events}
        return (CallStart in kinds and not self.started) or (StreamStopped in kinds and self.started)

    def feed(self, text: str) -> None:
        if len(text) > django_settings.MAX_WS_MESSAGE_BYTES:
            self.bad["oversized"] += 1
            return
        try:
            events = self.serializer.parse(text)
        except BadMessage as exc:
            self.bad[exc.reason] += 1
            return
        except Exception:  # noqa: BLE001
            self.bad["serializer_error"] += 1
            return
        self.started = self.started or any(type(e) is CallStart for e in events)


async def drive(carrier: str, token: str, plan: list, junk: list[str], start_at: int) -> dict:
    comm = WebsocketCommunicator(application, f"/media/{carrier}")
    connected, _ = await comm.connect()
    assert connected
    wire, shadow = Wire(carrier, token), Shadow(carrier)
    received: list[dict] = []

    async def send(text: str) -> None:
        shadow.feed(text)
        # As an ASGI server delivers a text frame (the communicator's send_to refuses an empty one).
        await comm.send_input({"type": "websocket.receive", "text": text})

    async def pump() -> None:
        while not comm.output_queue.empty():
            out = await comm.receive_output(timeout=1)
            if out["type"] == "websocket.close":
                received.append({"event": "__close__", "code": out.get("code")})
                continue
            msg = json.loads(out["text"])
            received.append(msg)
            if msg.get("event") == "mark":
                await send(wire.mark(msg["mark"]["name"]))

    junk_iter = iter(junk)
    for i, (kind, value) in enumerate(plan):
        if i == start_at and not shadow.started:
            await send(wire.start())
        if kind == "junk":
            text = next(junk_iter)
            if not shadow.would_end_the_stream(text):
                await send(text)
        elif kind == "audio":
            for msg in wire.media(voiced(value[1]) if value[0] == "voiced" else silence(value[1])):
                await send(msg)
        elif kind == "mark":
            await send(wire.mark(value))
        elif kind == "dtmf":
            await send(wire.dtmf(value))
        elif kind == "binary":
            shadow.bad["binary_frame"] += 1
            await comm.send_to(bytes_data=value)
        elif kind == "oversized":
            await send("x" * (django_settings.MAX_WS_MESSAGE_BYTES + value))
        await asyncio.sleep(0)
        await pump()
    if not shadow.started:
        await send(wire.start())
    # The stream still works after all that: line silence (ending any utterance the plan left open), then a key
    # press, and the agent answers it with audio.
    for msg in wire.media(silence(400)):  # the turn detector counts frames, not wall time
        await send(msg)
        await asyncio.sleep(0)
    await pump()
    await send(wire.dtmf("5"))
    heard_before = sum(m.get("event") == "media" for m in received)
    for _ in range(300):
        await pump()
        if sum(m.get("event") == "media" for m in received) > heard_before:
            break
        await asyncio.sleep(0.01)
    closes = [m for m in received if m["event"] == "__close__"]
    spoke = sum(m.get("event") == "media" for m in received) > heard_before
    await comm.disconnect(timeout=5)
    crashed = comm.future.done() and not comm.future.cancelled() and comm.future.exception() is not None
    return {"closes": closes, "spoke": spoke, "expected_bad": shadow.bad,
            "crash": repr(comm.future.exception()) if crashed else None}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("carrier", ["twilio", "telnyx"])
def test_random_junk_never_crashes_the_consumer_closes_the_stream_or_loses_stored_turns(agent, carrier):
    calls = iter(range(10_000))

    @settings(max_examples=20, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.function_scoped_fixture])
    @given(plan=st.lists(actions, min_size=1, max_size=14), data=st.data())
    def check(plan, data):
        tally.ran("badinput", f"{carrier}_consumer")
        junk = [data.draw(junk_text(carrier)) for kind, _ in plan if kind == "junk"]
        start_at = data.draw(st.integers(0, len(plan)))
        call, token = call_with_turns(agent, carrier, next(calls))
        outcome = asyncio.run(drive(carrier, token, plan, junk, start_at))

        assert outcome["crash"] is None, outcome["crash"]
        assert outcome["closes"] == [], f"the stream was closed on recoverable junk: {outcome['closes']}"
        assert outcome["spoke"], "the agent did not answer a key press after the junk"
        stored = list(Turn.objects.filter(call=call).order_by("index").values_list("index", "text"))
        assert stored[:3] == list(enumerate(STORED)), "a stored turn was lost or changed"
        assert len(stored) > 3, "nothing new was stored after the old turns"
        assert not CallEvent.objects.filter(call=call, kind="error").exists(), \
            list(CallEvent.objects.filter(call=call, kind="error").values_list("detail", flat=True))
        expected = {reason: n for reason, n in outcome["expected_bad"].items() if n}
        if expected:
            counted = CallEvent.objects.get(call=call, kind="bad_input").detail
            assert {reason: counted.get(reason) for reason in expected} == expected
        assert Call.objects.get(pk=call.pk).status == "completed"

    check()

"""Telnyx calls through the real ASGI app and media consumer: PCMA, L16 at 16 kHz, Call Control tokens,
reordered and duplicated frames, and streams that must be refused or survive junk."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import pytest
from channels.testing import WebsocketCommunicator

from calls import stream_tokens
from calls.carriers.telnyx.client_state import encode_token
from calls.consumers import BAD_INPUT
from calls.models import Agent, Call, CallEvent, PhoneNumber, Turn, Workspace
from calls.pipeline.audio import get_codec
from calls.providers import registry
from voicebot.asgi import application
from voicebot.testing.pcm import silence, voiced

from .pipeline_fakes import ScriptedSTT

FLOW = {
    "start": "ask",
    "nodes": {
        "ask": {"type": "ask", "text": "How can I help?", "routes": [{"keywords": ["appointment"], "next": "book"}]},
        "book": {"type": "ask", "text": "Which day suits you?", "routes": [{"keywords": ["tomorrow"], "next": "bye"}]},
        "bye": {"type": "end", "text": "Goodbye."},
    },
}
CCID = "v3:cc-test-1"


@pytest.fixture
def fakes(monkeypatch):
    monkeypatch.setitem(registry.STT, "scripted", "tests.pipeline_fakes.ScriptedSTT")
    monkeypatch.setitem(registry.TTS, "tone", "tests.pipeline_fakes.ToneTTS")
    monkeypatch.setitem(registry.TTS, "espeak", "tests.pipeline_fakes.ToneTTS")
    ScriptedSTT.script = ["I need an appointment", "tomorrow"]
    return ScriptedSTT


@pytest.fixture
def call(db, fakes):
    ws = Workspace.objects.create(name="W", slug="w")
    agent = Agent.objects.create(workspace=ws, name="A", greeting="Hello.", flow=FLOW, stt_provider="scripted",
                                 tts_provider="tone", silence_timeout_s=30)
    PhoneNumber.objects.create(workspace=ws, e164="+15550100000", carrier="telnyx", agent=agent)
    token, nonce = stream_tokens.issue(CCID)
    call = Call.objects.create(workspace=ws, agent=agent, carrier="telnyx", carrier_call_id=CCID, stream_nonce=nonce)
    call.token = token
    return call


class Telnyx:
    """Plays Telnyx over the communicator: numbered messages, paced frames, marks echoed once 'played'."""

    def __init__(self, comm: WebsocketCommunicator, codec: str, rate: int) -> None:
        self.comm = comm
        self.codec = get_codec(codec, rate)
        self.rate = rate
        self.seq = 0
        self.received: list[dict] = []
        self.closed: int | None = None

    def _n(self) -> str:
        self.seq += 1
        return str(self.seq)

    async def start(self, *, token: str = "", client_state: str | None = None, call_control_id: str = CCID,
                    encoding: str | None = None) -> None:
        await self.comm.send_to(text_data=json.dumps({"event": "connected", "version": "1.0.0"}))
        await self.comm.send_to(text_data=json.dumps({
            "event": "start", "sequence_number": self._n(), "stream_id": "st-1",
            "start": {"call_control_id": call_control_id, "client_state": client_state,
                      "custom_parameters": {"token": token} if token else {},
                      "media_format": {"encoding": encoding or self.codec.name, "sample_rate": self.rate,
                                       "channels": 1}}}))

    def media(self, pcm: bytes) -> list[str]:
        out = []
        step = self.rate * 2 // 50
        for off in range(0, len(pcm), step):
            payload = base64.b64encode(self.codec.encode(pcm[off : off + step])).decode()
            out.append(json.dumps({"event": "media", "sequence_number": self._n(), "stream_id": "st-1",
                                   "media": {"track": "inbound", "chunk": str(off // step + 1), "payload": payload}}))
        return out

    async def send(self, messages: list[str]) -> None:
        for msg in messages:
            await self.comm.send_to(text_data=msg)
            await asyncio.sleep(0.002)
            await self.pump()

    async def say(self, pcm: bytes) -> None:
        await self.send(self.media(pcm))

    async def pump(self, wait: float = 0.0) -> None:
        while True:
            # (receive_output with a timeout would cancel the application on expiry, so poll the queue.)
            if self.comm.output_queue.empty() and (not wait or await self.comm.receive_nothing(wait, 0.01)):
                return
            out = await self.comm.receive_output(timeout=1)
            if out["type"] == "websocket.close":
                self.closed = out.get("code")
                return
            msg = json.loads(out["text"])
            self.received.append(msg)
            if msg["event"] == "mark":
                await self.comm.send_to(text_data=json.dumps({"event": "mark", "sequence_number": self._n(),
                                                              "mark": msg["mark"]}))

    async def until(self, condition, timeout: float = 8.0, then_quiet: float = 0.3) -> None:
        """Pump until `condition()` holds (a loaded machine can be slow to answer), then until quiet."""
        deadline = time.monotonic() + timeout
        while not condition() and time.monotonic() < deadline and self.closed is None:
            await self.pump(wait=0.05)
        assert condition(), "the server did not answer in time"
        await self.pump(wait=then_quiet)

    def events(self, kind: str) -> list[dict]:
        return [m for m in self.received if m["event"] == kind]

    def payloads(self) -> list[bytes]:
        return [base64.b64decode(m["media"]["payload"]) for m in self.events("media")]

    async def stop(self) -> None:
        await self.comm.send_to(text_data=json.dumps({"event": "stop", "sequence_number": self._n(), "stop": {}}))
        # The consumer handles messages one at a time: the disconnect is processed after the stop has finished.
        await self.comm.disconnect(timeout=3)


async def connect() -> WebsocketCommunicator:
    comm = WebsocketCommunicator(application, "/media/telnyx")
    connected, _ = await comm.connect()
    assert connected
    return comm


async def conversation(carrier: Telnyx, rate: int) -> None:
    """Greeting, one caller turn, the agent's answer."""
    await carrier.until(lambda: carrier.events("media"))  # the greeting
    greeting = len(carrier.events("media"))
    await carrier.say(silence(200, rate) + voiced(600, rate) + silence(500, rate))
    await carrier.until(lambda: len(carrier.events("media")) > greeting)  # the answer


def stored(call) -> list[tuple[str, str]]:
    return [(t.role, t.text) for t in Turn.objects.filter(call=call).order_by("index")]


@pytest.mark.django_db(transaction=True)
def test_a_pcma_call_is_decoded_and_answered_in_pcma(call):
    async def go():
        comm = await connect()
        carrier = Telnyx(comm, "PCMA", 8000)
        await carrier.start(token=call.token)
        await conversation(carrier, 8000)
        payloads = carrier.payloads()
        # ToneTTS speaks PCM16 value 16: in A-law that is one code, not μ-law's.
        codec = get_codec("PCMA", 8000)
        assert payloads[0] == codec.encode(b"\x10\x00" * len(payloads[0]))
        assert all(len(p) == 160 for p in payloads[:-1])  # 20 ms at 8 kHz, one byte a sample
        await carrier.stop()

    asyncio.run(go())
    turns = stored(call)
    assert ("caller", "I need an appointment") in turns and ("agent", "Which day suits you?") in turns
    assert Call.objects.get(pk=call.pk).status == "completed"


@pytest.mark.django_db(transaction=True)
def test_an_l16_16khz_call_runs_the_session_at_16khz(call):
    async def go():
        comm = await connect()
        carrier = Telnyx(comm, "L16", 16000)
        await carrier.start(token=call.token)
        await conversation(carrier, 16000)
        payloads = carrier.payloads()
        assert all(len(p) == 640 for p in payloads[:-1])  # 20 ms at 16 kHz, two bytes a sample
        assert payloads[0][:2] == b"\x00\x10"  # value 16, big-endian on the wire
        await carrier.stop()

    asyncio.run(go())
    turns = stored(call)
    assert ("caller", "I need an appointment") in turns and ("agent", "Which day suits you?") in turns


@pytest.mark.django_db(transaction=True)
def test_call_control_token_in_client_state_opens_the_stream_for_its_own_call_only(call):
    async def go():
        other = await connect()
        intruder = Telnyx(other, "PCMU", 8000)
        await intruder.start(client_state=encode_token(call.token), call_control_id="v3:another-call")
        assert await other.receive_output(timeout=2) == {"type": "websocket.close", "code": 4403}
        await other.disconnect()

    asyncio.run(go())
    # The refused attempt burned the token (single use): issue a fresh one, as a retried answer would.
    token, nonce = stream_tokens.issue(CCID)
    Call.objects.filter(pk=call.pk).update(stream_nonce=nonce)

    async def go_again():
        comm = await connect()
        carrier = Telnyx(comm, "PCMU", 8000)
        await carrier.start(client_state=encode_token(token))
        await carrier.until(lambda: carrier.events("media"))
        assert carrier.closed is None
        await carrier.stop()

    asyncio.run(go_again())
    assert Call.objects.get(pk=call.pk).status == "completed"


@pytest.mark.django_db(transaction=True)
def test_reordered_and_duplicated_frames_still_make_a_turn_and_are_recorded(call):
    async def go():
        comm = await connect()
        carrier = Telnyx(comm, "PCMU", 8000)
        await carrier.start(token=call.token)
        await carrier.until(lambda: carrier.events("media"))
        greeting = len(carrier.events("media"))
        frames = carrier.media(silence(200) + voiced(600) + silence(500))
        shuffled = []
        for i in range(0, len(frames), 3):  # swap within windows of three, and send one frame twice
            shuffled += list(reversed(frames[i : i + 3]))
        shuffled.insert(10, shuffled[9])
        await carrier.send(shuffled)
        await carrier.until(lambda: len(carrier.events("media")) > greeting)
        await carrier.stop()

    asyncio.run(go())
    assert ("caller", "I need an appointment") in stored(call)
    repaired = CallEvent.objects.get(call=call, kind="bad_input").detail
    assert repaired["duplicates"] == 1 and "concealed" not in repaired and "late_dropped" not in repaired


@pytest.mark.django_db(transaction=True)
def test_an_unknown_media_format_closes_the_stream_at_once(call):
    before = BAD_INPUT["unsupported_media_format"]

    async def go():
        comm = await connect()
        carrier = Telnyx(comm, "PCMU", 8000)
        await carrier.start(token=call.token, encoding="OPUS")
        assert await comm.receive_output(timeout=2) == {"type": "websocket.close", "code": 4415}
        await comm.disconnect()

    asyncio.run(go())
    assert BAD_INPUT["unsupported_media_format"] == before + 1
    assert Call.objects.get(pk=call.pk).stream_nonce  # the token was never spent on it


@pytest.mark.django_db(transaction=True)
def test_junk_on_a_telnyx_stream_is_counted_and_the_call_goes_on(call):
    before = sum(BAD_INPUT.values())

    async def go():
        comm = await connect()
        carrier = Telnyx(comm, "L16", 16000)
        await comm.send_to(text_data=json.dumps({"event": "stop", "sequence_number": "1", "stop": {}}))
        await carrier.start(token=call.token)
        odd = base64.b64encode(b"\x00" * 641).decode()
        for junk in [json.dumps({"event": "media", "sequence_number": "99", "media": {"payload": odd}}),
                     json.dumps({"event": "error", "payload": {"code": 100002, "title": "unknown_error"}}),
                     json.dumps({"event": "media", "sequence_number": "x", "media": {"payload": ""}})]:
            await comm.send_to(text_data=junk)
        await carrier.until(lambda: carrier.events("media"))
        assert carrier.closed is None
        greeting = len(carrier.events("media"))
        await carrier.say(silence(200, 16000) + voiced(600, 16000) + silence(500, 16000))
        await carrier.until(lambda: len(carrier.events("media")) > greeting)
        await carrier.stop()

    asyncio.run(go())
    assert sum(BAD_INPUT.values()) - before >= 4
    bad = CallEvent.objects.get(call=call, kind="bad_input").detail
    for reason in ("bad_payload_length", "carrier_error", "bad_sequence_number"):
        assert bad.get(reason) == 1, (reason, bad)
    assert ("caller", "I need an appointment") in stored(call)

"""Talk to an agent from the browser, through the real ASGI app: the page, the token it is handed, the stream gate,
and a conversation over the browser carrier with the fake providers — stored like a phone call."""

from __future__ import annotations

import asyncio
import base64
import json
import wave

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client

from calls import stream_tokens
from calls.models import Agent, Call, Turn
from calls.providers import registry
from tests.pipeline_fakes import ScriptedSTT
from voicebot.asgi import application
from voicebot.testing.pcm import silence, voiced

RATE = 16000
FRAME = RATE * 2 * 20 // 1000  # 20 ms of PCM16
HOST = [(b"host", b"testserver"), (b"origin", b"http://testserver")]
FLOW = {
    "start": "ask",
    "nodes": {
        "ask": {"type": "ask", "text": "How can I help?",
                "routes": [{"keywords": ["hours"], "next": "hours"}, {"keywords": ["bye"], "next": "bye"}]},
        "hours": {"type": "ask", "text": "We are open Monday to Friday. Anything else?",
                  "routes": [{"keywords": ["bye"], "next": "bye"}]},
        "bye": {"type": "end", "text": "Goodbye."},
    },
}


@pytest.fixture
def fakes(monkeypatch):
    monkeypatch.setitem(registry.STT, "scripted", "tests.pipeline_fakes.ScriptedSTT")
    monkeypatch.setitem(registry.TTS, "tone", "tests.pipeline_fakes.ToneTTS")
    monkeypatch.setitem(registry.TTS, "espeak", "tests.pipeline_fakes.ToneTTS")
    ScriptedSTT.script = []
    return ScriptedSTT


@pytest.fixture
def talker(ws_a, fakes):
    return Agent.objects.create(workspace=ws_a, name="Talker", greeting="Hello.", flow=FLOW, stt_provider="scripted",
                                tts_provider="tone", silence_timeout_s=30)


def start_call(client, agent: Agent) -> dict:
    response = client.post(f"/agents/{agent.pk}/talk/start/")
    assert response.status_code == 201, response.content
    return response.json()


# ---------------------------------------------------------------------- the page and the token


def test_the_talk_page_is_linked_from_the_agent(client_a, talker):
    assert f'href="/agents/{talker.pk}/talk/"' in client_a.get(f"/agents/{talker.pk}/").content.decode()
    page = client_a.get(f"/agents/{talker.pk}/talk/").content.decode()
    assert f'data-start-url="/agents/{talker.pk}/talk/start/"' in page
    assert "dashboard/js/talk.js" in page and "dashboard/js/talk_worklet.js" in page
    assert 'data-testid="talk-start"' in page


def test_starting_a_call_creates_it_and_hands_out_its_stream_token(client_a, talker, user_a):
    data = start_call(client_a, talker)
    call = Call.objects.get(pk=data["call"])
    assert (call.carrier, call.direction, call.status) == ("browser", "inbound", "ringing")
    assert call.from_number == "browser:alice" and call.to_number == "Talker"
    assert call.agent == talker and call.workspace == talker.workspace
    assert stream_tokens.verify(data["token"]).call_id == call.carrier_call_id
    assert data["socket"] == "/media/browser" and data["sample_rate"] == RATE
    assert data["call_url"] == f"/calls/{call.pk}/"


def test_only_members_get_a_token_for_their_workspace_agents(client, user_b, talker):
    assert client.post(f"/agents/{talker.pk}/talk/start/").status_code == 302  # login first
    client.force_login(user_b)
    assert client.post(f"/agents/{talker.pk}/talk/start/").status_code == 404
    assert client.get(f"/agents/{talker.pk}/talk/").status_code == 404
    assert not Call.objects.exists()


def test_the_token_needs_a_csrf_checked_post(user_a, talker):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user_a)
    assert strict.post(f"/agents/{talker.pk}/talk/start/").status_code == 403
    assert strict.get(f"/agents/{talker.pk}/talk/start/").status_code == 405
    assert not Call.objects.exists()


# ---------------------------------------------------------------------- the media socket


class Browser:
    """Plays the talk page over the communicator: 20 ms mic frames, marks echoed, transcript collected."""

    def __init__(self, comm: WebsocketCommunicator):
        self.comm = comm
        self.received: list[dict] = []

    async def speak(self, pcm: bytes) -> None:
        for off in range(0, len(pcm), FRAME):
            payload = base64.b64encode(pcm[off : off + FRAME]).decode()
            await self.comm.send_to(text_data=json.dumps({"event": "media", "media": {"payload": payload}}))
            await asyncio.sleep(0.002)
            await self.pump()

    async def first(self, timeout: float = 15.0) -> None:
        """Wait for the server's first message: a session's first start in a process, on a loaded box, is slow."""
        await self._handle(await self.comm.receive_output(timeout=timeout))

    async def pump(self, wait: float = 0.0) -> None:
        while True:
            if self.comm.output_queue.empty() and (not wait or await self.comm.receive_nothing(wait, 0.01)):
                return
            if not await self._handle(await self.comm.receive_output(timeout=1)):
                return

    async def _handle(self, out: dict) -> bool:
        if out["type"] == "websocket.close":
            self.received.append({"event": "__close__", "code": out.get("code")})
            return False
        msg = json.loads(out["text"])
        self.received.append(msg)
        if msg["event"] == "mark":
            await self.comm.send_to(text_data=json.dumps({"event": "mark", "mark": msg["mark"]}))
        return True

    def events(self, kind: str) -> list[dict]:
        return [m for m in self.received if m["event"] == kind]

    def turns(self) -> list[dict]:
        return [m["data"] for m in self.events("transcript") if m["kind"] == "turn"]


async def open_stream(token: str, headers=HOST):
    comm = WebsocketCommunicator(application, "/media/browser", headers=headers)
    connected, code = await comm.connect()
    if connected:
        await comm.send_to(text_data=json.dumps({"event": "start", "start": {"token": token, "sample_rate": RATE}}))
    return comm, connected, code


@pytest.mark.django_db(transaction=True)
def test_a_browser_call_talks_streams_its_transcript_and_is_stored(client_a, talker, fakes, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    Agent.objects.filter(pk=talker.pk).update(record_audio=True)
    fakes.script = ["What are your opening hours?", "bye"]
    data = start_call(client_a, talker)

    async def go() -> Browser:
        comm, connected, _ = await open_stream(data["token"])
        assert connected
        page = Browser(comm)
        await page.first()
        await page.pump(wait=1.0)
        greeting = page.events("media")
        assert greeting, "the greeting plays at once"
        assert len(base64.b64decode(greeting[0]["media"]["payload"])) == FRAME  # 20 ms at 16 kHz
        await page.speak(silence(300, RATE) + voiced(700, RATE) + silence(600, RATE))
        await page.pump(wait=1.0)
        await page.speak(silence(200, RATE) + voiced(400, RATE) + silence(600, RATE))
        await page.pump(wait=1.5)  # the goodbye plays, then the agent hangs up
        await comm.wait(timeout=3)
        return page

    page = asyncio.run(go())
    turns = page.turns()
    assert [t["role"] for t in turns][:4] == ["agent", "caller", "agent", "caller"], turns
    assert "How can I help?" in turns[0]["text"]
    assert turns[1]["text"] == "What are your opening hours?"
    assert "Monday to Friday" in turns[2]["text"]
    assert page.received[-1] == {"event": "__close__", "code": 1000}  # the agent said goodbye and hung up
    assert any(m["kind"] == "call" for m in page.events("transcript"))

    call = Call.objects.get(pk=data["call"])
    assert call.status == "completed" and call.end_reason and call.answered_at and call.ended_at
    stored = list(Turn.objects.filter(call=call).order_by("index").values_list("role", "text"))
    assert stored[1] == ("caller", "What are your opening hours?")
    assert stored[-1] == ("agent", "Goodbye.")
    # Recorded like a phone call, at the browser's 16 kHz.
    assert call.recording == f"recordings/{call.workspace_id}/{call.pk}.wav"
    assert (settings.MEDIA_ROOT / call.recording).stat().st_size > 44
    with wave.open(str(settings.MEDIA_ROOT / call.recording)) as wav:
        assert (wav.getframerate(), wav.getnchannels()) == (RATE, 2)


@pytest.mark.django_db(transaction=True)
def test_barge_in_clears_the_page_audio(client_a, talker, fakes):
    # Agents interrupt on words by default (`WordsInterruption`): the caller's speech over the answer says some.
    fakes.script = ["What are your opening hours?", "wait, what about Sundays"]
    data = start_call(client_a, talker)

    async def go() -> Browser:
        comm, connected, _ = await open_stream(data["token"])
        page = Browser(comm)
        await page.first()
        await page.pump(wait=1.0)
        await page.speak(silence(300, RATE) + voiced(700, RATE) + silence(450, RATE))
        # The answer starts; the caller talks over it before it has played.
        await page.speak(voiced(500, RATE) + silence(200, RATE))
        await page.pump(wait=0.3)
        await comm.send_to(text_data=json.dumps({"event": "stop"}))
        await comm.wait(timeout=3)
        return page

    page = asyncio.run(go())
    assert page.events("clear"), "barge-in must tell the page to stop playing"
    assert any(m["kind"] == "event" and m["data"]["kind"] == "barge_in" for m in page.events("transcript"))
    assert Call.objects.get(pk=data["call"]).end_reason == "caller-hung-up"


@pytest.mark.django_db(transaction=True)
def test_the_stream_gate(client_a, talker, ws_a):
    good = start_call(client_a, talker)
    phone_token, nonce = stream_tokens.issue("CA-phone")
    Call.objects.create(workspace=ws_a, agent=talker, carrier="twilio", carrier_call_id="CA-phone", stream_nonce=nonce)

    async def refused(token: str) -> dict:
        comm, connected, _ = await open_stream(token)
        assert connected
        out = await comm.receive_output(timeout=3)
        await comm.disconnect()
        return out

    async def go():
        assert await refused("forged.token") == {"type": "websocket.close", "code": 4403}
        # A phone call's token does not open a browser stream (the token is bound to its carrier).
        assert await refused(phone_token) == {"type": "websocket.close", "code": 4403}
        # Another site's page cannot even open the socket.
        _, connected, code = await open_stream(good["token"], headers=[(b"host", b"testserver"),
                                                                     (b"origin", b"https://evil.example")])
        assert not connected and code == 4403
        first, connected, _ = await open_stream(good["token"])
        assert connected
        assert json.loads(await first.receive_from(timeout=15))["event"] in ("media", "transcript")
        # Single use: the same token cannot open a second stream.
        assert await refused(good["token"]) == {"type": "websocket.close", "code": 4403}
        await first.disconnect()

    asyncio.run(go())

"""The carrier-neutral pieces of the carrier edge, each alone: the serializer skeleton, the carrier registry, the
live-session registry admission counts, the TwiML/TeXML answers, the Telnyx client_state and Call Control envelope,
and the `call_finished` signal sent when a stream or a dialled call ends."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from calls import admission, stream_end
from calls.carriers import registry, voice_xml
from calls.carriers.base import BadMessage, CallStart, MarkPlayed, MediaSerializer, StreamStopped
from calls.carriers.dialled import announce_end
from calls.carriers.rest_errors import NotConfigured
from calls.carriers.telnyx import client_state
from calls.carriers.telnyx.event_webhook import parse_event
from calls.carriers.telnyx.stream_format import StreamFormat
from calls.carriers.telnyx.texml import stream_texml
from calls.models import Agent, Call, Workspace
from calls.outbound import place_call
from calls.signals import call_finished

# ---------------------------------------------------------------- the serializer skeleton


class Toy(MediaSerializer):
    """A carrier with three events: the base class does the dispatch and the common checks."""

    carrier = "toy"

    def on_start(self, msg):
        self.started = CallStart("toy", "C1", "S1", 8000, "PCMU")
        return [self.started]

    def on_media(self, msg, media):
        return [("media", media["n"])]

    def on_mark(self, msg):
        return [MarkPlayed("m")]

    def encode_audio(self, pcm):
        return ""

    def encode_mark(self, name):
        return ""

    def encode_clear(self):
        return ""


def reason(serializer: MediaSerializer, msg) -> str:
    with pytest.raises(BadMessage) as err:
        serializer.parse(msg if isinstance(msg, str) else json.dumps(msg))
    return err.value.reason


def test_the_skeleton_dispatches_on_the_event_name_to_on_methods():
    toy = Toy()
    assert sorted(Toy._handlers) == ["mark", "start"]  # on_media is called by parse itself
    assert toy.parse('{"event": "start"}') == [toy.started]
    assert toy.parse('{"event": "media", "media": {"n": 1}}') == [("media", 1)]
    assert toy.parse('{"event": "mark"}') == [MarkPlayed("m")]


def test_the_skeleton_refuses_what_no_carrier_could_use():
    assert reason(Toy(), "{not json") == "invalid_json"
    assert reason(Toy(), "[1]") == "not_an_object"
    assert reason(Toy(), {"event": "stop"}) == "unknown_event"  # no on_stop: not an event of this carrier
    assert reason(Toy(), {"event": ["media"]}) == "unknown_event"  # unhashable: still just unknown
    assert reason(Toy(), {"event": "media", "media": {"n": 1}}) == "media_before_start"
    toy = Toy()
    toy.parse('{"event": "start"}')
    assert reason(toy, {"event": "media", "media": "x"}) == "bad_media"


def test_a_serializer_without_on_media_has_no_audio():
    class Mute(Toy):
        on_media = MediaSerializer.on_media

    mute = Mute()
    mute.parse('{"event": "start"}')
    assert reason(mute, {"event": "media", "media": {}}) == "unknown_event"


def test_each_carrier_keeps_its_own_events():
    kits = {name: registry.kit(name).serializer() for name in ("twilio", "telnyx", "browser")}
    assert "connected" in kits["twilio"]._handlers and "connected" not in kits["browser"]._handlers
    assert "error" in kits["telnyx"]._handlers and "error" not in kits["twilio"]._handlers
    assert kits["browser"].parse('{"event": "stop"}') == [StreamStopped("stop")]


# ---------------------------------------------------------------- the registry of carriers


def test_the_registry_lists_the_three_carriers_and_what_each_can_do():
    assert set(registry.KITS) == {"twilio", "telnyx", "browser"} and registry.kit("sms") is None
    for name in ("twilio", "telnyx"):
        kit = registry.kit(name)
        assert kit.dialer is not None and kit.resume is not None and kit.watch_records is None
    browser = registry.kit("browser")
    assert browser.dialer is None and browser.resume is None and browser.control() is None
    assert browser.watch_records is not None


@pytest.mark.django_db
def test_dialling_through_a_carrier_without_a_dialer_writes_nothing():
    ws = Workspace.objects.create(name="W", slug="w")
    agent = Agent.objects.create(workspace=ws, name="A")
    with pytest.raises(NotConfigured):
        place_call(agent, "browser", "+15550100000", "+15550100001")
    assert not Call.objects.exists()


# ---------------------------------------------------------------- the live sessions admission counts


def test_admission_counts_the_sessions_registered_with_it(monkeypatch):
    monkeypatch.setattr(admission, "LIVE_SESSIONS", set())
    first, second = object(), object()
    admission.register(first)
    admission.register(second)
    admission.register(first)  # once is enough
    assert admission.live_sessions() == 2
    admission.unregister(first)
    admission.unregister(first)  # a second unregister is harmless
    assert admission.live_sessions() == 1


# ---------------------------------------------------------------- TwiML and TeXML


def test_a_number_not_in_service_hears_an_apology_then_the_call_ends():
    root = ET.fromstring(str(voice_xml.not_in_service()))
    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert root.find("Say").text == voice_xml.NOT_IN_SERVICE_LINE


def test_texml_stream_carries_telnyx_attribute_names_and_the_token(settings):
    settings.PUBLIC_BASE_URL = "https://bot.example"
    root = ET.fromstring(str(stream_texml("tok.en", StreamFormat("L16", 16000))))
    assert [child.tag for child in root] == ["Connect", "Hangup"]
    stream = root.find("./Connect/Stream")
    assert stream.attrib == {
        "url": "wss://bot.example/media/telnyx", "track": "inbound_track", "codec": "L16",
        "bidirectionalMode": "rtp", "bidirectionalCodec": "L16", "bidirectionalSamplingRate": "16000",
    }  # fmt: skip
    assert stream.find("Parameter").attrib == {"name": "token", "value": "tok.en"}


# ---------------------------------------------------------------- Telnyx client_state and Call Control envelope


def test_client_state_carries_a_stream_token_or_our_call_and_tells_them_apart():
    assert client_state.decode_token(client_state.encode_token("t.k")) == "t.k"
    assert client_state.decode_call(client_state.encode_call(42)) == 42
    assert client_state.decode_call(client_state.encode_token("t.k")) is None
    assert client_state.decode_token(client_state.encode_call(42)) == ""
    for junk in (None, "", 7, "not base64!", "W10=", "bnVsbA=="):  # W10= is "[]", bnVsbA== is "null"
        assert client_state.decode_call(junk) is None and client_state.decode_token(junk) == ""


def test_a_call_control_envelope_is_event_type_and_payload():
    body = json.dumps({"data": {"event_type": "call.hangup", "payload": {"call_control_id": "v3:x"}}}).encode()
    assert parse_event(body) == ("call.hangup", {"call_control_id": "v3:x"})
    for bad in (b"[", b"{}", b'{"data": {"event_type": "x"}}', b'{"data": {"event_type": "x", "payload": []}}'):
        with pytest.raises((ValueError, KeyError, TypeError)):
            parse_event(bad)


# ---------------------------------------------------------------- call_finished


@pytest.fixture
def finished():
    seen: list[dict] = []

    def receiver(sender, **kwargs):
        seen.append({"sender": sender, **kwargs})

    call_finished.connect(receiver)
    yield seen
    call_finished.disconnect(receiver)


@pytest.mark.django_db
def test_a_dialled_call_is_announced_finished_only_once_its_transaction_commits(finished,
                                                                              django_capture_on_commit_callbacks):
    call = Call(pk=7)
    with django_capture_on_commit_callbacks(execute=True):
        announce_end(call)
        assert finished == []  # not before the commit
    assert finished == [{"sender": Call, "signal": call_finished, "call_id": 7}]


@pytest.mark.django_db(transaction=True)
def test_a_stream_that_ended_is_announced_finished_and_a_drop_tries_to_resume_first(finished, monkeypatch):
    asked: list[int] = []
    monkeypatch.setattr(stream_end, "resume_stream", lambda pk: asked.append(pk) or pk == 2)
    stream_end._resume_or_finish(1, dropped=False)
    stream_end._resume_or_finish(2, dropped=True)  # resumed: the call goes on, nothing is announced
    stream_end._resume_or_finish(3, dropped=True)  # not resumed: finished
    assert asked == [2, 3]
    assert [seen["call_id"] for seen in finished] == [1, 3]

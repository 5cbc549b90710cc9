"""The Twilio media serializer against recorded Twilio Media Streams JSON."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from calls.carriers.base import AudioIn, BadMessage, CallStart, Connected, DtmfIn, MarkPlayed, StreamStopped
from calls.carriers.twilio.media import TwilioSerializer
from calls.pipeline.audio import ulaw_decode

FIXTURES = Path(__file__).parent / "fixtures" / "twilio"


def fixture(name: str) -> str:
    return (FIXTURES / f"{name}.json").read_text()


def started() -> TwilioSerializer:
    s = TwilioSerializer()
    s.parse(fixture("start"))
    return s


def test_start_is_normalised_into_call_start():
    s = TwilioSerializer()
    [event] = s.parse(fixture("start"))
    assert isinstance(event, CallStart)
    assert event.call_id == "CAXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
    assert event.stream_id == "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
    assert (event.sample_rate, event.codec) == (8000, "PCMU")
    assert event.params == {"token": "abc.def"}


def test_media_is_decoded_from_mulaw_to_pcm():
    s = started()
    [event] = s.parse(fixture("media"))
    raw = base64.b64decode(json.loads(fixture("media"))["media"]["payload"])
    assert isinstance(event, AudioIn)
    assert event.pcm == ulaw_decode(raw)
    assert len(event.pcm) == 320  # 160 samples of 16-bit PCM: one 20 ms frame


def test_connected_mark_dtmf_and_stop_map_to_events():
    s = started()
    assert isinstance(s.parse(fixture("connected"))[0], Connected)
    assert s.parse(fixture("mark")) == [MarkPlayed("my label")]
    assert s.parse(fixture("dtmf")) == [DtmfIn("1")]
    assert isinstance(s.parse(fixture("stop"))[0], StreamStopped)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("{not json", "invalid_json"),
        ("[1, 2]", "not_an_object"),
        ('{"event": "bogus"}', "unknown_event"),
        ('{"event": "media", "media": {"payload": "@@@"}}', "invalid_base64"),
        ('{"event": "mark"}', "bad_mark"),
        ('{"event": "dtmf", "dtmf": {"digit": "xx"}}', "bad_dtmf"),
    ],
)
def test_junk_raises_bad_message_with_a_countable_reason(text, reason):
    with pytest.raises(BadMessage) as err:
        started().parse(text)
    assert err.value.reason == reason


def test_a_start_in_another_codec_is_rejected():
    with pytest.raises(BadMessage) as err:
        TwilioSerializer().parse('{"event": "start", "start": {"mediaFormat": {"encoding": "audio/x-alaw"}}}')
    assert err.value.reason == "unsupported_media_format"


def test_a_second_start_is_rejected():
    with pytest.raises(BadMessage) as err:
        started().parse(fixture("start"))
    assert err.value.reason == "duplicate_start"


def test_media_before_start_is_rejected():
    with pytest.raises(BadMessage) as err:
        TwilioSerializer().parse(fixture("media"))
    assert err.value.reason == "media_before_start"


def test_outbound_messages_have_twilio_shapes():
    s = started()
    pcm = b"\x00\x01" * 160
    media = json.loads(s.encode_audio(pcm))
    assert media["event"] == "media" and media["streamSid"] == "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
    assert len(base64.b64decode(media["media"]["payload"])) == 160
    assert json.loads(s.encode_mark("7:320")) == {"event": "mark", "streamSid": s.stream_sid, "mark": {"name": "7:320"}}
    assert json.loads(s.encode_clear()) == {"event": "clear", "streamSid": s.stream_sid}

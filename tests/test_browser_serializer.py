"""The browser carrier's media serializer: its small JSON protocol, both ways, and its upgrade check."""

from __future__ import annotations

import base64
import json

import pytest

from calls.carriers import registry
from calls.carriers.base import AudioIn, BadMessage, CallStart, MarkPlayed, StreamStopped
from calls.carriers.browser.media import BrowserSerializer
from calls.carriers.browser.upgrade import check_upgrade

PCM = bytes(range(256)) * 2 + b"\x01\x02"  # 514 bytes: 257 samples


def start(token: str = "tok.en", rate=16000) -> str:
    return json.dumps({"event": "start", "start": {"token": token, "sample_rate": rate}})


def started() -> BrowserSerializer:
    s = BrowserSerializer()
    s.parse(start())
    return s


def media(pcm: bytes) -> str:
    return json.dumps({"event": "media", "media": {"payload": base64.b64encode(pcm).decode()}})


def test_start_carries_the_token_and_the_rate():
    s = BrowserSerializer()
    [event] = s.parse(start("abc.def"))
    assert isinstance(event, CallStart)
    assert event.carrier == "browser" and event.sample_rate == 16000
    assert event.params == {"token": "abc.def"}
    assert event.call_id == ""  # the token names the call
    assert event.stream_id.startswith("BS") and s.started is event


@pytest.mark.parametrize("rate", [8000, 48000, "16000", None])
def test_only_16khz_is_accepted(rate):
    with pytest.raises(BadMessage) as err:
        BrowserSerializer().parse(start(rate=rate))
    assert err.value.reason == "unsupported_media_format"


def test_a_missing_or_odd_token_becomes_empty_and_fails_at_the_gate():
    [event] = BrowserSerializer().parse(json.dumps({"event": "start", "start": {"token": 42}}))
    assert event.params == {"token": ""}


def test_media_is_pcm16_as_sent():
    [event] = started().parse(media(PCM))
    assert isinstance(event, AudioIn) and event.pcm == PCM


def test_empty_media_is_nothing():
    assert started().parse(media(b"")) == []


@pytest.mark.parametrize(
    "text, reason",
    [
        ("{nope", "invalid_json"),
        ("[1]", "not_an_object"),
        ('{"event": "dance"}', "unknown_event"),
        ('{"event": "media", "media": {"payload": "!!"}}', "invalid_base64"),
        ('{"event": "media", "media": "x"}', "bad_media"),
        ('{"event": "media", "media": {}}', "invalid_base64"),
        (media(b"\x00\x01\x02"), "odd_pcm_length"),
        ('{"event": "mark", "mark": {}}', "bad_mark"),
        ('{"event": "start", "start": "x"}', "bad_start"),
    ],
)
def test_junk_is_a_countable_bad_message(text, reason):
    with pytest.raises(BadMessage) as err:
        started().parse(text)
    assert err.value.reason == reason


def test_media_before_start_is_refused():
    with pytest.raises(BadMessage) as err:
        BrowserSerializer().parse(media(PCM))
    assert err.value.reason == "media_before_start"


def test_marks_and_stop():
    s = started()
    assert s.parse('{"event": "mark", "mark": {"name": "3:640"}}') == [MarkPlayed("3:640")]
    assert s.parse('{"event": "stop"}') == [StreamStopped("stop")]


def test_outbound_messages():
    s = started()
    out = json.loads(s.encode_audio(PCM))
    assert out == {"event": "media", "media": {"payload": base64.b64encode(PCM).decode()}}
    assert json.loads(s.encode_mark("1:320")) == {"event": "mark", "mark": {"name": "1:320"}}
    assert json.loads(s.encode_clear()) == {"event": "clear"}
    assert json.loads(s.encode_transcript("turn", {"index": 0, "role": "agent", "text": "Hi"})) == {
        "event": "transcript", "kind": "turn", "data": {"index": 0, "role": "agent", "text": "Hi"}}


def test_what_we_send_parses_back_the_same_audio():
    s = started()
    [event] = s.parse(s.encode_audio(PCM))
    assert event.pcm == PCM


def scope(origin: str | None, host: str = "dash.example.com") -> dict:
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return {"type": "websocket", "headers": headers}


def test_upgrade_refuses_other_sites_pages():
    assert check_upgrade(scope("https://dash.example.com")) is None
    assert check_upgrade(scope(None)) is None
    assert "cross-origin" in check_upgrade(scope("https://evil.example.net"))


def test_the_browser_carrier_is_registered_without_call_control():
    kit = registry.kit("browser")
    assert kit is not None and kit.serializer is BrowserSerializer
    assert kit.control() is None

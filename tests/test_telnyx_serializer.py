"""The Telnyx media serializer against Telnyx-shaped JSON: formats, reordering, tokens, bad input."""

from __future__ import annotations

import base64
import json
import random
import struct
from pathlib import Path

import pytest

from calls.carriers.base import AudioIn, BadMessage, CallStart, Connected, DtmfIn, MarkPlayed, StreamStopped
from calls.carriers.telnyx.client_state import encode_token
from calls.carriers.telnyx.media import TelnyxSerializer
from calls.pipeline.audio import alaw_encode, get_codec, ulaw_decode

FIXTURES = Path(__file__).parent / "fixtures" / "telnyx"


def fixture(name: str) -> str:
    return (FIXTURES / f"{name}.json").read_text()


def started(start: str = "start_pcmu", **kw) -> TelnyxSerializer:
    s = TelnyxSerializer(**kw)
    s.parse(fixture(start))
    return s


def tone(n: int, value: int) -> bytes:
    """n samples of one PCM16 value: each frame is recognisable after a round trip."""
    return struct.pack("<h", value) * n


def media(seq: int, payload: bytes, **extra) -> str:
    body = {"track": "inbound", "chunk": str(seq - 1), "timestamp": str((seq - 1) * 20),
            "payload": base64.b64encode(payload).decode(), **extra}
    return json.dumps({"event": "media", "sequence_number": str(seq), "media": body, "stream_id": "s"})


def audio(events) -> list[bytes]:
    return [e.pcm for e in events if isinstance(e, AudioIn)]


def first_sample(pcm: bytes) -> int:
    return struct.unpack_from("<h", pcm)[0]


# ---------------------------------------------------------------- fixtures as recorded from the documented shapes


def test_connected_and_start_with_a_texml_parameter_token():
    s = TelnyxSerializer()
    assert s.parse(fixture("connected")) == [Connected()]
    [start] = s.parse(fixture("start_pcmu"))
    assert isinstance(start, CallStart)
    assert (start.carrier, start.sample_rate, start.codec) == ("telnyx", 8000, "PCMU")
    assert start.stream_id == "32de0dea-53cb-4cf6-b6a6-95b8ed4aa6d6"
    assert start.params["token"] == "abc.def"
    # TeXML: the Call row is keyed by CallSid, which the stream does not carry, so no call id is claimed.
    assert start.call_id == ""
    assert start.params["call_control_id"].startswith("v3:")


def test_call_control_token_comes_from_client_state_and_binds_the_call_control_id():
    [start] = TelnyxSerializer().parse(fixture("start_call_control"))
    assert start.params["token"] == "abc.def"
    assert start.call_id == "v3:T02llQxIyaRkhfRKxgAP8nY511EhFLizdvdUKJiSw8d6A9BborherQ"


def test_client_state_that_is_not_ours_gives_no_token():
    msg = json.loads(fixture("start_call_control"))
    msg["start"]["client_state"] = base64.b64encode(b"have a nice day =]").decode()
    [start] = TelnyxSerializer().parse(json.dumps(msg))
    assert "token" not in start.params and start.call_id == ""


def test_custom_parameters_as_a_name_value_list_are_accepted():
    msg = json.loads(fixture("start_pcmu"))
    msg["start"]["custom_parameters"] = [{"name": "token", "value": "x.y"}]
    [start] = TelnyxSerializer().parse(json.dumps(msg))
    assert start.params["token"] == "x.y"


def test_media_dtmf_mark_stop_fixtures():
    s = started()
    [event] = s.parse(fixture("media"))
    payload = base64.b64decode(json.loads(fixture("media"))["media"]["payload"])
    assert event == AudioIn(ulaw_decode(payload))
    # Marks and DTMF are delivered at once, even when their sequence number is ahead of the audio.
    assert s.parse(fixture("mark")) == [MarkPlayed("m-7")]
    assert s.parse(fixture("dtmf")) == [DtmfIn("1")]
    assert s.parse(fixture("stop"))[-1] == StreamStopped("stop")


def test_error_event_is_logged_and_counted(caplog):
    s = started()
    with pytest.raises(BadMessage) as exc:
        s.parse(fixture("error"))
    assert exc.value.reason == "carrier_error"
    assert "100003" in caplog.text and "malformed_frame" in caplog.text


# ---------------------------------------------------------------- codecs


def test_pcma_is_decoded_when_the_start_says_pcma_and_answered_in_pcma():
    s = started("start_pcma")
    assert (s.started.codec, s.started.sample_rate) == ("PCMA", 8000)
    pcm = tone(160, 1000)
    [event] = s.parse(media(2, alaw_encode(pcm)))
    assert abs(first_sample(event.pcm) - 1000) < 40
    out = json.loads(s.encode_audio(pcm))
    assert base64.b64decode(out["media"]["payload"]) == alaw_encode(pcm)


def test_a_media_message_naming_its_own_encoding_is_decoded_by_it():
    """PCMA on a leg announced as PCMU: the frame's own field wins."""
    s = started("start_pcmu")
    pcm = tone(160, -2000)
    [event] = s.parse(media(2, alaw_encode(pcm), encoding="PCMA"))
    assert abs(first_sample(event.pcm) + 2000) < 80
    [event] = s.parse(media(3, alaw_encode(pcm), media_format={"encoding": "PCMA", "sample_rate": 8000}))
    assert abs(first_sample(event.pcm) + 2000) < 80


def test_l16_16khz_is_big_endian_on_the_wire_both_ways():
    s = started("start_l16")
    assert (s.started.codec, s.started.sample_rate) == ("L16", 16000)
    samples = [0x0102, -2, 12345, -32768] * 80  # 320 samples = 20 ms at 16 kHz
    wire = struct.pack(f">{len(samples)}h", *samples)
    [event] = s.parse(media(2, wire))
    assert event.pcm == struct.pack(f"<{len(samples)}h", *samples)
    assert event.pcm[:2] == b"\x02\x01" and wire[:2] == b"\x01\x02"
    back = base64.b64decode(json.loads(s.encode_audio(event.pcm))["media"]["payload"])
    assert back == wire


def test_outbound_messages_are_shaped_as_telnyx_expects():
    s = started()
    assert json.loads(s.encode_clear()) == {"event": "clear"}
    assert json.loads(s.encode_mark("m-3")) == {"event": "mark", "mark": {"name": "m-3"}}
    msg = json.loads(s.encode_audio(tone(160, 0)))
    assert set(msg) == {"event", "media"} and set(msg["media"]) == {"payload"}
    assert base64.b64decode(msg["media"]["payload"]) == b"\xff" * 160  # μ-law silence


# ---------------------------------------------------------------- reordering


def frames(n: int, rate: int = 8000) -> list[bytes]:
    """Frame i is 20 ms of the value 100*(i+1) (PCM16), to be L16-encoded at `rate`."""
    return [tone(rate // 50, 100 * (i + 1)) for i in range(n)]


def l16_stream(**kw) -> TelnyxSerializer:
    msg = json.loads(fixture("start_l16"))
    msg["start"]["media_format"]["sample_rate"] = 8000
    s = TelnyxSerializer(**kw)
    s.parse(json.dumps(msg))
    return s


def push(s: TelnyxSerializer, order: list[int], pcm: list[bytes]) -> list[int]:
    """Send frame i as sequence number i+2 (start is 1) in `order`; return the frame values released, in order."""
    codec = get_codec("L16", 8000)
    out = []
    for i in order:
        out += [first_sample(p) for p in audio(s.parse(media(i + 2, codec.encode(pcm[i]))))]
    out += [first_sample(p) for p in audio(s.flush())]
    return out


def test_shuffled_frames_come_out_in_order():
    pcm = frames(40)
    order = list(range(40))
    rng = random.Random(3)
    for base in range(0, 40, 4):  # shuffle within windows of 4
        block = order[base : base + 4]
        rng.shuffle(block)
        order[base : base + 4] = block
    s = l16_stream()
    assert push(s, order, pcm) == [100 * (i + 1) for i in range(40)]
    assert (s.stats.late_dropped, s.stats.duplicates, s.stats.concealed) == (0, 0, 0)


def test_first_frames_swapped_right_after_start_are_still_ordered():
    s = l16_stream()
    assert push(s, [1, 0, 2], frames(3)) == [100, 200, 300]


def test_duplicates_are_dropped_and_counted():
    s = l16_stream()
    assert push(s, [0, 1, 1, 2, 0, 3], frames(4)) == [100, 200, 300, 400]
    assert s.stats.duplicates == 2


def test_a_missing_frame_is_concealed_with_silence_once_the_window_is_full():
    s = l16_stream(window=3)
    out = push(s, [0, 2, 3, 4, 5, 6], frames(7))
    assert out == [100, 0, 300, 400, 500, 600, 700]
    assert s.stats.concealed == 1


def test_a_frame_older_than_the_window_is_dropped_as_late():
    s = l16_stream(window=2)
    out = push(s, [0, 2, 3, 4, 1, 5], frames(6))
    assert out == [100, 0, 300, 400, 500, 600]
    assert (s.stats.late_dropped, s.stats.concealed) == (1, 1)


def test_the_buffer_never_waits_forever_nor_holds_more_than_its_window():
    s = l16_stream(window=4)
    codec = get_codec("L16", 8000)
    released = 0
    for i in range(1, 200):  # frame 0 never comes
        released += len(audio(s.parse(media(i + 2, codec.encode(tone(160, 1))))))
        assert s._reorder.pending <= 4
    assert released >= 195


def test_marks_between_frames_do_not_look_like_lost_audio():
    """sequence_number counts every message: a mark's number is a slot in the order, not a missing frame."""
    s = l16_stream(window=2)
    codec = get_codec("L16", 8000)
    out = audio(s.parse(media(2, codec.encode(tone(160, 1)))))
    assert s.parse(json.dumps({"event": "mark", "sequence_number": "3", "mark": {"name": "a"}})) == [MarkPlayed("a")]
    for seq in (4, 5, 6, 7):
        out += audio(s.parse(media(seq, codec.encode(tone(160, 1)))))
    assert len(out) == 5 and s.stats.concealed == 0


def test_stop_releases_what_the_buffer_still_holds():
    s = l16_stream(window=5)
    codec = get_codec("L16", 8000)
    assert audio(s.parse(media(3, codec.encode(tone(160, 7))))) == []  # waiting for 2
    events = s.parse(json.dumps({"event": "stop", "sequence_number": "4", "stop": {}}))
    # Frame 2 never came: its slot is concealed, then the held frame 3 follows.
    assert [first_sample(p) for p in audio(events)] == [0, 7] and events[-1] == StreamStopped("stop")


# ---------------------------------------------------------------- bad input


def bad(s: TelnyxSerializer, text: str) -> str:
    with pytest.raises(BadMessage) as exc:
        s.parse(text)
    return exc.value.reason


def test_unknown_media_format_is_refused_at_start():
    assert bad(TelnyxSerializer(), fixture("start_g722")) == "unsupported_media_format"
    msg = json.loads(fixture("start_pcmu"))
    msg["start"]["media_format"] = {"encoding": "PCMU", "sample_rate": 16000, "channels": 1}
    assert bad(TelnyxSerializer(), json.dumps(msg)) == "unsupported_media_format"
    del msg["start"]["media_format"]
    assert bad(TelnyxSerializer(), json.dumps(msg)) == "unsupported_media_format"


def test_wrong_payload_length_is_dropped_and_its_slot_concealed():
    s = l16_stream(window=2)
    codec = get_codec("L16", 8000)
    assert bad(s, media(2, b"\x00" * 161)) == "bad_payload_length"  # half a sample
    out = []
    for seq in (3, 4, 5):
        out += audio(s.parse(media(seq, codec.encode(tone(160, 5)))))
    assert len(out) == 4 and s.stats.concealed == 1


def test_stop_without_start_and_media_before_start_are_refused():
    s = TelnyxSerializer()
    assert bad(s, fixture("stop")) == "stop_before_start"
    assert bad(s, fixture("media")) == "media_before_start"
    s.parse(fixture("start_pcmu"))
    assert bad(s, fixture("start_pcmu")) == "duplicate_start"


@pytest.mark.parametrize("text,reason", [
    ("{nope", "invalid_json"),
    ("[1]", "not_an_object"),
    ('{"event": "surprise"}', "unknown_event"),
    ('{"event": "media", "media": {"payload": "***"}}', "invalid_base64"),
    ('{"event": "media", "media": "x"}', "bad_media"),
    ('{"event": "dtmf", "dtmf": {"digit": "X"}}', "bad_dtmf"),
    ('{"event": "mark"}', "bad_mark"),
    ('{"event": "media", "sequence_number": "two", "media": {"payload": ""}}', "bad_sequence_number"),
    ('{"event": "media", "media": {"encoding": "OPUS", "payload": ""}}', "unsupported_media_format"),
    ('{"event": "media", "media": {"media_format": {"encoding": "L16", "sample_rate": 16000}, "payload": ""}}',
     "media_rate_mismatch"),
])
def test_junk_raises_a_countable_reason(text, reason):
    assert bad(started(), text) == reason


def test_outbound_track_frames_are_ignored():
    s = started()
    msg = json.loads(fixture("media"))
    msg["media"]["track"] = "outbound"
    assert s.parse(json.dumps(msg)) == []

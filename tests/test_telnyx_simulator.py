"""The simulated Telnyx peer: what it sends is what the serializer expects, shuffled within its window."""

from __future__ import annotations

import json
import struct

import pytest

from calls.carriers.base import AudioIn, CallStart, MarkPlayed, StreamStopped
from calls.carriers.telnyx.media import TelnyxSerializer
from calls.pipeline.audio import get_codec
from voicebot.testing.carrier.peers import PEERS, SimulationError, StreamTarget, TelnyxPeer


def opened(**kw) -> tuple[TelnyxPeer, TelnyxSerializer, CallStart]:
    peer = TelnyxPeer("http://127.0.0.1:1", "+15550100000", **kw)
    serializer = TelnyxSerializer()
    events = [e for m in peer.opening_messages(StreamTarget("ws://x", {"token": "t.k"})) for e in serializer.parse(m)]
    return peer, serializer, events[-1]


def test_registered_for_simulate_call():
    assert PEERS["telnyx"] is TelnyxPeer


@pytest.mark.parametrize("codec,rate", [("PCMU", 8000), ("PCMA", 8000), ("L16", 16000), ("L16", 8000)])
def test_start_announces_the_format_the_peer_sends(codec, rate):
    peer, _, start = opened(codec=codec, rate=rate)
    assert (start.codec, start.sample_rate, start.params["token"]) == (codec, rate, "t.k")
    assert (peer.codec, peer.sample_rate) == (codec, rate)


def test_a_format_telnyx_cannot_send_is_refused():
    with pytest.raises(SimulationError):
        TelnyxPeer("http://x", "+1", codec="PCMU", rate=16000)


def test_shuffled_frames_arrive_out_of_order_and_the_serializer_restores_them():
    peer, serializer, _ = opened(codec="L16", rate=8000, shuffle=3)
    codec = get_codec("L16", 8000)
    sent_order, heard = [], []
    for i in range(1, 301):
        msg = peer.media_message(codec.encode(struct.pack("<h", i) * 160))
        sent_order.append(int(json.loads(msg)["sequence_number"]))
        events = serializer.parse(msg)
        if i % 7 == 0:  # marks echoed between frames take numbers from the same counter
            events += serializer.parse(peer.mark_message(f"m{i}"))
        heard += [struct.unpack_from("<h", e.pcm)[0] for e in events if isinstance(e, AudioIn)]
    assert sent_order != sorted(sent_order)
    rank = {seq: k for k, seq in enumerate(sorted(sent_order))}
    assert max(abs(rank[seq] - k) for k, seq in enumerate(sent_order)) <= 2  # within the window of 3
    values = [v for v in heard if v]  # the two frames of line silence in flight at the start are zeros
    assert values == list(range(1, len(values) + 1)) and len(values) >= 295
    s = serializer.stats
    assert (s.late_dropped, s.duplicates, s.concealed) == (0, 0, 0)


def test_marks_dtmf_and_stop_are_telnyx_shaped():
    peer, serializer, _ = opened()
    mark = json.loads(peer.mark_message("1:320"))
    assert mark["event"] == "mark" and mark["mark"] == {"name": "1:320"} and "sequence_number" in mark
    assert serializer.parse(json.dumps(mark)) == [MarkPlayed("1:320")]
    assert json.loads(peer.dtmf_message("5"))["dtmf"] == {"digit": "5"}
    assert serializer.parse(peer.stop_message())[-1] == StreamStopped("stop")


def test_the_peer_reads_what_the_server_sends():
    peer, serializer, _ = opened(codec="PCMA")
    kind, payload = peer.parse(serializer.encode_audio(b"\x00\x00" * 160))
    assert kind == "media" and payload == b"\xd5" * 160  # A-law silence
    assert peer.parse(serializer.encode_mark("m")) == ("mark", "m")
    assert peer.parse(serializer.encode_clear()) == ("clear", None)

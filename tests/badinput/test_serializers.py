"""Both carrier serializers, fed anything: each message yields either `BadMessage` or a list of well-formed events,
in any order and after any amount of junk, and junk never leaves a serializer unable to start the stream."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calls.carriers.base import AudioIn, BadMessage, CallStart, Connected, DtmfIn, MarkPlayed, StreamStopped
from calls.carriers.telnyx.media import TelnyxSerializer
from calls.carriers.twilio.media import TwilioSerializer
from tests import tally

from .messages import junk_text, message_sequences, templates

SERIALIZERS = {"twilio": TwilioSerializer, "telnyx": TelnyxSerializer}
START = {"twilio": "start", "telnyx": "start_pcmu"}
EXAMPLES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                            HealthCheck.data_too_large])


def parse(serializer, text: str):
    """The events, or the BadMessage; anything else raised fails the test with the offending text."""
    try:
        events = serializer.parse(text)
    except BadMessage as exc:
        assert exc.reason and isinstance(exc.reason, str)
        return exc
    assert isinstance(events, list), (text[:300], events)
    for event in events:
        assert_well_formed(event)
    return events


def assert_well_formed(event) -> None:
    kind = type(event)
    assert kind in (CallStart, AudioIn, DtmfIn, MarkPlayed, StreamStopped, Connected), event
    if kind is AudioIn:
        assert isinstance(event.pcm, bytes) and len(event.pcm) % 2 == 0 and event.pcm
    elif kind is DtmfIn:
        assert event.digit in "0123456789*#ABCD" and len(event.digit) == 1
    elif kind is MarkPlayed:
        assert isinstance(event.name, str)
    elif kind is CallStart:
        assert event.sample_rate in (8000, 16000) and isinstance(event.codec, str)
        assert isinstance(event.call_id, str) and isinstance(event.stream_id, str)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in event.params.items())


@pytest.mark.parametrize("carrier", ["twilio", "telnyx"])
def test_a_single_message_of_any_shape_is_events_or_bad_message(carrier):
    @EXAMPLES
    @given(text=junk_text(carrier), started=st.booleans())
    def check(text, started):
        tally.ran("badinput", f"{carrier}_serializer")
        serializer = SERIALIZERS[carrier]()
        if started:
            assert isinstance(serializer.parse(json.dumps(templates(carrier)[START[carrier]]))[0], CallStart)
        parse(serializer, text)

    check()


@pytest.mark.parametrize("carrier", ["twilio", "telnyx"])
def test_any_order_of_messages_is_events_or_bad_message_and_junk_never_blocks_the_start(carrier):
    valid_start = json.dumps(templates(carrier)[START[carrier]])

    @EXAMPLES
    @given(texts=message_sequences(carrier))
    def check(texts):
        tally.ran("badinput", f"{carrier}_serializer")
        serializer = SERIALIZERS[carrier]()
        started = False
        for text in texts:
            result = parse(serializer, text)
            started = started or (isinstance(result, list) and any(type(e) is CallStart for e in result))
        parse(serializer, json.dumps({"event": "stop"}))
        if not started:
            # Nothing so far was accepted as the start: the real one must still be.
            fresh = parse(serializer, valid_start)
            assert isinstance(fresh, list) and type(fresh[0]) is CallStart, (texts, fresh)
        else:
            again = parse(serializer, valid_start)
            assert isinstance(again, BadMessage) and again.reason == "duplicate_start"

    check()


@pytest.mark.parametrize("carrier", ["twilio", "telnyx"])
def test_a_refused_start_changes_nothing_the_stream_already_uses(carrier):
    """A second start must not re-point an accepted stream (Twilio would drop audio sent with another streamSid)."""
    start = templates(carrier)[START[carrier]]

    @EXAMPLES
    @given(second=junk_text(carrier))
    def check(second):
        tally.ran("badinput", f"{carrier}_serializer")
        serializer = SERIALIZERS[carrier]()
        first = parse(serializer, json.dumps(start))[0]
        before = serializer.encode_mark("m1"), serializer.encode_audio(b"\x00\x00" * 160), serializer.started
        result = parse(serializer, second)
        if isinstance(result, list):
            assert not any(type(e) is CallStart for e in result), "a second start was accepted"
        assert serializer.started is first
        assert (serializer.encode_mark("m1"), serializer.encode_audio(b"\x00\x00" * 160), serializer.started) == before

    check()


@pytest.mark.parametrize("carrier", ["twilio", "telnyx"])
def test_junk_nested_deeper_than_any_real_message_is_refused_before_parsing(carrier):
    """"[[[[…" deep enough to reach the recursion limit used to fail inside `json.loads` (and took whatever else ran
    at that depth with it, such as a garbage collection's finalizers); anything nested deeper than MAX_NESTING is a
    bad message without being parsed. Brackets inside strings do not count."""
    from calls.carriers.base import too_deep

    serializer = SERIALIZERS[carrier]()
    for junk in ("[" * 5000, '{"event": ' + '{"a": ' * 200 + "1" + "}" * 201, "[" * 33 + "]" * 33):
        with pytest.raises(BadMessage, match="nested deeper than 32"):
            serializer.parse(junk)
    in_strings = '{"event": "mark", "x": "' + "[{" * 100 + '", "y": "\\\\"}'
    assert json.loads(in_strings)["y"] == "\\" and not too_deep(in_strings)
    assert too_deep("[" * 33) and not too_deep("[" * 32 + "]" * 32)

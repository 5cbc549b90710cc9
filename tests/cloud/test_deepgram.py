"""DeepgramSTT with the real deepgram-sdk client against the fake live-transcription server."""

from __future__ import annotations

import asyncio
import time

import pytest

from calls.providers.base import ProviderError, SpeechHint
from calls.providers.stt.deepgram import DeepgramSTT
from voicebot.testing.pcm import frames, silence, tone
from voicebot.testing.vendors import DeepgramFault

RATE = 8000
pytestmark = [
    pytest.mark.asyncio,
    # deepgram-sdk 7.17 still imports websockets' legacy client (deprecated in websockets 14): not ours to fix.
    pytest.mark.filterwarnings("ignore::DeprecationWarning:deepgram"),
    pytest.mark.filterwarnings("ignore:websockets.legacy is deprecated:DeprecationWarning"),
]


def feed(stt: DeepgramSTT, pcm: bytes) -> None:
    for frame in frames(pcm, RATE):
        stt.send_audio(frame)


async def until(predicate, within: float = 2.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def started(options: dict | None = None, **kwargs) -> DeepgramSTT:
    stt = DeepgramSTT(RATE, {"keepalive_s": 5.0, **(options or {})}, **kwargs)
    await stt.start()
    return stt


async def test_it_sends_linear16_and_returns_the_final_transcript_after_finalize(deepgram):
    deepgram.transcripts.append("book a table for two")
    partials: list[str] = []
    hints: list[SpeechHint] = []
    stt = await started(on_partial=partials.append, on_hint=hints.append)
    feed(stt, tone(800, RATE))

    assert await stt.transcript() == "book a table for two"

    conn = deepgram.connections[0]
    assert conn.query["encoding"] == "linear16" and conn.query["sample_rate"] == str(RATE)
    assert conn.query["interim_results"] == "true" and conn.query["vad_events"] == "true"
    assert "Finalize" in conn.controls
    assert partials[0] == "book" and partials[-1] == "book a table for two"  # interim results grow
    assert hints[0] == SpeechHint("speech_started")
    assert stt.last_ttfb_ms is not None and stt.last_ttfb_ms >= 90  # the fake answers Finalize after 100 ms
    await stt.close()
    assert conn.closed_by == "close-stream"


async def test_speech_final_and_utterance_end_become_end_of_turn_hints(deepgram):
    deepgram.transcripts.append("hello")
    hints: list[SpeechHint] = []
    stt = await started({"endpointing_ms": 300, "utterance_end_ms": 1000}, on_hint=hints.append)
    feed(stt, tone(400, RATE) + silence(1100, RATE))
    await until(lambda: len(hints) >= 3)

    assert [h.kind for h in hints] == ["speech_started", "end_of_turn", "end_of_turn"]
    assert await stt.transcript() == "hello"
    await stt.close()


async def test_after_deepgram_endpointed_the_transcript_needs_no_finalize_round_trip(deepgram):
    deepgram.transcripts.extend(["hello", "and more"])
    hints: list[SpeechHint] = []
    stt = await started({"endpointing_ms": 300}, on_hint=hints.append)
    feed(stt, tone(400, RATE) + silence(500, RATE))
    await until(lambda: any(h.kind == "end_of_turn" for h in hints))
    feed(stt, silence(100, RATE))  # the line keeps sending silence while the session asks for the transcript

    assert await stt.transcript() == "hello"
    assert "Finalize" not in deepgram.connections[0].controls  # speech_final already flushed it: no extra trip
    assert stt.last_ttfb_ms == 0.0
    stt.commit()
    feed(stt, tone(300, RATE))  # no endpointing this time: the next transcript must ask with a Finalize
    assert await stt.transcript() == "and more"
    assert deepgram.connections[0].controls.count("Finalize") == 1
    await stt.close()


async def test_commit_starts_a_new_utterance(deepgram):
    deepgram.transcripts.extend(["first", "second"])
    stt = await started()
    feed(stt, tone(300, RATE))
    assert await stt.transcript() == "first"
    assert await stt.transcript() == "first"  # asked again without new audio: no second Finalize needed
    stt.commit()
    feed(stt, tone(300, RATE))
    assert await stt.transcript() == "second"
    assert deepgram.connections[0].controls.count("Finalize") == 2
    await stt.close()


async def test_it_sends_keepalive_while_idle_so_the_socket_stays_open(deepgram):
    deepgram.idle_timeout_s = 0.25  # the real server gives up after ~10 s
    stt = await started({"keepalive_s": 0.08})
    await asyncio.sleep(0.6)

    conn = deepgram.connections[0]
    assert conn.controls.count("KeepAlive") >= 4
    assert conn.closed_by == "" and len(deepgram.connections) == 1
    await stt.close()


async def test_it_reconnects_after_a_drop_and_replays_unacknowledged_audio(deepgram):
    deepgram.transcripts.extend(["first part", "lost with the dead socket", "second part"])
    hints: list[SpeechHint] = []
    stt = await started(on_hint=hints.append)
    first = tone(400, RATE) + silence(400, RATE)
    feed(stt, first)
    await until(lambda: any(h.kind == "end_of_turn" for h in hints))  # "first part" is final: acknowledged

    # The socket dies mid-way through the second utterance; the rest of it is queued while reconnecting.
    second = tone(600, RATE)
    deepgram.drop_current_after = len(first) + len(second) // 2
    feed(stt, second)

    assert await stt.transcript() == "first part second part"
    assert stt.reconnects == 1 and deepgram.connections[0].closed_by == "fault"
    # Acknowledged: the final of 400 ms of speech + 300 ms of endpointing silence, then the empty final of the
    # silence before the second utterance (800 ms in all).
    acked = int(0.8 * RATE) * 2
    assert bytes(deepgram.connections[1].audio) == (first + second)[acked:]
    await stt.close()


async def test_a_malformed_frame_is_skipped(deepgram):
    deepgram.faults.append(DeepgramFault(malformed_first=True))
    deepgram.transcripts.append("still fine")
    stt = await started()
    feed(stt, tone(300, RATE))
    assert await stt.transcript() == "still fine"
    assert len(deepgram.connections) == 1
    await stt.close()


async def test_no_answer_to_finalize_is_an_error_within_the_deadline(deepgram):
    deepgram.faults.append(DeepgramFault(mute=True))
    stt = await started({"finalize_timeout_s": 0.3})
    feed(stt, tone(300, RATE))
    began = time.monotonic()
    with pytest.raises(ProviderError):
        await stt.transcript()
    assert time.monotonic() - began < 0.6
    await stt.close()


async def test_a_wrong_key_is_a_permanent_error(deepgram, settings):
    settings.DEEPGRAM_API_KEY = "wrong"
    stt = DeepgramSTT(RATE, {})
    with pytest.raises(ProviderError) as caught:
        await stt.start()
    assert caught.value.permanent and caught.value.provider == "deepgram"
    await stt.close()


async def test_a_missing_key_is_a_permanent_error(settings):
    settings.DEEPGRAM_API_KEY = ""
    with pytest.raises(ProviderError) as caught:
        await DeepgramSTT(RATE, {}).start()
    assert caught.value.permanent


async def test_it_gives_up_after_repeated_failures_and_reports_it(deepgram):
    stt = await started({"max_reconnects": 2})
    errors: list[ProviderError] = []
    stt.on_error = errors.append
    deepgram.faults.extend(DeepgramFault(reject_status=503) for _ in range(5))
    deepgram.drop_all()
    await until(lambda: errors, within=3.0)

    assert not errors[0].permanent and len(deepgram.connections) == 1  # every reconnect was refused

    with pytest.raises(ProviderError):
        await stt.transcript()
    await stt.close()


async def test_the_calls_vocabulary_goes_as_keyterms_to_nova_3_and_keywords_to_older_models(deepgram):
    vocabulary = ["Bright Smile Dental", "Cigna", "Okafor"]
    stt = await started({"vocabulary": vocabulary})
    await stt.close()
    older = await started({"vocabulary": vocabulary, "model": "nova-2"})
    await older.close()
    off = await started({"vocabulary": vocabulary, "hints": False})
    await off.close()
    nova3, nova2, none = deepgram.connections
    assert [v for k, v in nova3.params if k == "keyterm"] == vocabulary
    assert [v for k, v in nova2.params if k == "keywords"] == ["Cigna", "Okafor"]  # single words only
    assert not [k for k, _ in none.params if k in ("keyterm", "keywords")]

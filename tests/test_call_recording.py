"""Call recording: the recorder's alignment of both sides, and the WAV a recorded call leaves behind."""

from __future__ import annotations

import asyncio
import json
import wave

import numpy as np
import pytest

from calls.models import Agent, Call, Turn
from calls.pipeline.recording import CallAudioRecorder, relative_path
from voicebot.testing.pcm import silence, voiced

# The media consumer tests' Twilio stand-in and fixtures (`call`, `fakes`: a call on an agent with fake providers).
from .test_media_consumer import Carrier, call, connect, fakes, start_msg  # noqa: F401

RATE = 8000
MS = RATE * 2 // 1000  # bytes per ms


def tone(ms: int, value: int) -> bytes:
    return np.full(RATE * ms // 1000, value, dtype="<i2").tobytes()


def frames(pcm: bytes, rec: CallAudioRecorder, frame_ms: int = 20) -> None:
    step = frame_ms * MS
    for off in range(0, len(pcm), step):
        rec.inbound(pcm[off : off + step])


def read_wav(path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as wav:
        assert wav.getnchannels() == 2 and wav.getsampwidth() == 2
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
        return data, wav.getframerate()


def test_agent_audio_lands_where_the_carrier_plays_it(tmp_path):
    rec = CallAudioRecorder(RATE)
    # The greeting is sent before any caller audio: it plays from the very start.
    assert rec.outbound(tone(100, 1000)) == 0
    assert rec.outbound(tone(100, 1000)) == 100  # queued behind the first chunk
    frames(silence(1000), rec)
    assert rec.position_ms == 1000
    # Idle line: the next reply plays now, after agent-side silence, and its chunks queue back to back.
    assert rec.outbound(tone(200, 2000)) == 1000
    assert rec.outbound(tone(200, 2000)) == 1200
    frames(silence(100), rec)  # the caller's clock moves on while the carrier plays
    assert rec.outbound(tone(200, 2000)) == 1400  # still queued behind, not at "now" (1100)
    assert rec.outbound_end_ms == 1600

    path = rec.save(tmp_path / "call.wav")
    data, rate = read_wav(path)
    assert rate == RATE and len(data) == 1600 * RATE // 1000
    agent, caller = data[:, 1], data[:, 0]
    at = lambda ms: ms * RATE // 1000  # noqa: E731
    assert (agent[: at(200)] == 1000).all()
    assert (agent[at(200) : at(1000)] == 0).all()  # nothing said between greeting and reply
    assert (agent[at(1000) : at(1600)] == 2000).all()
    assert not caller.any()


def test_clear_drops_what_was_not_played_yet(tmp_path):
    rec = CallAudioRecorder(RATE)
    frames(silence(500), rec)
    for _ in range(5):
        rec.outbound(tone(100, 3000))  # 500 ms of reply queued from 500 ms on
    frames(voiced(160), rec)  # the caller talks over it at 500..660 ms
    assert rec.truncate_outbound() == 660
    assert rec.outbound_end_ms == 660
    # The next reply starts at the (new) now, not after the dropped audio.
    frames(silence(340), rec)
    assert rec.outbound(tone(100, 4000)) == 1000
    data, _ = read_wav(rec.save(tmp_path / "cut.wav"))
    agent = data[:, 1]
    assert (agent[500 * 8 : 660 * 8] == 3000).all()
    assert not agent[660 * 8 : 1000 * 8].any()
    assert (agent[1000 * 8 : 1100 * 8] == 4000).all()
    assert len(data) == 1100 * 8
    # The caller's side is exactly what arrived, in order.
    assert data[:, 0].tobytes()[: 660 * MS] == silence(500) + voiced(160)


def test_clear_with_nothing_queued_changes_nothing():
    rec = CallAudioRecorder(RATE)
    rec.outbound(tone(100, 1))
    frames(silence(300), rec)
    assert rec.truncate_outbound() == 100


def test_memory_is_capped_at_the_maximum_duration():
    rec = CallAudioRecorder(RATE, max_duration_s=1)
    cap_ms = rec.max_bytes // MS
    frames(silence(cap_ms + 2000), rec)
    assert cap_ms <= rec.position_ms < cap_ms + 40
    start = rec.outbound(tone(100, 1))
    assert start == rec.position_ms and rec.outbound_end_ms == rec.position_ms  # placed, not kept


def test_saving_is_atomic_and_makes_its_folders(tmp_path):
    rec = CallAudioRecorder(RATE)
    frames(silence(40), rec)
    target = tmp_path / "recordings" / "7" / "12.wav"
    assert rec.save(target) == target
    assert target.is_file() and not list(target.parent.glob("*.part"))
    assert relative_path(7, 12) == "recordings/7/12.wav"


# ---------------------------------------------------------------------- through the consumer


@pytest.fixture
def recorded_call(call, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    Agent.objects.filter(pk=call.agent_id).update(record_audio=True)
    return call


@pytest.mark.django_db(transaction=True)
def test_a_recorded_call_leaves_a_stereo_wav_with_turn_offsets(recorded_call, fakes, settings):
    call = recorded_call
    fakes.script = ["I need an appointment", "tomorrow please"]

    async def go():
        comm = await connect()
        carrier = Carrier(comm)
        await comm.send_to(text_data=start_msg(call.token))
        # The first session a process starts can be slow on a loaded box: wait for the greeting's first frame.
        first = await comm.receive_output(timeout=15)
        carrier.received.append(json.loads(first["text"]))
        await carrier.pump(wait=1.0)
        await carrier.send_audio(silence(400))
        await carrier.pump(wait=0.3)
        marks_before = len(carrier.events("mark"))
        await carrier.send_audio(voiced(600) + silence(500))
        await carrier.pump(echo_marks=False, wait=0.5)
        first_mark = carrier.events("mark")[marks_before]
        await comm.send_to(text_data=json.dumps({"event": "mark", "mark": first_mark["mark"]}))
        await carrier.send_audio(voiced(400))  # barge in over the long question
        await carrier.pump(wait=0.3)
        assert carrier.events("clear")
        await carrier.send_audio(silence(500))
        await carrier.pump(wait=1.0)
        await comm.send_to(text_data=json.dumps({"event": "stop", "stop": {"callSid": "CA1"}}))
        await comm.wait(timeout=5)

    asyncio.run(go())
    call = Call.objects.get(pk=call.pk)
    assert call.recording == relative_path(call.workspace_id, call.pk)
    data, rate = read_wav(settings.MEDIA_ROOT / call.recording)
    assert rate == RATE
    caller, agent = data[:, 0].astype(np.int32), data[:, 1].astype(np.int32)

    def energy(channel, start_ms, end_ms):
        part = channel[start_ms * RATE // 1000 : end_ms * RATE // 1000]
        return float(np.abs(part).mean()) if part.size else 0.0

    turns = list(Turn.objects.filter(call=call).order_by("index"))
    assert all(t.audio_start_ms is not None and t.audio_end_ms is not None for t in turns), [
        (t.role, t.audio_start_ms, t.audio_end_ms) for t in turns]
    greeting, asked, question, answered = turns[:4]
    # The greeting went out before the caller's first frame: it starts the recording.
    assert greeting.role == "agent" and greeting.audio_start_ms == 0
    assert energy(agent, greeting.audio_start_ms, greeting.audio_end_ms) > 10
    # The caller's turn is where their voice is in the left channel: 400 ms of silence, then 600 ms of speech.
    assert asked.role == "caller" and 300 <= asked.audio_start_ms <= 460, asked.audio_start_ms
    assert 900 <= asked.audio_end_ms <= 1100, asked.audio_end_ms
    assert energy(caller, asked.audio_start_ms + 60, asked.audio_end_ms - 20) > 1000
    assert energy(caller, 0, 380) == 0
    # The interrupted question: it starts after the caller's turn, and the recording stops it where the
    # carrier was told to clear — the agent channel is silent after that until the next reply.
    assert question.interrupted and question.audio_start_ms >= asked.audio_end_ms
    assert question.audio_end_ms < question.audio_start_ms + len(question.text.split()) * 60
    assert energy(agent, question.audio_start_ms, question.audio_end_ms) > 10
    assert answered.role == "caller" and question.audio_start_ms < answered.audio_start_ms < question.audio_end_ms
    later = [t.audio_start_ms for t in turns[4:] if t.role == "agent"]
    assert energy(agent, question.audio_end_ms + 5, later[0] if later else len(agent) * 1000 // RATE) == 0


def test_a_resumed_stream_is_appended_to_the_same_recording(tmp_path):
    path = tmp_path / "call.wav"
    first, second = CallAudioRecorder(8000), CallAudioRecorder(8000)
    first.inbound(voiced(200))
    first.save(path)
    second.inbound(voiced(300))
    second.save(path)
    with wave.open(str(path), "rb") as wav:
        assert wav.getnframes() == 8000 * 500 // 1000

"""The turn log alone: a keeping recorder, a scripted brain, a real (in-memory) call audio recorder."""

from __future__ import annotations

from calls.pipeline.observers import TurnTimer
from calls.pipeline.playout import Utterance
from calls.pipeline.recording import CallAudioRecorder
from calls.session.turn_log import TurnLog
from tests.session.helpers import BYTES_PER_MS, RATE, KeepingRecorder, ScriptBrain


class TimedProvider:
    def __init__(self, name: str, ttfb: float | None, active=None) -> None:
        self.name, self.last_ttfb_ms = name, ttfb
        if active is not None:
            self.active = active


def make_log(audio: CallAudioRecorder | None = None, providers=None):
    recorder, brain = KeepingRecorder(), ScriptBrain()
    log = TurnLog(call_id="CA1", recorder=recorder, brain=brain, audio_recorder=audio, providers=providers or {})
    return log, recorder, brain


def utterance(text: str, ms: int, heard_ms: int, complete: bool = True) -> Utterance:
    return Utterance(text=text, pcm=b"\x01\x00" * (RATE * ms // 1000), heard_bytes=heard_ms * BYTES_PER_MS,
                     complete=complete, expected_bytes=len(text) * 60 * BYTES_PER_MS)


# ------------------------------------------------------------------ the caller


def test_a_caller_turn_is_placed_where_the_speech_was_in_the_recording():
    audio = CallAudioRecorder(RATE)
    log, recorder, _ = make_log(audio)
    audio.inbound(bytes(1000 * BYTES_PER_MS))  # 1 s of the call so far
    log.caller_speech_started(voiced_ms=60)  # the VAD is sure 60 ms into the speech
    audio.inbound(bytes(900 * BYTES_PER_MS))
    speech = log.caller_speech_ended(silence_ms=300)  # ...and ends the turn 300 ms after it
    log.caller_turn(speech, "book a table")
    (turn,) = recorder.turns
    assert (turn.role, turn.text) == ("caller", "book a table")
    assert (turn.audio_start_ms, turn.audio_end_ms) == (940, 1600)
    assert turn.started_at == speech.started_at <= turn.ended_at


def test_the_recording_span_never_starts_before_the_call_or_ends_before_it_starts():
    audio = CallAudioRecorder(RATE)
    log, _recorder, _ = make_log(audio)
    audio.inbound(bytes(40 * BYTES_PER_MS))
    log.caller_speech_started(voiced_ms=60)
    speech = log.caller_speech_ended(silence_ms=300)
    assert (speech.audio_start_ms, speech.audio_end_ms) == (0, 0)


def test_without_a_recording_turns_have_no_offsets():
    log, recorder, _ = make_log(None)
    log.caller_speech_started(voiced_ms=60)
    log.caller_turn(log.caller_speech_ended(silence_ms=300), "hello")
    assert (recorder.turns[0].audio_start_ms, recorder.turns[0].audio_end_ms) == (None, None)


def test_speech_that_ended_a_turn_keeps_its_start_time_when_the_next_begins():
    log, _, _ = make_log()
    log.caller_speech_started(voiced_ms=60)
    first = log.caller_speech_ended(silence_ms=300)
    log.caller_speech_started(voiced_ms=60)
    second = log.caller_speech_ended(silence_ms=300)
    assert first.started_at < second.started_at


# ------------------------------------------------------------------ the agent


def test_an_agent_turn_records_what_the_caller_heard_and_tells_the_brain_first():
    log, recorder, brain = make_log()
    reply = log.begin_reply()
    spoken = [utterance("Your table is booked.", 1000, 1000), utterance("See you at eight tonight.", 1000, 500)]
    brain.state.variables["slot"] = "eight"
    log.agent_turn(reply, spoken, None)
    assert brain.heard_calls == [("Your table is booked. See you at eight tonight.",
                                  "Your table is booked. See you", True)]
    (turn,) = recorder.turns
    assert turn.role == "agent" and turn.interrupted and turn.heard_text == "Your table is booked. See you"
    assert turn.node == "start" and turn.brain_state == {"node": "start", "variables": {"slot": "eight"}}
    assert turn.metrics is None and turn.started_at == reply.started_at
    brain.state.variables["slot"] = "nine"  # the brain goes on; the queued record keeps its copy
    assert turn.brain_state["variables"] == {"slot": "eight"}


def test_a_reply_heard_in_full_is_not_interrupted():
    log, recorder, _brain = make_log()
    log.agent_turn(log.begin_reply(), [utterance("All done.", 400, 400)], None)
    assert not recorder.turns[0].interrupted and recorder.turns[0].heard_text == "All done."


def test_a_reply_that_said_nothing_leaves_no_turn():
    log, recorder, brain = make_log()
    log.agent_turn(log.begin_reply(), [], None)
    assert recorder.turns == [] and brain.heard_calls == []


def test_the_reply_metrics_carry_each_providers_time_to_first_byte():
    backup = TimedProvider("espeak", None)
    log, recorder, _ = make_log(providers={
        "stt": TimedProvider("deepgram", 81.26), "brain": TimedProvider("flow", None),
        "tts": TimedProvider("fallback-tts", 120.04, active=backup),
    })
    timer = TurnTimer(last_voiced=0.0)
    timer.mark("endpoint")
    log.agent_turn(log.begin_reply(), [utterance("Hi.", 200, 200)], timer)
    metrics = recorder.turns[0].metrics
    assert metrics["providers"] == {"stt": {"provider": "deepgram", "ttfb_ms": 81.3},
                                    "tts": {"provider": "espeak", "ttfb_ms": 120.0}}
    assert metrics["endpoint_ms"] is not None


def test_agent_audio_extends_the_span_of_the_reply_being_said():
    audio = CallAudioRecorder(RATE)
    log, _recorder, _ = make_log(audio)
    audio.inbound(bytes(500 * BYTES_PER_MS))
    reply = log.begin_reply()
    log.on_audio_sent(bytes(200 * BYTES_PER_MS))
    log.on_audio_sent(bytes(200 * BYTES_PER_MS))
    assert (reply.audio_start_ms, reply.audio_end_ms) == (500, 900)
    second = log.begin_reply()
    log.on_audio_sent(bytes(100 * BYTES_PER_MS))
    assert (reply.audio_end_ms, second.audio_start_ms, second.audio_end_ms) == (900, 900, 1000)


def test_a_cut_drops_the_unplayed_audio_from_the_recording_and_the_span():
    audio = CallAudioRecorder(RATE)
    log, recorder, _ = make_log(audio)
    audio.inbound(bytes(500 * BYTES_PER_MS))
    reply = log.begin_reply()
    log.on_audio_sent(bytes(800 * BYTES_PER_MS))  # queued at the carrier up to 1300 ms
    audio.inbound(bytes(300 * BYTES_PER_MS))  # the caller barges in at 800 ms
    log.cut_recording()
    assert (reply.audio_start_ms, reply.audio_end_ms) == (500, 800) and audio.outbound_end_ms == 800
    log.agent_turn(reply, [utterance("A long sentence that got cut.", 800, 300)], None)
    assert (recorder.turns[0].audio_start_ms, recorder.turns[0].audio_end_ms) == (500, 800)


def test_a_cut_without_a_recording_is_harmless():
    log, _, _ = make_log(None)
    reply = log.begin_reply()
    log.cut_recording()
    assert (reply.audio_start_ms, reply.audio_end_ms) == (None, None)

"""RealtimeCallSession with the real `openai` realtime client over a real socket to the fake Realtime server, and a
carrier that plays in real time: what the caller hears, what the model is told, what is stored."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from calls.providers.base import Silence
from calls.providers.llm.conversation import INTERRUPTED
from calls.providers.realtime.config import RealtimeConfig
from calls.session.lines import SHUTDOWN_LINE, TIME_LIMIT_LINE
from calls.session.settings import AgentSettings
from tests.session.helpers import until
from voicebot.testing.pcm import silence, voiced
from voicebot.testing.vendors.openai_realtime import RealtimeFault, RealtimeReply

from .harness import Call, Control

pytestmark = pytest.mark.asyncio

GREETING_MS = 4 * 250  # "Hello, this is Sam." at the fake's 250 ms a word, heard in full
LONG = "We are open from nine in the morning until six in the evening, Monday to Friday, and ten to two on Saturday."


async def greeted(call: Call, realtime) -> None:
    await call.start()
    await until(lambda: any(t.role == "agent" for t in call.recorder.turns), timeout=5)


async def test_a_caller_turn_is_answered_in_the_models_audio_and_stored_with_its_latency(realtime):
    realtime.transcripts.append("what are your hours")
    realtime.replies.append(RealtimeReply("We open at nine."))
    call = Call()
    await greeted(call, realtime)
    await call.speak(voiced(600) + silence(700))
    await until(lambda: len(call.turns("agent")) == 2, timeout=5)
    await call.stop()

    conn = realtime.connections[0]
    assert conn.session["audio"]["input"]["format"] == {"type": "audio/pcmu"}  # passthrough on a PCMU call
    assert conn.appends >= 60  # the caller's audio went to the model as it arrived
    assert [t.text for t in call.turns("caller")] == ["what are your hours"]
    greeting, answer = call.turns("agent")
    assert greeting.text == "Hello, this is Sam." and not greeting.interrupted
    assert answer.text == answer.heard_text == "We open at nine." and not answer.interrupted
    metrics = answer.metrics
    # Caller's end of speech -> the model's first audio -> our first frame to the carrier, in that order.
    assert 0 < metrics["tts_first_audio_ms"] <= metrics["first_frame_sent_ms"]
    assert metrics["providers"]["brain"]["provider"] == "openai-realtime"
    usage = dict(call.recorder.events)["usage"]
    assert usage["responses"] == 2 and usage["audio_input_tokens"] > 0 and usage["audio_output_tokens"] > 0
    # The same tokens go into the call's usage, for its cost (the fake reports 10 output tokens a word).
    [stored] = [u["usage"]["realtime"] for u in call.recorder.updates if "usage" in u]
    assert stored["model"] == "gpt-realtime" and stored["fell_back_after_s"] is None
    spoken_words = len("Hello, this is Sam.".split()) + len("We open at nine.".split())
    assert stored["audio_output_tokens"] + stored["text_output_tokens"] == 10 * spoken_words
    assert "realtime_fallback" not in call.kinds()


async def test_a_barge_in_clears_the_carrier_cancels_and_truncates_at_what_the_caller_heard(realtime):
    realtime.speedup = 1.0  # the model still producing its answer when the caller cuts in: a cancel is due
    realtime.transcripts.extend(["what are your hours", "thanks"])
    realtime.replies.extend([RealtimeReply(LONG), RealtimeReply("You're welcome.")])
    call = Call()
    await greeted(call, realtime)
    await call.speak(voiced(600) + silence(700))
    await until(lambda: call.session.playout.speaking, timeout=5)
    await asyncio.sleep(1.5)  # the caller hears about 1.5 s of the answer
    await call.speak(voiced(500) + silence(700))
    await until(lambda: len(call.turns("agent")) == 3, timeout=8)
    await call.stop()

    conn = realtime.connections[0]
    assert "clear" in call.carrier.sequence
    assert "response.cancel" in conn.kinds()
    [truncate] = conn.truncates
    heard_ms = played_ms_before_clear(call) - GREETING_MS  # of the answer
    # The truncate carries what confirmed marks said was heard: every 200 ms mark that came back before the clear.
    assert truncate["audio_end_ms"] % 200 == 0
    assert truncate["audio_end_ms"] <= heard_ms < truncate["audio_end_ms"] + 200 + 40
    assert 1000 <= truncate["audio_end_ms"] < truncate["audio_ms"]
    answer = call.turns("agent")[1]
    # Its words: those the model had said when cancelled (its transcript streams with its audio); heard: fewer.
    assert answer.interrupted and LONG.startswith(answer.text) and len(answer.text) < len(LONG)
    assert answer.heard_text and answer.text.startswith(answer.heard_text)
    assert len(answer.heard_text) < len(answer.text)
    barge = dict(call.recorder.events)["barge_in"]
    assert barge["truncated"][0]["audio_end_ms"] == truncate["audio_end_ms"]
    assert barge["voiced_ms"] >= 200  # our voiced-time strategy waited for 200 ms of speech (barge_in_min_ms)
    # The model's context is what was heard; the conversation the cascade would continue holds the same.
    assert call.session.history[2] == {"role": "assistant", "content": f"{answer.heard_text} {INTERRUPTED}"}


def played_ms_before_clear(call: Call) -> int:
    """Milliseconds of agent audio the carrier played before the first clear (the fake's 250 ms a word)."""
    log = call.carrier.log
    clear_at = next(t for t, kind, _ in log if kind == "clear")
    return sum(n for t, kind, n in log if kind == "play" and t < clear_at) // 16


async def test_a_short_noise_over_the_agent_is_no_interruption(realtime):
    realtime.transcripts.append("hours please")
    realtime.replies.append(RealtimeReply(LONG))
    call = Call()
    await greeted(call, realtime)
    await call.speak(voiced(600) + silence(700))
    await until(lambda: call.session.playout.speaking, timeout=5)
    await call.speak(voiced(100) + silence(200))  # a cough: shorter than barge_in_min_ms
    await asyncio.sleep(0.3)
    assert "clear" not in call.carrier.sequence
    assert realtime.connections[0].truncates == []
    await call.stop()


async def test_end_call_hangs_up_once_the_goodbye_was_heard(realtime):
    realtime.transcripts.append("that's all")
    realtime.replies.append(RealtimeReply("Goodbye!", call=("end_call", '{"reason": "caller done"}')))
    call = Call()
    await greeted(call, realtime)
    await call.speak(voiced(500) + silence(700))
    await until(lambda: call.closed, timeout=6)
    goodbye = call.turns("agent")[-1]
    assert goodbye.text == goodbye.heard_text == "Goodbye!"  # heard in full before the hang-up
    outputs = [i for i in realtime.connections[0].items if i["type"] == "function_call_output"]
    assert outputs and outputs[0]["output"] == "ok"
    assert {"end_reason": "caller done"} in call.recorder.updates
    await call.stop()


async def test_a_tool_call_with_invalid_json_gets_an_error_result_and_the_model_goes_on(realtime):
    realtime.transcripts.append("where is my order")
    realtime.replies.extend([RealtimeReply(call=("end_call", "{reason: oops")), RealtimeReply("Let me try again.")])
    call = Call()
    await greeted(call, realtime)
    await call.speak(voiced(500) + silence(700))
    await until(lambda: any(t.text == "Let me try again." for t in call.turns("agent")), timeout=6)
    await call.stop()
    [output] = [i for i in realtime.connections[0].items if i["type"] == "function_call_output"]
    assert "invalid arguments" in json.loads(output["output"])["error"]
    assert not call.closed  # no hang-up on arguments it could not read
    assert "action_failed" in call.kinds()


async def test_unknown_and_malformed_server_events_are_counted_and_the_call_goes_on(realtime):
    realtime.faults.append(RealtimeFault(malformed=True))
    call = Call()
    await greeted(call, realtime)
    await call.stop()
    assert call.turns("agent")[0].heard_text == "Hello, this is Sam."
    bad = dict(call.recorder.events)["bad_input"]
    assert bad["source"] == "openai-realtime"
    assert bad["not_json"] == 1 and bad["unknown:response.something_new"] == 1
    assert bad["malformed:response.output_audio.delta"] == 1
    assert "realtime_fallback" not in call.kinds()


async def test_a_refused_socket_falls_back_to_the_cascade_which_greets(realtime):
    realtime.faults.append(RealtimeFault(reject_status=503))
    call = Call(cascade_texts=["what are your hours"])
    await call.start()
    await until(lambda: call.cascades and any(t.role == "agent" for t in call.recorder.turns), timeout=5)
    history, greeted_already, cascade = call.cascades[0]
    assert history == [] and not greeted_already
    assert call.turns("agent")[0].text == "Hello from the cascade."
    fallback = dict(call.recorder.events)["realtime_fallback"]
    assert fallback["reason"] == "no-socket" and "503" in fallback["error"]
    # The caller's audio and the marks now go to the cascade, which answers.
    await call.speak(voiced(600) + silence(900))
    await until(lambda: any(t.text == "The cascade answers." for t in call.turns("agent")), timeout=6)
    await call.stop()
    assert realtime.rejected == 1


async def test_a_socket_dropped_mid_call_goes_on_in_the_cascade_with_the_conversation_so_far(realtime):
    realtime.transcripts.append("what are your hours")
    realtime.replies.append(RealtimeReply("We open at nine."))
    call = Call()
    await greeted(call, realtime)
    await call.speak(voiced(600) + silence(700))
    await until(lambda: len(call.turns("agent")) == 2, timeout=5)
    realtime.drop_all()
    await until(lambda: bool(call.cascades), timeout=5)
    history, greeted_already, _ = call.cascades[0]
    assert greeted_already
    assert history == [{"role": "assistant", "content": "Hello, this is Sam."},
                       {"role": "user", "content": "what are your hours"},
                       {"role": "assistant", "content": "We open at nine."}]
    assert dict(call.recorder.events)["realtime_fallback"]["reason"] == "socket-failed"
    await until(lambda: call.turns("agent")[-1].text == "Sorry, we got cut off.", timeout=5)  # no dead air
    await call.stop()


async def test_the_first_audio_deadline_runs_from_the_ask_that_awaits_audio_not_an_earlier_one(realtime):
    """The model answers with a tool call 0.6 s after the caller's turn, then with audio 0.6 s after the tool's
    result: each ask got its answer within the 1 s deadline, so the call stays on the model (a deadline left from
    the first ask, 1 s after it, once took the second ask for its own and moved the call to the cascade)."""
    realtime.transcripts.append("where is my order")
    realtime.replies.extend([RealtimeReply(call=("end_call", "{reason: oops"), delay_s=0.6),
                             RealtimeReply("Let me try again.", delay_s=0.6)])
    call = Call(config=RealtimeConfig(greeting="Hello, this is Sam.", first_audio_s=1.0))
    await greeted(call, realtime)
    await call.speak(voiced(500) + silence(700))
    await until(lambda: any(t.text == "Let me try again." for t in call.turns("agent")), timeout=6)
    await call.stop()
    assert not call.cascades and "realtime_fallback" not in dict(call.recorder.events)


async def test_a_model_that_never_answers_is_timed_out_and_the_call_falls_back(realtime):
    realtime.faults.append(RealtimeFault(mute=True))
    call = Call(config=RealtimeConfig(greeting="Hello, this is Sam.", first_audio_s=0.4))
    await call.start()
    await until(lambda: bool(call.cascades), timeout=5)
    assert dict(call.recorder.events)["realtime_fallback"]["reason"] == "first-audio-deadline"
    await until(lambda: any(t.text == "Hello from the cascade." for t in call.turns("agent")), timeout=5)
    await call.stop()


async def test_with_our_turn_detection_the_session_commits_the_turn_and_asks_for_the_answer(realtime):
    realtime.transcripts.append("what are your hours")
    realtime.replies.append(RealtimeReply("We open at nine."))
    call = Call(config=RealtimeConfig(greeting="Hello, this is Sam.", turn_detection="ours"))
    await greeted(call, realtime)
    await call.speak(voiced(600) + silence(500))
    await until(lambda: len(call.turns("agent")) == 2, timeout=5)
    await call.stop()
    conn = realtime.connections[0]
    assert conn.session["audio"]["input"]["turn_detection"] is None
    kinds = conn.kinds()
    assert kinds.index("input_audio_buffer.commit") < len(kinds) - 1 - kinds[::-1].index("response.create")
    assert call.turns("agent")[1].text == "We open at nine."


async def test_a_key_press_is_told_to_the_model_which_answers(realtime):
    realtime.replies.append(RealtimeReply("You pressed one."))
    call = Call()
    await greeted(call, realtime)
    call.session.on_dtmf("1")
    await until(lambda: len(call.turns("agent")) == 2, timeout=5)
    await call.stop()
    [told] = [i for i in realtime.connections[0].items if i.get("role") == "user"]
    assert "pressed 1" in told["content"][0]["text"]


async def test_a_call_whose_cascade_cannot_be_built_is_ended_not_left_silent(realtime):
    realtime.faults.append(RealtimeFault(reject_status=503))
    call = Call()

    async def broken(history, greeted):
        raise ValueError("the agent's fallback STT is misconfigured")

    call.session._cascade_factory = broken
    await call.start()
    await until(lambda: call.closed, timeout=5)
    assert ("error", {"stage": "realtime-fallback", "error": repr(ValueError(
        "the agent's fallback STT is misconfigured"))}) in call.recorder.events
    assert {"end_reason": "realtime-failed"} in call.recorder.updates
    await call.stop()


async def test_a_transfer_the_model_asks_for_is_made_once_its_announcement_was_heard(realtime):
    realtime.transcripts.append("can i talk to sales")
    realtime.replies.append(RealtimeReply("Putting you through to sales.", call=(
        "transfer_call", '{"destination": "sales", "summary": "wants a quote"}')))
    control = Control()
    call = Call(config=RealtimeConfig(greeting="Hello, this is Sam.", transfer_targets={"sales": "+15550001111"}),
                control=control)
    await greeted(call, realtime)
    await call.speak(voiced(500) + silence(700))
    await until(lambda: call.closed, timeout=6)
    assert control.transfers == [("CA-realtime", "+15550001111", "wants a quote")]
    assert call.turns("agent")[-1].heard_text == "Putting you through to sales."
    assert {"end_reason": "transferred"} in call.recorder.updates
    await call.stop()


async def test_a_refused_transfer_is_told_to_the_model_and_the_call_goes_on(realtime):
    realtime.transcripts.append("can i talk to sales")
    realtime.replies.extend([
        RealtimeReply("Putting you through.", call=("transfer_call", '{"destination": "sales", "summary": "x"}')),
        RealtimeReply("Sorry, I could not connect you.")])
    call = Call(config=RealtimeConfig(greeting="Hello, this is Sam.", transfer_targets={"sales": "+15550001111"}),
                control=Control(refuse=True))
    await greeted(call, realtime)
    await call.speak(voiced(500) + silence(700))
    await until(lambda: any(t.text == "Sorry, I could not connect you." for t in call.turns("agent")), timeout=6)
    assert not call.closed
    assert dict(call.recorder.events)["action_failed"]["action"] == "transfer"
    told = [i for i in realtime.connections[0].items if i.get("role") == "user"]
    assert "transfer failed" in told[0]["content"][0]["text"]
    await call.stop()


async def test_a_pcma_call_passes_a_law_through_and_is_answered(realtime):
    realtime.transcripts.append("what are your hours")
    realtime.replies.append(RealtimeReply("We open at nine."))
    call = Call(codec="PCMA")
    await greeted(call, realtime)
    await call.speak(voiced(600) + silence(700))
    await until(lambda: len(call.turns("agent")) == 2, timeout=5)
    await call.stop()
    conn = realtime.connections[0]
    assert conn.session["audio"]["input"]["format"] == conn.session["audio"]["output"]["format"] == {
        "type": "audio/pcma"}
    assert call.turns("agent")[1].heard_text == "We open at nine."
    assert [t.text for t in call.turns("caller")] == ["what are your hours"]  # its VAD heard the A-law speech


async def test_a_wideband_call_is_resampled_to_the_apis_24khz_pcm_and_answered(realtime):
    realtime.replies.append(RealtimeReply("We open at nine."))
    call = Call(codec="L16", rate=16000)
    await greeted(call, realtime)
    await call.speak(voiced(600, 16000) + silence(700, 16000))
    await until(lambda: len(call.turns("agent")) == 2, timeout=5)
    await call.stop()
    conn = realtime.connections[0]
    assert conn.session["audio"]["output"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert conn.audio_bytes > 48 * 1000  # 24 kHz PCM16 (48 bytes a ms) for the ~1.3 s of caller audio
    # The model's 24 kHz reply reached the 16 kHz carrier whole: 4 words at 250 ms.
    assert call.turns("agent")[1].heard_text == "We open at nine."


async def test_a_server_shutdown_has_the_model_say_the_goodbye_line_then_hangs_up(realtime):
    control = Control()
    call = Call(control=control)
    await greeted(call, realtime)
    assert await call.session.end_politely(SHUTDOWN_LINE, "server-shutdown") is True
    await until(lambda: call.closed, timeout=10)
    # The model was asked for exactly the line (the fake says what it is asked to say exactly), heard in full.
    assert call.turns("agent")[-1].heard_text == SHUTDOWN_LINE
    assert {"end_reason": "server-shutdown"} in call.recorder.updates and control.hang_ups == ["CA-realtime"]
    assert await call.session.end_politely(SHUTDOWN_LINE, "server-shutdown") is False  # ending already
    await call.stop()


async def test_at_the_shutdown_deadline_a_realtime_call_is_hung_up_at_once_and_its_cascade_too(realtime):
    call = Call()
    await greeted(call, realtime)
    assert await call.session.end_now("server-shutdown") is True
    assert call.closed and {"end_reason": "server-shutdown"} in call.recorder.updates
    await call.stop()
    assert await call.session.end_now("server-shutdown") is False  # closed already

    realtime.faults.append(RealtimeFault(reject_status=503))
    fallen = Call()
    await fallen.start()
    await until(lambda: fallen.cascades and any(t.role == "agent" for t in fallen.recorder.turns), timeout=5)
    assert await fallen.session.end_now("server-shutdown") is True  # the cascade holds the call now: it hangs up
    assert fallen.closed and {"end_reason": "server-shutdown"} in fallen.recorder.updates
    await fallen.stop()



# A polite goodbye (the server shutting down, the time limit) is the last thing said: nothing the caller does cuts it.


async def test_a_caller_talking_and_pressing_keys_over_the_shutdown_goodbye_does_not_cut_it(realtime):
    """Cut, its hang-up was dropped (a cut reply's action is not done), and the call stayed open until the
    shutdown's deadline."""
    control = Control()
    call = Call(control=control)
    await greeted(call, realtime)
    assert await call.session.end_politely(SHUTDOWN_LINE, "server-shutdown") is True
    await until(lambda: call.session.playout.speaking, timeout=5)
    call.session.on_dtmf("5")
    await call.speak(voiced(700) + silence(300))  # far past barge_in_min_ms (200)
    await until(lambda: call.closed, timeout=10)
    goodbye = call.turns("agent")[-1]
    assert goodbye.heard_text == goodbye.text == SHUTDOWN_LINE and not goodbye.interrupted
    assert {"end_reason": "server-shutdown"} in call.recorder.updates and control.hang_ups == ["CA-realtime"]
    conn = realtime.connections[0]
    assert "clear" not in call.carrier.sequence and "response.cancel" not in conn.kinds()
    assert "barge_in" not in call.kinds() and "dtmf" in call.kinds()  # the key is recorded, not told to the model
    assert sum(1 for kind in conn.kinds() if kind == "response.create") == 2  # the greeting and the goodbye
    await call.stop()


async def test_words_said_over_the_goodbye_are_no_turn_the_model_answers_after_it(realtime):
    """With the server VAD making responses (voiced-time interruption), the caller's words over the goodbye were a
    turn it answered once the goodbye was made ("Okay."): 80-200 ms of that answer went to the carrier after the
    goodbye, as the hang-up went out (a real carrier's hang-up takes longer: more of it is heard)."""
    control = Control()
    call = Call(control=control)
    await greeted(call, realtime)
    conn = realtime.connections[0]
    assert await call.session.end_politely(SHUTDOWN_LINE, "server-shutdown") is True
    await until(lambda: call.session.playout.speaking, timeout=5)
    appended = conn.audio_bytes
    await call.speak(voiced(600) + silence(800))  # a turn to the server VAD (500 ms of silence ends it)
    await until(lambda: call.closed, timeout=10)
    assert conn.audio_bytes == appended  # the model heard none of it: no turn, no answer
    assert [t.text for t in call.turns("agent")] == ["Hello, this is Sam.", SHUTDOWN_LINE]
    assert sum(1 for e in conn.sent if e["type"] == "response.created") == 2
    # What the carrier was sent: the greeting's and the goodbye's audio (the fake's 250 ms a word), nothing after.
    words = len("Hello, this is Sam.".split()) + len(SHUTDOWN_LINE.split())
    assert sum(1 for _, kind, _ in call.carrier.log if kind == "audio") == words * 250 // 20
    await call.stop()


async def test_a_goodbye_asked_for_as_the_server_vad_answers_a_turn_is_said_and_that_answer_never_played(realtime):
    """The caller's turn ended just before the goodbye was asked for (within the link's latency): the server VAD's
    response to it was made first, and the goodbye's create refused (one response at a time). Before, that response
    took the goodbye's hang-up: the caller heard the answer, then the hang-up, never the goodbye."""
    realtime.faults.append(RealtimeFault(latency_s=0.3))
    realtime.replies.append(RealtimeReply(LONG))
    control = Control()
    call = Call(control=control)
    await greeted(call, realtime)
    await until(lambda: len(call.turns("agent")) == 1 and not call.session.playout.speaking, timeout=8)
    conn = realtime.connections[0]
    call.say(voiced(600) + silence(700))  # at once: the server VAD ends the turn and makes its response...
    await until(lambda: sum(e["type"] == "response.created" for e in conn.sent) == 2, timeout=5)
    assert await call.session.end_politely(SHUTDOWN_LINE, "server-shutdown") is True  # ...before we hear of it
    await until(lambda: call.closed, timeout=15)
    codes = [e["error"]["code"] for e in conn.sent if e["type"] == "error"]
    assert "conversation_already_has_active_response" in codes  # the race was run
    assert [t.text for t in call.turns("agent")] == ["Hello, this is Sam.", SHUTDOWN_LINE]
    assert {"end_reason": "server-shutdown"} in call.recorder.updates and control.hang_ups == ["CA-realtime"]
    # The carrier was sent the greeting's and the goodbye's audio only (the fake's 250 ms a word).
    words = len("Hello, this is Sam.".split()) + len(SHUTDOWN_LINE.split())
    assert sum(1 for _, kind, _ in call.carrier.log if kind == "audio") == words * 250 // 20
    assert "realtime_fallback" not in call.kinds()
    await call.stop()


async def test_at_the_time_limit_the_goodbye_is_said_whole_over_the_caller_and_the_call_ends(realtime):
    """Cut, the call had no end at all: the time limit's watchdog stops once it has asked for the goodbye."""
    call = Call(settings=AgentSettings(barge_in_min_ms=200, silence_timeout_s=60, max_duration_s=2.0))
    await greeted(call, realtime)
    await until(lambda: len(call.turns("agent")) == 1 and call.session.playout.speaking, timeout=8)
    await call.speak(voiced(800) + silence(300))
    await until(lambda: call.closed, timeout=15)
    goodbye = call.turns("agent")[-1]  # the model asked for exactly the line (the fake says what it is asked to)
    assert goodbye.heard_text == goodbye.text == TIME_LIMIT_LINE and not goodbye.interrupted
    assert {"end_reason": "max-duration"} in call.recorder.updates
    assert "barge_in" not in call.kinds()
    await call.stop()


async def test_a_goodbye_cuts_the_answer_being_made_and_cancels_it_before_asking_for_itself(realtime):
    """The model still making its answer: its `response.cancel` must reach the server before the goodbye's
    `response.create`: after it, the create is refused (one response at a time) and the cancel would hit the
    goodbye."""
    realtime.speedup = 1.0  # the answer's audio comes in real time: the response is still active when cut
    realtime.transcripts.append("what are your hours")
    realtime.replies.append(RealtimeReply(LONG))
    call = Call()
    await greeted(call, realtime)
    await call.speak(voiced(600) + silence(700))
    await until(lambda: len(call.session.playout.active) and call.session._current is not None, timeout=5)
    await asyncio.sleep(0.5)
    assert await call.session.end_politely(SHUTDOWN_LINE, "server-shutdown") is True
    await until(lambda: call.closed, timeout=15)
    conn = realtime.connections[0]
    kinds = conn.kinds()
    # The greeting's and the goodbye's (the server VAD's own response answered the caller).
    creates = [i for i, kind in enumerate(kinds) if kind == "response.create"]
    assert len(creates) == 2 and kinds.index("response.cancel") < creates[-1], kinds
    _, answer, goodbye = call.turns("agent")
    assert answer.interrupted and len(answer.heard_text) < len(LONG)
    assert goodbye.heard_text == SHUTDOWN_LINE and not goodbye.interrupted
    assert "realtime_fallback" not in call.kinds() and "barge_in" not in call.kinds()
    assert {"end_reason": "server-shutdown"} in call.recorder.updates
    await call.stop()



@pytest.mark.parametrize("failure", ["socket dropped", "model mute"])
async def test_a_goodbye_the_model_fails_to_say_is_said_by_the_cascade_it_falls_back_to(realtime, failure):
    """Before, the fallback's cascade greeted ("Sorry, we got cut off.") and the call went on past the shutdown (or
    the time limit) with no goodbye."""
    fault = RealtimeFault()
    realtime.faults.append(fault)
    control = Control()
    call = Call(control=control, config=RealtimeConfig(greeting="Hello, this is Sam.", first_audio_s=0.4))
    await greeted(call, realtime)
    if failure == "socket dropped":
        realtime.drop_all()
    else:
        fault.mute = True  # the socket stays up; the goodbye never comes
    assert await call.session.end_politely(SHUTDOWN_LINE, "server-shutdown") is True
    await until(lambda: call.closed, timeout=10)
    assert call.cascades and call.turns("agent")[-1].text == SHUTDOWN_LINE
    assert {"end_reason": "server-shutdown"} in call.recorder.updates and control.hang_ups == ["CA-realtime"]
    await call.stop()



async def test_after_a_fallback_the_time_limit_still_counts_from_the_calls_start(realtime):
    call = Call(settings=AgentSettings(barge_in_min_ms=200, silence_timeout_s=60, max_duration_s=4.0))
    started = time.monotonic()
    await greeted(call, realtime)
    await asyncio.sleep(max(0.0, started + 2.0 - time.monotonic()))
    realtime.drop_all()  # two seconds in: the cascade's own watchdog would end the call at six
    await until(lambda: any(kind == "info" and d.get("limit") == "max_duration" for kind, d in call.recorder.events),
                timeout=8)
    assert call.cascades and time.monotonic() - started < 5.5, time.monotonic() - started  # not at six
    await until(lambda: call.closed, timeout=10)
    assert call.turns("agent")[-1].text == TIME_LIMIT_LINE
    assert {"end_reason": "max-duration"} in call.recorder.updates
    await call.stop()


async def test_after_a_fallback_the_silence_reprompts_go_on_from_the_models_count(realtime):
    """Before, the cascade counted afresh: a caller silent through the model's re-prompts got them all again."""
    call = Call(settings=AgentSettings(barge_in_min_ms=200, silence_timeout_s=1.0, max_reprompts=2))
    await greeted(call, realtime)
    await until(lambda: call.session.watchdog.reprompts == 1, timeout=5)  # the model asked once if they are there
    realtime.drop_all()
    await until(lambda: call.cascades and any(isinstance(e, Silence) for e in call.cascades[0][2].brain.events),
                timeout=8)
    silences = [e for e in call.cascades[0][2].brain.events if isinstance(e, Silence)]
    assert silences[0].count == 1  # the second silence in a row: the brain's last re-prompt before its goodbye
    await call.stop()


# Interruptions decided on words (the agents' default): the model's transcript of the speech over the agent decides.

WORDS = AgentSettings(interruption="words", barge_in_min_ms=200, silence_timeout_s=60)


async def test_with_words_interruption_a_backchannel_pauses_the_agent_which_then_goes_on_uncut(realtime):
    realtime.transcripts.extend(["what are your hours", "uh-huh"])
    realtime.replies.append(RealtimeReply(LONG))
    call = Call(settings=WORDS)
    await greeted(call, realtime)
    await call.speak(voiced(600) + silence(700))
    await until(lambda: call.session.playout.speaking, timeout=5)
    await asyncio.sleep(1.0)
    await call.speak(voiced(400) + silence(1200))  # "uh-huh" over the answer
    await until(lambda: len(call.turns("agent")) == 2, timeout=15)
    await call.stop()

    conn = realtime.connections[0]
    # The session, not the server VAD, asks for each response: a backchannel is no turn to answer.
    assert conn.session["audio"]["input"]["turn_detection"]["create_response"] is False
    assert "clear" in call.carrier.sequence  # the agent went quiet while the words were awaited...
    answer = call.turns("agent")[1]
    assert answer.text == answer.heard_text == LONG and not answer.interrupted  # ...then finished, all of it heard
    assert "response.cancel" not in conn.kinds() and conn.truncates == []
    assert [t.text for t in call.turns("caller")] == ["what are your hours"]
    backchannel = dict(call.recorder.events)["backchannel"]
    assert backchannel["words"] == "uh-huh" and backchannel["paused_ms"] > 0
    # The "uh-huh" left the model's conversation too: the model's context is the turns, as in the call record.
    transcribed = "conversation.item.input_audio_transcription.completed"
    uh_huh = next(e["item_id"] for e in conn.sent if e["type"] == transcribed and e["transcript"] == "uh-huh")
    assert conn.deleted == [uh_huh]
    assert sum(1 for kind in conn.kinds() if kind == "response.create") == 2  # the greeting and the answer only


async def test_with_words_interruption_real_words_over_the_agent_cut_it_truncate_and_are_answered(realtime):
    realtime.speedup = 1.0  # the model still producing its answer when the caller cuts in: a cancel is due
    realtime.transcripts.extend(["what are your hours", "wait, are you open on sundays"])
    realtime.replies.extend([RealtimeReply(LONG), RealtimeReply("No, we are closed on Sundays.")])
    call = Call(settings=WORDS)
    await greeted(call, realtime)
    await call.speak(voiced(600) + silence(700))
    await until(lambda: call.session.playout.speaking, timeout=5)
    await asyncio.sleep(1.5)
    await call.speak(voiced(700) + silence(1200))
    await until(lambda: len(call.turns("agent")) == 3, timeout=10)
    await call.stop()

    conn = realtime.connections[0]
    assert "response.cancel" in conn.kinds()
    [truncate] = conn.truncates
    heard_ms = played_ms_before_clear(call) - GREETING_MS  # the pause's clear: nothing was played after it
    assert truncate["audio_end_ms"] <= heard_ms < truncate["audio_end_ms"] + 200 + 40
    greeting, answer, reply = call.turns("agent")
    assert answer.interrupted and answer.heard_text and len(answer.heard_text) < len(answer.text)
    assert reply.text == "No, we are closed on Sundays."
    assert [t.text for t in call.turns("caller")] == ["what are your hours", "wait, are you open on sundays"]
    barge = dict(call.recorder.events)["barge_in"]
    assert barge["truncated"][0]["audio_end_ms"] == truncate["audio_end_ms"]
    assert barge["onset_to_pause_ms"] == barge["onset_to_clear_ms"]  # quiet at the pause, before the words came
    assert "backchannel" not in call.kinds()
    # The conversation the cascade would continue from is in the order it was heard.
    assert [m["role"] for m in call.session.history] == ["assistant", "user", "assistant", "user", "assistant"]
    assert call.session.history[2] == {"role": "assistant", "content": f"{answer.heard_text} {INTERRUPTED}"}


async def test_caller_frames_that_queued_up_go_to_the_model_as_one_append_in_order_and_complete(realtime):
    from calls.pipeline.audio import ulaw_encode

    realtime.trace = True  # the fake keeps each append's audio
    call = Call()
    await greeted(call, realtime)
    conn = realtime.connections[0]
    before = len(conn.append_log)
    speech = voiced(1000)
    call.say(speech)  # 50 frames at once, as a process that fell behind hands them over
    await until(lambda: sum(len(a) for _, a in conn.append_log[before:]) >= len(speech) // 2, timeout=5)
    await call.stop()

    appended = [audio for _, audio in conn.append_log[before:]]
    assert b"".join(appended) == ulaw_encode(speech)  # every byte, in order, μ-law passed through
    assert len(appended) < 50  # fewer sends than frames

"""Speech-to-speech calls end to end: daphne on loopback, simulate_call playing Twilio in real time, the agent's brain
the OpenAI Realtime API — the real `openai` client against the fake Realtime server (in a thread of this process).

One call is answered by the model, interrupted (the truncate carries what the caller heard) and hung up by its
end_call; on another the realtime server refuses the socket and the call goes on on the agent's cascaded providers
(the embedded Whisper, flow and eSpeak)."""

from __future__ import annotations

import pytest

from voicebot.testing.server import Server
from voicebot.testing.vendors.cloud import ThreadedCloud
from voicebot.testing.vendors.openai_realtime import FakeRealtime, RealtimeFault, RealtimeReply

pytestmark = pytest.mark.e2e

LONG = ("We are open Monday to Friday from eight in the morning until six in the evening, and on Saturdays from "
        "nine until one, and we are closed on Sundays and on public holidays.")
SETUP = """
from calls.models import Agent
Agent.objects.filter(name='Bright Smile Dental').update(llm_provider='openai-realtime', provider_options={
    'realtime': {'voice': 'marin', 'fallback_brain': 'flow', 'first_audio_s': 3.0},
    'system_prompt': 'You are the receptionist of Bright Smile Dental.'})
"""


@pytest.fixture(scope="module")
def realtime_server(tmp_path_factory):
    fake = ThreadedCloud(FakeRealtime(
        transcripts=["what are your opening hours", "can i book an appointment", "no thank you goodbye"],
        replies=[RealtimeReply(LONG), RealtimeReply("Of course. Which day suits you?"),
                 RealtimeReply("Goodbye!", call=("end_call", '{"reason": "caller said goodbye"}'))]))
    server = Server(tmp_path_factory.mktemp("realtime"), extra_env=fake.env)
    try:
        server.start()
        done = server.manage("shell", "-c", SETUP)
        assert done.returncode == 0, done.stderr
        yield server, fake.cloud
    finally:
        server.stop()
        fake.stop()


def test_a_realtime_call_is_answered_interrupted_with_a_truncate_and_hung_up(realtime_server):
    server, fake = realtime_server
    # The espeak caller: Piper's pause at the comma in "No thank you, goodbye." ends the turn at the fake's energy
    # VAD, and "goodbye" then cuts the model's goodbye (a second truncate); the fake is no model of a real server VAD.
    result = server.simulate("--carrier", "twilio", "--voice", "espeak",
                             "--say", "What are your opening hours?",
                             "--barge-in", "Can I book an appointment?",
                             "--say", "No thank you, goodbye.")
    sim, call = result["simulated"], result["call"]
    conn = fake.connections[-1]
    assert conn.session["audio"]["input"]["format"] == {"type": "audio/pcmu"}  # Twilio's μ-law, straight through
    assert "You are the receptionist of Bright Smile Dental." in conn.session["instructions"]
    caller = [t["text"] for t in call["turns"] if t["role"] == "caller"]
    agent = [t for t in call["turns"] if t["role"] == "agent"]
    assert caller[:2] == ["what are your opening hours", "can i book an appointment"]
    assert "Bright Smile Dental" in agent[0]["text"]  # the agent's greeting, said by the model
    # The barge-in: the carrier was told to clear, and the model was told where the caller stopped hearing.
    barge = next(t for t in sim["turns"] if t["barge_in"])
    assert barge["clear_ms"] is not None and barge["frames_after_clear"] == 0
    [truncate] = conn.truncates
    assert 0 < truncate["audio_end_ms"] < truncate["audio_ms"]
    interrupted = next(t for t in agent if t["interrupted"])
    # Its words are those the model had said when it was cancelled; the caller heard fewer.
    assert LONG.startswith(interrupted["text"]) and interrupted["text"].startswith(interrupted["heard_text"])
    assert 0 < len(interrupted["heard_text"]) < len(interrupted["text"])
    events = {e["kind"]: e["detail"] for e in call["events"]}
    assert events["barge_in"]["truncated"][0]["audio_end_ms"] == truncate["audio_end_ms"]
    # The goodbye was heard, then the model's end_call hung up.
    assert agent[-1]["text"] == agent[-1]["heard_text"] == "Goodbye!"
    assert sim["closed_by"] == "agent" and call["status"] == "completed"
    assert "realtime_fallback" not in events
    assert events["usage"]["audio_output_tokens"] > 0
    # The model's tokens are in the call's cost, and no STT or TTS is billed for a call they had no part in.
    kinds = {line["kind"]: line for line in call["cost"]["lines"]}
    assert kinds["realtime_audio_output"]["quantity"] == events["usage"]["audio_output_tokens"]
    assert kinds["realtime_audio_output"]["priced"] and kinds["realtime_audio_output"]["amount"] > 0
    assert "stt" not in kinds and "tts" not in kinds
    answered = [t for t in agent if t["metrics"]]
    assert answered and all(t["metrics"]["first_frame_sent_ms"] > 0 for t in answered)


def test_a_refused_realtime_socket_leaves_the_call_on_the_cascaded_providers(realtime_server):
    server, fake = realtime_server
    fake.faults.append(RealtimeFault(reject_status=503))
    result = server.simulate("--carrier", "twilio", "--say", "What are your opening hours?")
    sim, call = result["simulated"], result["call"]
    events = {e["kind"]: e["detail"] for e in call["events"]}
    assert events["realtime_fallback"]["reason"] == "no-socket"
    agent = " | ".join(t["text"] for t in call["turns"] if t["role"] == "agent")
    # The demo flow greets and answers (Whisper heard the caller, eSpeak said it): no dead air.
    assert "Bright Smile Dental" in agent and "Monday to Friday" in agent
    # The cascade's STT and TTS did the whole call: they are billed, the model that never answered is not.
    kinds = {line["kind"]: line for line in call["cost"]["lines"]}
    assert {"stt", "tts"} <= set(kinds) and not any(k.startswith("realtime_") for k in kinds)
    assert kinds["tts"]["quantity"] == sum(len(t["text"]) for t in call["turns"] if t["role"] == "agent")
    assert sim["greeting_ms"] is not None

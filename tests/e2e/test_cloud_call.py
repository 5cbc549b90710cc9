"""One real call on all three cloud providers: daphne on loopback, the real Deepgram/OpenAI/ElevenLabs clients
pointed at local servers that speak the vendors' wire protocols, and simulate_call playing Twilio."""

from __future__ import annotations

import pytest

from voicebot.testing.server import Server
from voicebot.testing.vendors import FakeDeepgram, FakeOpenAI, ScriptedReply, start_in_thread

pytestmark = pytest.mark.e2e

SETUP = """
from calls.models import Agent
Agent.objects.filter(name='Bright Smile Dental').update(
    stt_provider='deepgram', llm_provider='openai', tts_provider='elevenlabs', voice='test-voice',
    provider_options={'llm': {'model': 'gpt-test', 'system_prompt': 'You are a dental receptionist.'}})
"""


@pytest.fixture(scope="module")
def cloud_server(tmp_path_factory):
    cloud = start_in_thread(
        deepgram=FakeDeepgram(transcripts=["what are your opening hours"]),
        openai=FakeOpenAI(replies=[ScriptedReply(text="We are open Monday to Friday, eight to six. Anything else?")]),
    )
    server = Server(tmp_path_factory.mktemp("cloud"), extra_env=cloud.env)
    try:
        server.start()
        done = server.manage("shell", "-c", SETUP)
        assert done.returncode == 0, done.stderr
        yield server, cloud
    finally:
        server.stop()
        cloud.stop()


def test_a_call_runs_on_deepgram_openai_and_elevenlabs(cloud_server):
    server, cloud = cloud_server
    result = server.simulate("--carrier", "twilio", "--say", "What are your opening hours?")
    sim, call = result["simulated"], result["call"]
    assert sim["turns"][0]["latency_ms"] is not None
    caller = [t for t in call["turns"] if t["role"] == "caller"]
    agent = [t for t in call["turns"] if t["role"] == "agent"]
    assert caller[0]["text"] == "what are your opening hours"  # Deepgram's transcript
    assert "Monday to Friday, eight to six" in agent[-1]["text"]  # OpenAI's streamed answer
    # Nothing fell back: every stage was served by its cloud provider, and each one's first byte was timed.
    assert not [e for e in call["events"] if e["kind"] == "provider_failure"], call["events"]
    served = agent[-1]["metrics"]["providers"]
    assert {served[s]["provider"] for s in ("stt", "brain", "tts")} == {"deepgram", "openai", "elevenlabs"}
    assert len(cloud.cloud.openai.requests) >= 1

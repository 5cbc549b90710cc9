"""Each cloud provider raising, timing out or disconnecting at its stage of a live call: the call goes on with the
fallback behind it, the failure is a `provider_failure` CallEvent, and the caller never waits in dead air for more
than ~1.5 s — from the end of their turn (their last voiced frame plus the agent's end-of-turn silence) to the
agent's first reply frame, on a real-time line."""

from __future__ import annotations

import asyncio

import pytest

from calls.models import Agent, CallEvent, Turn
from calls.providers import registry
from calls.providers.fallback import BRAIN_FALLBACK_LINE
from calls.session.call_session import FALLBACK_LINE
from tests import tally
from tests.pipeline_fakes import ScriptedSTT
from voicebot.testing.vendors import DeepgramFault, ElevenLabsFault, ScriptedReply

from .cloud_call import ANSWER, SAID, cloud_agent, new_call, run_call
from .embedded import embedded_call
from .line import PhoneLine

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True),
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]

# The caller's turn ends after the agent's end-of-turn silence (it cannot know sooner); dead air counts from there.
END_OF_TURN_S = Agent._meta.get_field("end_of_turn_silence_ms").default / 1000
DEAD_AIR_S = 1.5
SLACK_S = 0.5  # scheduling on a shared two-core machine


@pytest.fixture(autouse=True)
def scripted_backup_stt(monkeypatch):
    monkeypatch.setitem(registry.STT, "scripted", "tests.pipeline_fakes.ScriptedSTT")
    ScriptedSTT.script = list(SAID)


def failures(call, stage: str) -> list[dict]:
    return [e for e in CallEvent.objects.filter(call=call, kind="provider_failure").values_list("detail", flat=True)
            if e.get("stage") == stage]


def conversation(call) -> list[tuple[str, str]]:
    return list(Turn.objects.filter(call=call).order_by("index").values_list("role", "text"))


def assert_answered_in_time(line, stage: str) -> None:
    assert len(line.gaps) == 2
    dead_air = [gap - END_OF_TURN_S for gap in line.gaps]
    for seconds in dead_air:
        tally.measured("faults", f"dead air after a {stage} fault (s)", seconds)
    assert all(s <= DEAD_AIR_S + SLACK_S for s in dead_air), f"dead air {dead_air} s (budget {DEAD_AIR_S}+{SLACK_S} s)"


# ------------------------------------------------------------------------------------------------ speech-to-text


def _deepgram_refuses(cloud):
    cloud.deepgram.faults.extend(DeepgramFault(reject_status=401) for _ in range(5))


def _deepgram_mute(cloud):
    cloud.deepgram.faults.append(DeepgramFault(mute=True))


def _deepgram_drops_mid_utterance(cloud, turn):
    if turn == 0:
        # The open socket dies a moment into the caller's speech, and every reconnect is refused.
        cloud.deepgram.drop_current_after = len(cloud.deepgram.connections[-1].audio) + 4000
        cloud.deepgram.faults.extend(DeepgramFault(reject_status=503) for _ in range(6))


@pytest.mark.parametrize("fault", ["raises", "times_out", "disconnects"])
def test_a_failing_deepgram_hands_the_utterance_to_the_backup_stt_within_1_5_s(settings, fault):
    tally.ran("faults", "stt")
    call, token = new_call(cloud_agent())
    setup = {"raises": dict(fault=_deepgram_refuses), "times_out": dict(fault=_deepgram_mute),
             "disconnects": dict(before_turn=_deepgram_drops_mid_utterance)}[fault]
    line = asyncio.run(run_call(settings, token, **setup))

    assert_answered_in_time(line, "stt")
    (failure, *_) = failures(call, "stt")
    assert failure["provider"] == "deepgram" and failure["fallback"] is True
    turns = conversation(call)
    assert turns[1:5] == [("caller", SAID[0]), ("agent", ANSWER), ("caller", SAID[1]), ("agent", ANSWER)], turns


# ------------------------------------------------------------------------------------------------ brain


@pytest.mark.parametrize("reply", [
    pytest.param(ScriptedReply(status=500), id="raises"),
    pytest.param(ScriptedReply(text=ANSWER, headers_delay_s=10), id="times_out"),
    pytest.param(ScriptedReply(text=ANSWER, drop_after_chunks=1), id="disconnects"),
])
def test_a_failing_llm_apologises_and_hands_the_turn_to_the_flow_within_1_5_s(settings, reply):
    tally.ran("faults", "brain")
    call, token = new_call(cloud_agent())
    # A caller who hears "One moment." waits for what follows: the model keeps its deadline after the filler, so
    # a pause follows it (the fake voice's filler is short); the caller must not take that pause for the end of the
    # answer. It is bounded below like any dead air.
    line = asyncio.run(run_call(settings, token, fault=lambda cloud: cloud.openai.replies.append(reply),
                                listen_quiet_s=DEAD_AIR_S))

    assert_answered_in_time(line, "brain")
    assert line.longest_silence_in_reply(0) <= DEAD_AIR_S, "dead air inside the reply (after the filler)"
    (failure, *_) = failures(call, "brain")
    assert failure["provider"] == "openai" and failure["fallback"] is True
    turns = conversation(call)
    assert turns[1] == ("caller", SAID[0])
    role, text = turns[2]
    # (A stall before the first token first gets the filler, "One moment.", then the apology.)
    text = text.removeprefix("One moment.").strip()
    assert role == "agent" and text.startswith(BRAIN_FALLBACK_LINE.strip()) and "How can I help?" in text, text
    assert turns[3:5] == [("caller", SAID[1]), ("agent", ANSWER)], "the LLM answers again on the next turn"


# ------------------------------------------------------------------------------------------------ text-to-speech


@pytest.mark.parametrize("fault", [
    pytest.param(ElevenLabsFault(error="quota_exceeded"), id="raises"),
    pytest.param(ElevenLabsFault(stall=True), id="times_out"),
    pytest.param(ElevenLabsFault(drop_after_chunks=0), id="disconnects"),
])
def test_a_dead_tts_falls_back_to_espeak_within_1_5_s(settings, fault):
    tally.ran("faults", "tts")
    call, token = new_call(cloud_agent())
    # Socket 1 speaks the greeting; socket 2, opened ahead of need, gets the first reply: that one fails.
    line = asyncio.run(run_call(settings, token, fault=lambda cloud: cloud.elevenlabs.ws_faults.extend(
        [ElevenLabsFault(), fault])))

    assert_answered_in_time(line, "tts")
    (failure, *_) = failures(call, "tts")
    assert failure["provider"] == "elevenlabs" and failure["fallback"] is True
    replies = list(Turn.objects.filter(call=call, role="agent").order_by("index").values_list("text", flat=True))
    assert replies[1:3] == [ANSWER, ANSWER]
    # ElevenLabs sent no audio for the first reply, yet the caller heard it in time: espeak spoke it.
    first_reply_socket = line.cloud.elevenlabs.connections[1]
    assert first_reply_socket.text.strip() == ANSWER and first_reply_socket.audio_chunks == 0


# ------------------------------------------------------------------------------------------------ embedded


def test_a_raising_embedded_stt_asks_the_caller_to_repeat_within_1_5_s(settings, monkeypatch):
    """Nothing stands behind the embedded recogniser: the session itself must answer, not leave dead air."""
    tally.ran("faults", "embedded")
    monkeypatch.setitem(registry.STT, "failing_whisper", "tests.faults.embedded.FailingWhisper")
    call, token = embedded_call()

    async def talk():
        line = await PhoneLine(token).open()
        try:
            await line.listen()
            await line.say()
            await line.listen()
            await line.say()
        finally:
            await line.hang_up()
        return line

    line = asyncio.run(talk())

    assert_answered_in_time(line, "embedded stt")
    (failure, *_) = failures(call, "stt")
    assert failure["provider"] == "whisper"
    turns = conversation(call)
    assert turns[1] == ("agent", FALLBACK_LINE), turns
    assert turns[2] == ("caller", SAID[1]) and turns[3][0] == "agent", "the next turn is heard and answered"

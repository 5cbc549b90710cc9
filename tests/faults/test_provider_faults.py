"""Each cloud provider raising, timing out or disconnecting at its stage of a live call: the call goes on with the
fallback behind it, the failure is a `provider_failure` CallEvent, and the caller never waits in dead air for more
than ~1.5 s — measured from the caller's last voiced frame to the agent's first reply frame, on a real-time line."""

from __future__ import annotations

import asyncio

import pytest

from calls.models import CallEvent, Turn
from calls.providers import registry
from calls.providers.fallback import BRAIN_FALLBACK_LINE
from tests import tally
from tests.fakes import DeepgramFault, ElevenLabsFault, ScriptedReply
from tests.pipeline_fakes import ScriptedSTT

from .cloud_call import ANSWER, SAID, cloud_agent, new_call, run_call

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True),
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]

# The budget for dead air, plus the caller's own end-of-turn silence (the agent cannot know the turn is over before
# it, 300 ms by default) and scheduling slack on a shared two-core machine.
DEAD_AIR_S = 1.5
END_OF_TURN_S = 0.3
SLACK_S = 0.3
LIMIT_S = DEAD_AIR_S + END_OF_TURN_S + SLACK_S


@pytest.fixture(autouse=True)
def scripted_backup_stt(monkeypatch):
    monkeypatch.setitem(registry.STT, "scripted", "tests.pipeline_fakes.ScriptedSTT")
    ScriptedSTT.script = list(SAID)


def failures(call, stage: str) -> list[dict]:
    return [e for e in CallEvent.objects.filter(call=call, kind="provider_failure").values_list("detail", flat=True)
            if e.get("stage") == stage]


def conversation(call) -> list[tuple[str, str]]:
    return list(Turn.objects.filter(call=call).order_by("index").values_list("role", "text"))


def assert_answered_in_time(line) -> None:
    assert len(line.gaps) == 2
    assert all(gap <= LIMIT_S for gap in line.gaps), f"dead air {line.gaps} s (limit {LIMIT_S} s)"


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

    assert_answered_in_time(line)
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
    line = asyncio.run(run_call(settings, token, fault=lambda cloud: cloud.openai.replies.append(reply)))

    assert_answered_in_time(line)
    (failure, *_) = failures(call, "brain")
    assert failure["provider"] == "openai" and failure["fallback"] is True
    turns = conversation(call)
    assert turns[1] == ("caller", SAID[0])
    role, text = turns[2]
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

    assert_answered_in_time(line)
    (failure, *_) = failures(call, "tts")
    assert failure["provider"] == "elevenlabs" and failure["fallback"] is True
    replies = list(Turn.objects.filter(call=call, role="agent").order_by("index").select_related("metrics"))
    assert [t.text for t in replies[1:3]] == [ANSWER, ANSWER]
    assert replies[1].metrics.providers["tts"]["provider"] == "espeak", "the first reply was spoken by espeak"

"""A model that stalls — before its first token or in the middle of its answer — must not stall the call: on a
real-time line, through the real ASGI app and the real OpenAI SDK against the local OpenAI-compatible server, the
caller hears what the model said so far, then the fallback line and the flow, and never more than ~1.5 s of dead
air: neither after their turn (last voiced frame plus the end-of-turn silence, to the first answer frame) nor
inside the answer (the longest gap between two answer frames)."""

from __future__ import annotations

import asyncio

import pytest

from calls.models import Turn
from calls.providers import registry
from calls.providers.fallback import BRAIN_FALLBACK_LINE, BRAIN_FILLER_LINE
from tests import tally
from tests.pipeline_fakes import ScriptedSTT
from voicebot.testing.vendors import ScriptedReply

from .cloud_call import ANSWER, SAID, cloud_agent, new_call, run_call
from .test_provider_faults import DEAD_AIR_S, END_OF_TURN_S, SLACK_S, failures

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True),
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]

HALF = "Let me see"


@pytest.fixture(autouse=True)
def scripted_backup_stt(monkeypatch):
    monkeypatch.setitem(registry.STT, "scripted", "tests.pipeline_fakes.ScriptedSTT")
    ScriptedSTT.script = list(SAID)


def agent_replies(call) -> list[str]:
    return list(Turn.objects.filter(call=call, role="agent").order_by("index").values_list("text", flat=True))


def measure(line, what: str) -> tuple[float, float]:
    """(dead air after the caller's first turn, longest silence inside the answer), both tallied."""
    after_turn = line.gaps[0] - END_OF_TURN_S
    inside = line.longest_silence_in_reply(0)
    tally.measured("faults", f"dead air after the turn, LLM stalls {what} (s)", after_turn)
    tally.measured("faults", f"dead air inside the answer, LLM stalls {what} (s)", inside)
    return after_turn, inside


@pytest.mark.parametrize("reply", [
    # "Let me see" — role chunk, then three words — and then nothing for 30 s on an open stream.
    pytest.param(ScriptedReply(text=f"{HALF} what I can find for you.", stall_after_chunks=4), id="mid-stream"),
    pytest.param(ScriptedReply(text=ANSWER, first_token_delay_s=30), id="before-first-token"),
])
def test_a_stalling_llm_leaves_no_dead_air(settings, reply):
    tally.ran("faults", "stall")
    call, token = new_call(cloud_agent())
    mid_stream = reply.stall_after_chunks is not None

    async def scenario():
        async def fault(cloud):
            cloud.openai.replies.append(reply)

        return await run_call(settings, token, fault=fault, listen_quiet_s=2.5)

    line = asyncio.run(scenario())

    after_turn, inside = measure(line, "mid-stream" if mid_stream else "before the first token")
    budget = DEAD_AIR_S + SLACK_S
    assert after_turn <= budget, f"{after_turn:.2f} s of silence after the caller's turn (budget {budget} s)"
    assert inside <= budget, f"{inside:.2f} s of silence inside the answer (budget {budget} s)"
    (failure, *_) = failures(call, "brain")
    assert failure["provider"] == "openai" and failure["fallback"] is True
    first, second = agent_replies(call)[1:3]
    if mid_stream:
        # Spoken as far as it got, then recovered: the fallback line, then the flow.
        assert first.startswith(HALF), first
        assert first.index(HALF) < first.index(BRAIN_FALLBACK_LINE.strip()) < first.index("How can I help?"), first
    else:
        # Nothing from the model: the filler within the caller's 1.5 s, then (its deadline passed) the fallback
        # line and the flow.
        assert first.startswith(BRAIN_FILLER_LINE.strip()), first
        assert first.index(BRAIN_FILLER_LINE.strip()) < first.index(BRAIN_FALLBACK_LINE.strip()) \
            < first.index("How can I help?"), first
    assert second == ANSWER, "the LLM answers the next turn"

"""A media socket drops mid-call: the carrier is asked over REST to reconnect, and the new stream — served by the
other process — continues the same conversation at the same flow node, with no turn lost and no second greeting."""

from __future__ import annotations

import asyncio

import pytest

from calls.session.call_session import RESUME_LINE

from .callers import DroppingCaller, steps
from .seed import RESUME_NUMBER

pytestmark = [pytest.mark.services, pytest.mark.e2e]


def test_a_dropped_stream_resumes_on_another_process_with_zero_lost_turns(stack):
    caller = DroppingCaller(stack, stack.a.base_url, stack.b.base_url, RESUME_NUMBER,
                            before=steps("I want to book an appointment"),
                            after=steps("Tomorrow please", "No, goodbye"))
    result = asyncio.run(caller.run())
    sid = result.call_id

    # The carrier was told to reconnect, with a fresh token in a new <Connect><Stream>.
    assert caller.reconnect.call_sid == sid and caller.reconnect.params.get("token")
    assert caller.reconnect.stream_url == "wss://voicebot.test/media/twilio"

    turns = stack.wait_for("the call's end", lambda: stack.sql(
        "SELECT t.index, t.role, t.text, t.node FROM calls_turn t JOIN calls_call c ON c.id = t.call_id "
        "WHERE c.carrier_call_id = %s AND c.status = 'completed' ORDER BY t.index", sid), timeout=15)
    indices = [t[0] for t in turns]
    assert indices == list(range(len(turns))), turns  # contiguous: nothing lost, nothing written twice
    agent = [t for t in turns if t[1] == "agent"]
    caller_said = [t[2].lower() for t in turns if t[1] == "caller"]
    # Before the drop: greeting, the booking request and its question, all stored.
    assert agent[0][2].startswith("Hi") and "appointment" in caller_said[0] and agent[1][2] == "Which day?"
    assert agent[1][3] == "day"
    # After: no second greeting, the resume line, then the flow goes on from the node it was at ("day").
    assert sum(t[2].startswith("Hi") for t in agent) == 1, agent
    assert agent[2][2] == RESUME_LINE
    assert "tomorrow" in caller_said[1]
    assert agent[3][2].startswith("Booked for tomorrow."), agent
    assert agent[-1][2] == "Goodbye."
    assert caller.heard_before_drop == 2  # the two agent turns heard before the drop are the two stored

    (stream_id, end_reason, brain_state), = stack.sql(
        "SELECT stream_id, end_reason, brain_state FROM calls_call WHERE carrier_call_id = %s", sid)
    assert stream_id == caller.peer.stream_sid  # the second stream's: the call went on on the new socket
    assert end_reason == "completed" and brain_state["node"] == "bye"  # the flow's end node, reached
    events = [e[0] for e in stack.sql(
        "SELECT e.detail ->> 'stream' FROM calls_callevent e JOIN calls_call c ON c.id = e.call_id "
        "WHERE c.carrier_call_id = %s AND e.kind = 'info'", sid)]
    assert events.count("resume_requested") == 1

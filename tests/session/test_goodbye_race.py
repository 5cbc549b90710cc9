"""A polite goodbye (the server shutting down, the time limit) is the last thing the agent says: a turn answered
while the reply it cut is being cleared from the carrier must not slip in beside it (CI: under daphne, a SIGTERM's
goodbye was followed by a reply, 'Sure.', stored after it)."""

from __future__ import annotations

import asyncio

import pytest

from calls.providers.base import UserTurn
from calls.session.lines import SHUTDOWN_LINE, TIME_LIMIT_LINE
from tests.pipeline_fakes import ScriptedSTT
from tests.session.helpers import ScriptBrain, frames, until, voiced
from tests.session.test_interruptions import ANSWER, Call
from voicebot.testing.in_process import RATE


@pytest.mark.asyncio
async def test_a_reply_started_while_the_goodbye_clears_the_carrier_is_cut_and_the_goodbye_is_said_last():
    brain = ScriptBrain(greeting="Hello.", answer=ANSWER)  # longer than the goodbye
    async with Call(ScriptedSTT(["question"]), brain) as call:
        await until(lambda: call.agent_turns() and not call.session.speaker.busy, timeout=5)
        session = call.session
        session.speaker.say(brain.respond(UserTurn(ANSWER)), None, "reply")  # the agent is answering
        await until(lambda: session.playout.speaking, timeout=5)
        cleared = session.playout.clear

        async def slow_clear() -> None:
            await asyncio.sleep(0.05)  # the carrier's clear takes a moment ...
            await cleared()

        session.playout.clear = slow_clear
        goodbye = asyncio.create_task(session.end_politely(SHUTDOWN_LINE, "server-shutdown"))
        await asyncio.sleep(0.01)
        # ... and meanwhile a turn that was waiting for its transcript is answered.
        late = asyncio.create_task(session._reply(UserTurn("question number 9"), None))
        assert await goodbye is True
        await late
        await until(lambda: session.state.value != "active" and not session.speaker.busy, timeout=10)
    said = [t.text for t in call.agent_turns()]
    assert said[-1] == SHUTDOWN_LINE, said
    assert [u["end_reason"] for u in call.recorder.updates if "end_reason" in u] == ["server-shutdown"]


@pytest.mark.asyncio
async def test_a_turn_already_waiting_for_the_cut_reply_to_end_is_not_answered_over_the_goodbye():
    """CI (daphne, SIGTERM): the turn "question number 10" waited for the reply being said to end; the goodbye cut
    that reply, and as the cut reply ended both went on: the turn's reply started beside the goodbye, and neither was
    stored before the goodbye time hung up."""
    brain = ScriptBrain(greeting="Hello.", answer=ANSWER)
    async with Call(ScriptedSTT(["question"]), brain) as call:
        await until(lambda: call.agent_turns() and not call.session.speaker.busy, timeout=5)
        session = call.session
        session.speaker.say(brain.respond(UserTurn(ANSWER)), None, "reply")
        await until(lambda: session.playout.speaking, timeout=5)
        waiting = asyncio.create_task(session._reply(UserTurn("question number 10"), None))
        await asyncio.sleep(0.01)  # the turn now waits for the reply being said
        assert await session.end_politely(SHUTDOWN_LINE, "server-shutdown") is True
        await waiting
        await until(lambda: session.state.value != "active" and not session.speaker.busy, timeout=10)
    said = [t.text for t in call.agent_turns()]
    assert said[-1] == SHUTDOWN_LINE and ANSWER not in said[2:], said
    assert any(k == "unanswered" and d["reason"] == "call-ending" for k, d in call.recorder.events), (said, call.recorder.events)


@pytest.mark.asyncio
@pytest.mark.parametrize("cut_in_by", ["words", "key"])
async def test_the_goodbye_is_said_and_stored_whatever_the_caller_does_before_its_first_sentence_plays(cut_in_by):
    """CI (daphne, SIGTERM): the goodbye began while the caller was saying their next question, whose partial had
    already read as an interruption (its content words). The caller's next frame, a few ms
    later and before the goodbye's first (uninterruptible) sentence had reached playout, cut the goodbye: nothing of
    it was said or stored ('Sure.' stayed the last agent turn), and the call hung on until the shutdown's deadline."""
    brain = ScriptBrain(greeting="Hello.", answer=ANSWER)
    async with Call(ScriptedSTT(["question number 3"]), brain) as call:
        await until(lambda: call.agent_turns() and not call.session.speaker.busy, timeout=5)
        session = call.session
        talking = frames(voiced(300), RATE * 2 // 50)
        if cut_in_by == "words":
            for frame in talking[:-1]:
                session.on_audio(frame)
            assert session.end_of_turn.speaking
            session.stt.on_partial("question number 3")  # read as an interruption while the agent is quiet
        assert await session.end_politely(SHUTDOWN_LINE, "server-shutdown") is True
        # At once, before the goodbye's reply task has run at all: nothing of it is in playout yet.
        assert session.speaker.busy and not session.playout.speaking
        if cut_in_by == "words":
            session.on_audio(talking[-1])  # still talking: the verdict stands, frame after frame
        else:
            session.on_dtmf("1")
        await until(lambda: not session.speaker.busy, timeout=10)
        hung_up = session.state.value != "active"
    said = call.agent_turns()
    assert said[-1].text == SHUTDOWN_LINE and said[-1].heard_text == SHUTDOWN_LINE, [t.text for t in said]
    assert hung_up  # by the goodbye, not at the shutdown's deadline
    assert "barge_in" not in call.recorder.kinds(), call.recorder.events
    assert [u["end_reason"] for u in call.recorder.updates if "end_reason" in u] == ["server-shutdown"]


@pytest.mark.asyncio
async def test_a_shutdown_during_the_time_limits_goodbye_lets_it_finish_rather_than_cut_it_for_its_own():
    """The drain tells each live call goodbye; one already saying the time limit's says that one whole, and the
    drain gives it the time to (calls.shutdown): it was cut for the shutdown's line instead."""
    brain = ScriptBrain(greeting="Hello.", answer=ANSWER)
    async with Call(ScriptedSTT(["question"]), brain) as call:
        await until(lambda: call.agent_turns() and not call.session.speaker.busy, timeout=5)
        session = call.session
        await session._on_time_up()
        await until(lambda: session.playout.speaking, timeout=5)
        assert await session.end_politely(SHUTDOWN_LINE, "server-shutdown") is False  # ending already
        await until(lambda: session.state.value != "active" and not session.speaker.busy, timeout=10)
    said = call.agent_turns()
    assert said[-1].text == said[-1].heard_text == TIME_LIMIT_LINE and not said[-1].interrupted
    assert SHUTDOWN_LINE not in [t.text for t in said]
    assert [u["end_reason"] for u in call.recorder.updates if "end_reason" in u] == ["max-duration"]

"""The database goes away mid-call (another connection holds SQLite's write lock, so every write fails in SQLite
itself): the call goes on, completed turns wait in the recorder, in order, and are written once the database is back
— however long it was gone — and what the final flush at hang-up still cannot write is logged, item by item."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from calls import stream_tokens
from calls.models import Agent, Call, Workspace
from calls.providers import registry
from calls.recorder import CallRecorder
from tests import tally
from tests.pipeline_fakes import ScriptedSTT

from .dblock import WriteLock
from .line import PhoneLine

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

FLOW = {"start": "ask", "nodes": {"ask": {"type": "ask", "text": "How can I help?", "routes": []}}}
SAID = ["my first question", "my second question", "my third question"]
OUTAGE_S = 1.5


@pytest.fixture
def call_and_token(monkeypatch):
    monkeypatch.setitem(registry.STT, "scripted", "tests.pipeline_fakes.ScriptedSTT")
    monkeypatch.setitem(registry.TTS, "tone", "tests.pipeline_fakes.ToneTTS")
    monkeypatch.setitem(registry.TTS, "espeak", "tests.pipeline_fakes.ToneTTS")
    ScriptedSTT.script = list(SAID)
    # A short backoff, so the outage below lasts many times the whole retry schedule (the recorder used to give
    # up after one pass through it and drop the turn).
    monkeypatch.setattr(CallRecorder, "RETRY_DELAYS", (0.05, 0.1, 0.2))
    ws = Workspace.objects.create(name="W", slug="w")
    agent = Agent.objects.create(workspace=ws, name="A", greeting="Hello.", flow=FLOW, stt_provider="scripted",
                                 tts_provider="tone", silence_timeout_s=30)
    token, nonce = stream_tokens.issue("CA-db")
    call = Call.objects.create(workspace=ws, agent=agent, carrier="twilio", carrier_call_id="CA-db", stream_nonce=nonce)
    lock = WriteLock()
    yield call, token, lock
    lock.close()


def test_turns_completed_during_a_database_outage_are_buffered_and_written_when_it_returns(call_and_token, caplog):
    tally.ran("faults", "database")
    call, token, lock = call_and_token
    caplog.set_level(logging.INFO, logger="calls.recorder")

    async def talk():
        line = await PhoneLine(token).open()
        try:
            await line.listen()
            await line.say()
            await line.listen()
            await asyncio.sleep(0.3)  # the first reply's turn is written
            lock.take()
            down_at = time.monotonic()
            before = lock.turns(call.pk)
            for _ in range(2):
                await line.say()
                await line.listen()
            await line.pause(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
            during = lock.turns(call.pk)
            lock.release()
            await line.pause(0.8)  # still mid-call
            after = lock.turns(call.pk)
        finally:
            lock.release()
            await line.hang_up()
        return line, before, during, after

    line, before, during, after = asyncio.run(talk())

    assert [role for _, role, _ in before] == ["agent", "caller", "agent"]
    assert during == before, "nothing can be written while the database is locked"
    assert all(gap < 2.5 for gap in line.gaps), f"the caller was answered during the outage too: {line.gaps}"
    assert [i for i, _, _ in after] == list(range(7)), "every turn, in order, no gap in the indexes"
    assert [(role, text) for _, role, text in after if role == "caller"] == [("caller", t) for t in SAID]
    assert after[:3] == before
    failed = [r for r in caplog.records if "database error writing turn" in r.getMessage()]
    assert failed, "the outage did not reach the recorder"
    assert not [r for r in caplog.records if "not stored" in r.getMessage()]
    assert Call.objects.get(pk=call.pk).status == "completed"


@pytest.mark.parametrize("back_after_s", [0.5, None], ids=["back_during_the_final_flush", "still_down"])
def test_a_database_down_at_hang_up_is_retried_for_a_bounded_time_and_what_is_lost_is_logged(
        call_and_token, caplog, monkeypatch, back_after_s):
    tally.ran("faults", "database")
    call, token, lock = call_and_token
    monkeypatch.setattr(CallRecorder, "FLUSH_TIMEOUT_S", 1.0)
    caplog.set_level(logging.INFO, logger="calls.recorder")

    async def talk():
        line = await PhoneLine(token).open()
        await line.listen()
        await asyncio.sleep(0.3)
        lock.take()
        await line.say()
        await line.listen()
        if back_after_s is not None:
            asyncio.get_running_loop().call_later(back_after_s, lock.release)
        started = time.monotonic()
        await line.hang_up()
        return time.monotonic() - started

    hang_up_s = asyncio.run(talk())
    lock.release()

    turns = lock.turns(call.pk)
    lost = [r.getMessage() for r in caplog.records if "not stored:" in r.getMessage()]
    if back_after_s is not None:
        assert [(role, text) for _, role, text in turns][1] == ("caller", SAID[0])
        assert [role for _, role, _ in turns] == ["agent", "caller", "agent"] and not lost
        assert Call.objects.get(pk=call.pk).status == "completed"
    else:
        assert [role for _, role, _ in turns] == ["agent"], "only the greeting, written before the outage"
        assert hang_up_s < CallRecorder.FLUSH_TIMEOUT_S + 2.5, "the final flush is bounded"
        # Each unwritten item is logged with its content, the caller's words included.
        assert any("turn" in m and SAID[0] in m for m in lost), lost
        assert any(m.split("not stored: ")[1].startswith("call ") and "completed" in m for m in lost), lost
        assert Call.objects.get(pk=call.pk).status == "in-progress"

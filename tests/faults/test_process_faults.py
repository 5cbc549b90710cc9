"""Process-level faults, with real processes: with its Redis channel layer killed mid-call, a server goes on with the
call (replies sent, turns stored) and /healthz reports the live updates degraded; SIGKILLed mid-call, it has already
stored every turn the caller completed. The server is daphne in a subprocess on the cloud providers against the
local fakes, with a Redis of its own; the caller is the simulator playing Twilio over a real socket."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from calls.models import Agent, PhoneNumber, Workspace
from tests import tally
from voicebot.testing.carrier.caller import CallResult, SimulatedCaller, Step
from voicebot.testing.carrier.peers import TwilioPeer
from voicebot.testing.pcm import voiced
from voicebot.testing.vendors import FakeOpenAI, ScriptedReply, ThreadedCloud, start_in_thread

from .process import TWILIO_TOKEN, Daphne, Redis, copy_test_database, turns_in, when

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

NUMBER = "+15550100000"
SAID = ["my first question", "my second question", "my third question"]
ANSWER = "Sure."


@dataclass
class Stack:
    cloud: ThreadedCloud
    redis: Redis
    server: Daphne
    db_path: Path

    def serving(self) -> Daphne:
        """The server, started on first use (and again if an earlier test killed it). Call it from a test: the
        server's database is a copy of the test database, with an agent and a number of its own."""
        if not self.db_path.exists():
            ws = Workspace.objects.create(name="Process faults", slug="process-faults")
            agent = Agent.objects.create(workspace=ws, name="Cloud", greeting="Hello.", stt_provider="deepgram",
                                         llm_provider="openai", tts_provider="elevenlabs", silence_timeout_s=30)
            PhoneNumber.objects.create(workspace=ws, e164=NUMBER, carrier="twilio", agent=agent)
            copy_test_database(self.db_path)
        if self.server.proc is None or self.server.proc.poll() is not None:
            self.server.start()
        return self.server

    def call(self, turns: int) -> SimulatedCaller:
        self.cloud.cloud.deepgram.transcripts.clear()
        self.cloud.cloud.deepgram.transcripts.extend(SAID)
        server = self.serving()
        peer = TwilioPeer(server.base_url, NUMBER, auth_token=TWILIO_TOKEN, public_base_url=server.base_url)
        return SimulatedCaller(peer, [Step(text=t, pcm=voiced(600)) for t in SAID[:turns]], idle_ms=400, timeout_s=40)

    def stored(self, result: CallResult) -> list[tuple[str, str]]:
        return [(role, text) for _, role, text, _ in turns_in(self.db_path, result.call_id)]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """One server (with its Redis and the fakes) for the module: starting daphne is most of the cost."""
    tmp = tmp_path_factory.mktemp("process-faults")
    cloud = start_in_thread(openai=FakeOpenAI(responder=lambda body: ScriptedReply(text=ANSWER)))
    redis = Redis()
    server = Daphne(tmp, {**cloud.env, "REDIS_URL": redis.url})
    assert server.db_path == tmp / "db.sqlite3"
    try:
        yield Stack(cloud, redis, server, server.db_path)
    finally:
        server.stop()
        redis.kill()
        cloud.stop()


def test_with_the_redis_layer_gone_calls_go_on_and_healthz_reports_live_updates_degraded(stack):
    tally.ran("faults", "process")
    caller = stack.call(turns=2)
    server = stack.serving()

    async def call_and_kill_redis():
        run = asyncio.ensure_future(caller.run())
        await when(lambda: len(caller.result.turns) >= 2 or run.done())  # the first turn went through Redis
        before = await server.ahealthz()
        stack.redis.kill()
        return before, await run

    before, result = asyncio.run(call_and_kill_redis())
    after = server.healthz()

    assert before["live"]["layer"] == "RedisChannelLayer"
    assert before["live"]["ok"] and before["live"]["sent"] > 0, before
    # The call went on: both turns answered, and everything stored.
    assert [t.latency_ms is not None and t.latency_ms < 3000 for t in result.turns] == [True, True], result.turns
    assert stack.stored(result) == [("agent", "Hello."), ("caller", SAID[0]), ("agent", ANSWER),
                                    ("caller", SAID[1]), ("agent", ANSWER)]
    with sqlite3.connect(stack.db_path) as db:
        (status,) = db.execute("SELECT status FROM calls_call WHERE carrier_call_id = ?", (result.call_id,)).fetchone()
    assert status == "completed"
    # And the process says its live view is degraded (while still reporting itself fit to serve).
    live = after["live"]
    assert after["ok"] and live["degraded"] and not live["ok"], after
    assert live["consecutive_failures"] >= 1 and live["last_error"], live


def test_a_server_killed_mid_call_has_already_stored_every_completed_turn(stack):
    tally.ran("faults", "process")
    caller = stack.call(turns=3)
    server = stack.serving()

    async def call_then_kill():
        run = asyncio.ensure_future(caller.run())
        # A turn answered and heard out; the caller is a moment into the next one when the process dies.
        await when(lambda: len(caller.result.turns) >= 2 or run.done())
        await asyncio.sleep(0.3)
        os.kill(server.proc.pid, signal.SIGKILL)
        return await run

    result = asyncio.run(call_then_kill())
    assert server.proc.wait(10) == -signal.SIGKILL

    assert [t.latency_ms is not None for t in result.turns] == [True, False], result.turns
    assert stack.stored(result)[:3] == [("agent", "Hello."), ("caller", SAID[0]), ("agent", ANSWER)]
    assert not any(interrupted for *_, interrupted in turns_in(stack.db_path, result.call_id)[:3])

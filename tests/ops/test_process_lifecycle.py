"""A server process's end, with real processes and real sockets: daphne serving voicebot (cloud providers against the
local fakes), the simulated Twilio caller on a real WebSocket.

- SIGTERM with a live call: the process stops admitting (a new call gets the overflow answer, /readyz says
  "draining"), the live call goes on until the drain time, then hears the goodbye and is hung up, with its turns
  stored; then the process exits.
- SIGTERM while a call ends by itself within the drain time: it ends normally and the process exits right after.
- SIGKILL mid-call, then a restart: the restarted process closes the call the dead one left open (failed,
  server-lost, a CallEvent), and every turn stored before the kill is still there.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from calls.models import Agent, PhoneNumber, Workspace
from calls.session.lines import SHUTDOWN_LINE
from tests.faults.process import TWILIO_TOKEN, Daphne, copy_test_database, turns_in, when
from voicebot.testing.carrier.caller import SimulatedCaller, Step
from voicebot.testing.carrier.peers import SimulationError, TwilioPeer
from voicebot.testing.pcm import voiced
from voicebot.testing.server import ROOT, healthy, wait_started
from voicebot.testing.vendors import FakeOpenAI, ScriptedReply, start_in_thread

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NUMBER = "+15550100000"
SAID = [f"question number {n}" for n in range(1, 13)]
ANSWER = "Sure."


@pytest.fixture(scope="module")
def cloud():
    fakes = start_in_thread(openai=FakeOpenAI(responder=lambda body: ScriptedReply(text=ANSWER)))
    yield fakes
    fakes.stop()


class Uvicorn(Daphne):
    """The Procfile's server: uvicorn with two workers, uvloop, lifespan on, metrics in multiprocess mode."""

    def start(self) -> None:
        prom = Path(self.env["VOICEBOT_VAR_DIR"]) / "prometheus"
        prom.mkdir(parents=True, exist_ok=True)
        self.env["PROMETHEUS_MULTIPROC_DIR"] = str(prom)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "voicebot.asgi:application", "--host", "127.0.0.1", "--port",
             str(self.port), "--workers", "2", "--loop", "uvloop", "--ws", "websockets-sansio", "--lifespan", "on",
             "--no-access-log"],
            cwd=ROOT, env=self.env, stdout=self.log.open("w"), stderr=subprocess.STDOUT)
        wait_started(lambda: healthy(self.base_url, warm=False), [self.proc], self.log, "uvicorn", timeout_s=60)


def server_for(tmp: Path, cloud, server_class=Daphne, **env) -> Daphne:
    ws = Workspace.objects.create(name="Ops", slug=f"ops-{tmp.name}")
    agent = Agent.objects.create(workspace=ws, name="Cloud", greeting="Hello.", stt_provider="deepgram",
                                 llm_provider="openai", tts_provider="elevenlabs", silence_timeout_s=30)
    PhoneNumber.objects.create(workspace=ws, e164=NUMBER, carrier="twilio", agent=agent)
    server = server_class(tmp, {**cloud.env, **{k: str(v) for k, v in env.items()}})
    copy_test_database(server.db_path)
    cloud.cloud.deepgram.transcripts.clear()
    cloud.cloud.deepgram.transcripts.extend(SAID)
    server.start()
    return server


def caller(server: Daphne, turns: int) -> SimulatedCaller:
    peer = TwilioPeer(server.base_url, NUMBER, auth_token=TWILIO_TOKEN, public_base_url=server.base_url)
    return SimulatedCaller(peer, [Step(text=t, pcm=voiced(600)) for t in SAID[:turns]], idle_ms=400, timeout_s=60)


async def signal_mid_call(talk: SimulatedCaller, pid: int, sig: int, *, on_turn: int, delay_s: float = 0.0,
                          meanwhile=None):
    """Place the call; once the caller is on turn `on_turn`, wait `delay_s` and send `sig` to the server; then run
    `meanwhile()` while the call goes on. Returns (what was answered before the signal, the call's result, what
    `meanwhile` returned)."""
    run = asyncio.ensure_future(talk.run())
    await when(lambda: len(talk.result.turns) >= on_turn or run.done())
    await asyncio.sleep(delay_s)
    answered = sum(t.latency_ms is not None for t in talk.result.turns)
    os.kill(pid, sig)
    extra = await meanwhile() if meanwhile is not None else None
    return answered, await run, extra


def row(db_path: Path, sql: str, *args):
    with sqlite3.connect(db_path) as db:
        return db.execute(sql, args).fetchall()


def call_row(db_path: Path, carrier_call_id: str) -> tuple:
    (found,) = row(db_path, "SELECT id, status, end_reason, ended_at FROM calls_call WHERE carrier_call_id = ?",
                   carrier_call_id)
    return found


def events(db_path: Path, call_pk: int) -> list[str]:
    return [k for (k,) in row(db_path, "SELECT kind FROM calls_callevent WHERE call_id = ? ORDER BY at", call_pk)]


@pytest.mark.parametrize("server_class", [Daphne, Uvicorn], ids=["daphne (make run)", "uvicorn --workers 2 (Procfile)"])
def test_sigterm_drains_a_live_call_then_says_goodbye_and_refuses_new_calls_meanwhile(tmp_path, cloud, server_class):
    server = server_for(tmp_path, cloud, server_class, VOICEBOT_DRAIN_S=3, VOICEBOT_GOODBYE_S=15)
    try:
        live = caller(server, turns=len(SAID))  # talks for far longer than the drain time

        async def during_the_drain():
            # uvicorn's supervisor passes the signal on to its workers within its 0.5 s loop: wait until it has. A
            # worker with no call to drain stops at once, closing its connections: a request it had taken fails
            # (CI: httpx.ReadError), and the next one reaches the worker that drains.
            ready = None
            async with httpx.AsyncClient(timeout=5) as client:
                for _ in range(50):
                    try:
                        ready = await client.get(server.base_url + "/readyz")
                        if ready.status_code == 503:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.1)
            await asyncio.sleep(0.2)  # the other worker got its SIGTERM in the same moment
            late = TwilioPeer(server.base_url, NUMBER, from_number="+15550188888", auth_token=TWILIO_TOKEN,
                              public_base_url=server.base_url)
            with pytest.raises(SimulationError):  # no stream: the overflow answer
                await late.answer()
            return ready, late

        # From the caller's second turn (the first was answered): the call is live.
        answered_before, result, (ready, late) = asyncio.run(
            signal_mid_call(live, server.proc.pid, signal.SIGTERM, on_turn=2, meanwhile=during_the_drain))
        assert server.proc.wait(30) == 0, server.log.read_text()[-3000:]
    finally:
        server.stop()

    assert ready is not None, "no answer from /readyz during the drain"
    assert ready.status_code == 503 and ready.json()["status"] == "draining", ready.text
    assert "<Hangup" in late.twiml and "<Stream" not in late.twiml, late.twiml
    # The live call went on during the drain (more turns answered after the SIGTERM), then the agent ended it.
    answered = [t for t in result.turns if t.latency_ms is not None]
    assert answered_before >= 1 and len(answered) > answered_before, (answered_before, result.turns)
    assert result.closed_by != "caller" and result.error == "", result
    call_pk, status, end_reason, ended_at = call_row(server.db_path, result.call_id)
    assert (status, end_reason) == ("completed", "server-shutdown") and ended_at
    stored = turns_in(server.db_path, result.call_id)
    assert stored[0][1:3] == ("agent", "Hello.")
    # The agent's last turn is the goodbye (the caller may have gone on talking over it: stored after it, unanswered).
    agent_said = [text for _, role, text, _ in stored if role == "agent"]
    assert agent_said[-1].endswith(SHUTDOWN_LINE), stored[-3:]
    callers = [text for _, role, text, _ in stored if role == "caller"]
    assert callers == SAID[: len(callers)] and len(callers) >= 2  # every answered turn stored, in order
    assert "shutdown" in events(server.db_path, call_pk)
    (late_call,) = row(server.db_path, "SELECT status, end_reason FROM calls_call WHERE carrier_call_id = ?",
                       late.call_id)
    assert late_call == ("rejected", "overflow")
    # The process (each worker) recorded its clean stop.
    assert row(server.db_path, "SELECT count(*) FROM calls_serverinstance WHERE stopped_at IS NULL") == [(0,)]


def test_sigterm_lets_a_call_that_ends_within_the_drain_time_end_by_itself(tmp_path, cloud):
    server = server_for(tmp_path, cloud, VOICEBOT_DRAIN_S=60)
    try:
        _, result, _ = asyncio.run(signal_mid_call(caller(server, turns=3), server.proc.pid, signal.SIGTERM, on_turn=1))
        # It exits once the call is over, not at the end of the 60 s drain.
        assert server.proc.wait(30) == 0, server.log.read_text()[-3000:]
    finally:
        server.stop()
    assert [t.latency_ms is not None for t in result.turns] == [True, True, True], result.turns
    call_pk, status, end_reason, _ = call_row(server.db_path, result.call_id)
    assert (status, end_reason) == ("completed", "caller-hung-up")
    assert "shutdown" not in events(server.db_path, call_pk)
    assert [role for _, role, _, _ in turns_in(server.db_path, result.call_id)] == ["agent", "caller"] * 3 + ["agent"]


def test_a_call_left_open_by_a_killed_server_is_closed_as_server_lost_when_it_restarts(tmp_path, cloud):
    # A short staleness window: the reconciler leaves calls answered less than this ago alone.
    server = server_for(tmp_path, cloud, VOICEBOT_INSTANCE_STALE_S=1)
    try:
        # A turn answered and heard out; the caller is a moment into the next one when the process dies.
        _, result, _ = asyncio.run(signal_mid_call(caller(server, turns=4), server.proc.pid, signal.SIGKILL, on_turn=2,
                                                   delay_s=0.3))
        assert server.proc.wait(10) == -signal.SIGKILL
        call_pk, status, end_reason, _ = call_row(server.db_path, result.call_id)
        assert (status, end_reason) == ("in-progress", "")  # what the issue saw: left open by the dead process
        stored_before = turns_in(server.db_path, result.call_id)

        server.start()  # the restart (`make run` again)

        async def closed():
            await when(lambda: call_row(server.db_path, result.call_id)[1] != "in-progress", limit_s=30)

        asyncio.run(closed())
    finally:
        server.stop()
    _, status, end_reason, ended_at = call_row(server.db_path, result.call_id)
    assert (status, end_reason) == ("failed", "server-lost") and ended_at
    assert "server_lost" in events(server.db_path, call_pk)
    assert turns_in(server.db_path, result.call_id) == stored_before  # nothing completed is lost
    assert stored_before[:3] == [(0, "agent", "Hello.", False), (1, "caller", SAID[0], False), (2, "agent", ANSWER, False)]


@pytest.mark.parametrize("server_class", [Daphne, Uvicorn], ids=["daphne (make run)", "uvicorn --workers 2 (Procfile)"])
def test_a_call_still_live_when_the_goodbye_time_is_over_is_ended_and_stored_before_the_process_exits(
        tmp_path, cloud, server_class):
    # The goodbye cannot be heard out in 0.2 s: at that deadline the call is still live. Daphne cancels whatever
    # is still running when its reactor stops (uvicorn closes the socket): the drain must end the call itself.
    server = server_for(tmp_path, cloud, server_class, VOICEBOT_DRAIN_S=1, VOICEBOT_GOODBYE_S=0.2)
    try:
        _, result, _ = asyncio.run(signal_mid_call(caller(server, turns=len(SAID)), server.proc.pid, signal.SIGTERM,
                                                   on_turn=2))
        assert server.proc.wait(30) == 0, server.log.read_text()[-3000:]
    finally:
        server.stop()
    assert result.closed_by != "caller", result
    call_pk, status, end_reason, ended_at = call_row(server.db_path, result.call_id)
    assert (status, end_reason) == ("completed", "server-shutdown") and ended_at, server.log.read_text()[-3000:]
    assert "shutdown" in events(server.db_path, call_pk)
    callers = [text for _, role, text, _ in turns_in(server.db_path, result.call_id) if role == "caller"]
    assert callers[:2] == SAID[:2]  # the turns answered before the SIGTERM are stored
    assert row(server.db_path, "SELECT count(*) FROM calls_serverinstance WHERE stopped_at IS NULL") == [(0,)]

"""calls.shutdown.drain with sessions that do not end when asked: whatever the server would otherwise cancel on exit
is still ended and stored, in the database, before the drain returns (daphne cancels every application still running
when its reactor stops, so a session it cancels never stores its own end)."""

from __future__ import annotations

import asyncio

import pytest
from django.utils import timezone

from calls import admission, instances, shutdown
from calls.models import Agent, Call, CallEvent, Workspace
from calls.signals import call_finished

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


class Events:
    """The bit of a CallRecorder the drain uses: events it records, and the final flush."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict]] = []
        self.drained = False

    def event(self, kind: str, detail: dict | None = None) -> None:
        self.events.append((kind, detail or {}))

    async def drain(self, timeout: float | None = None) -> None:
        self.drained = True


class StuckSession:
    """Accepts the goodbye and the hang-up, and never ends (a close stuck on a provider, say)."""

    call_id = "CA-stuck"

    def __init__(self) -> None:
        self.recorder = Events()
        self.asked: list[str] = []
        self.hanging: asyncio.Task | None = None

    async def end_politely(self, line: str, reason: str) -> bool:
        self.asked.append(f"goodbye:{reason}")
        return True

    async def end_now(self, reason: str) -> bool:
        self.asked.append(f"end_now:{reason}")
        self.hanging = asyncio.current_task()
        await asyncio.sleep(3600)
        return True


@pytest.fixture
def clean():
    admission.reset()
    yield
    admission.reset()


@pytest.fixture
def finished():
    got = []

    def receiver(sender, call_id, **kw):
        got.append(call_id)

    call_finished.connect(receiver, dispatch_uid="test-shutdown-drain")
    yield got
    call_finished.disconnect(dispatch_uid="test-shutdown-drain")


def calls():
    ws = Workspace.objects.create(name="W", slug="w")
    agent = Agent.objects.create(workspace=ws, name="A", greeting="Hi")

    def call(cid: str, served_by: str) -> Call:
        return Call.objects.create(workspace=ws, agent=agent, carrier="twilio", carrier_call_id=cid,
                                   status=Call.Status.IN_PROGRESS, served_by=served_by, answered_at=timezone.now())

    return call("CA-stuck", instances.instance_id()), call("CA-elsewhere", "another-process")


async def test_a_session_that_does_not_end_in_time_is_ended_in_the_database_before_the_drain_returns(
        clean, finished, monkeypatch):
    from asgiref.sync import sync_to_async

    mine, elsewhere = await sync_to_async(calls)()
    monkeypatch.setattr(shutdown, "HANG_UP_S", 0.2)
    session = StuckSession()
    admission.register(session)

    summary = await shutdown.drain(drain_s=0.1, goodbye_s=0.2)

    # Asked to say goodbye, then to hang up at once, and its queued writes flushed: it still did not end.
    assert session.asked == ["goodbye:server-shutdown", "end_now:server-shutdown"] and session.recorder.drained
    assert admission.draining()
    assert summary["told_goodbye"] == 1 and summary["left"] == 1 and summary["ended_in_database"] == 1
    await sync_to_async(mine.refresh_from_db)()
    await sync_to_async(elsewhere.refresh_from_db)()
    assert (mine.status, mine.end_reason) == ("completed", "server-shutdown") and mine.ended_at
    kinds = await sync_to_async(lambda: list(CallEvent.objects.filter(call=mine).values_list("kind", flat=True)))()
    assert kinds == ["shutdown"]  # from the database net (the fake recorder keeps the session's own)
    assert [k for k, _ in session.recorder.events] == ["shutdown", "shutdown"]  # told goodbye, then hung up
    assert finished == [mine.pk]  # its post-call work runs
    assert (elsewhere.status, elsewhere.end_reason) == ("in-progress", "")  # another process's call: not ours
    session.hanging.cancel()

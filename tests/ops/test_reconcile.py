"""The server-lost reconciler: an in-progress call whose server stopped heartbeating (or exited) is closed as
failed / server-lost with a CallEvent and its post-call work; a live server's calls are never touched."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from automation.tasks import reconcile_lost_calls
from calls import instances
from calls.models import Agent, Call, CallEvent, ServerInstance, Turn, Workspace
from calls.signals import call_finished

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent():
    ws = Workspace.objects.create(name="W", slug="w")
    return Agent.objects.create(workspace=ws, name="A", greeting="Hi")


@pytest.fixture
def finished():
    got = []

    def receiver(sender, call_id, **kw):
        got.append(call_id)

    call_finished.connect(receiver, dispatch_uid="test-reconcile")
    yield got
    call_finished.disconnect(dispatch_uid="test-reconcile")


def instance(name: str, beat_ago_s: float, *, pid: int = 1, host: str = "elsewhere", stopped: bool = False):
    now = timezone.now()
    return ServerInstance.objects.create(id=name, host=host, pid=pid, heartbeat_at=now - timedelta(seconds=beat_ago_s),
                                         stopped_at=now if stopped else None)


def live_call(agent, cid: str, served_by: str, answered_ago_s: float = 300.0) -> Call:
    now = timezone.now()
    return Call.objects.create(workspace=agent.workspace, agent=agent, carrier="twilio", carrier_call_id=cid,
                               status=Call.Status.IN_PROGRESS, served_by=served_by,
                               answered_at=now - timedelta(seconds=answered_ago_s))


def test_a_stale_instances_call_is_closed_and_a_live_instances_is_not(agent, finished):
    dead = instance("dead", beat_ago_s=instances.STALE_S + 30)
    instance("alive", beat_ago_s=1)
    lost = live_call(agent, "CA-lost", "dead")
    kept = live_call(agent, "CA-kept", "alive")
    Turn.objects.create(call=lost, index=0, role="agent", text="Hello.", started_at=timezone.now() - timedelta(seconds=200),
                        ended_at=timezone.now() - timedelta(seconds=199))

    assert instances.reconcile() == [lost.pk]

    lost.refresh_from_db()
    kept.refresh_from_db()
    assert (lost.status, lost.end_reason) == ("failed", "server-lost")
    # The end is the last sign of life: the dead server's last heartbeat (later than its last turn), not now.
    assert lost.ended_at == dead.heartbeat_at
    assert list(lost.turns.values_list("text", flat=True)) == ["Hello."]  # nothing stored is lost
    event = CallEvent.objects.get(call=lost)
    assert event.kind == "server_lost" and event.detail["instance"] == "dead"
    assert finished == [lost.pk]  # its post-call work was started
    assert (kept.status, kept.end_reason, kept.ended_at) == ("in-progress", "", None)
    assert not CallEvent.objects.filter(call=kept).exists()


def test_reconciling_twice_closes_a_call_once(agent, finished):
    instance("dead", beat_ago_s=instances.STALE_S + 30)
    call = live_call(agent, "CA-1", "dead")
    assert instances.reconcile() == [call.pk]
    assert instances.reconcile() == []
    assert finished == [call.pk] and CallEvent.objects.filter(call=call).count() == 1


def test_a_cleanly_stopped_instance_and_a_crashed_process_on_this_host_are_gone_at_once(agent, finished):
    instance("stopped", beat_ago_s=1, stopped=True)
    # A fresh heartbeat, but on this host and its process no longer exists (killed a moment ago).
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    instance("crashed", beat_ago_s=1, pid=pid, host=instances.socket.gethostname())
    instance("running-here", beat_ago_s=1, pid=os.getppid(), host=instances.socket.gethostname())
    a, b = live_call(agent, "CA-a", "stopped"), live_call(agent, "CA-b", "crashed")
    c = live_call(agent, "CA-c", "running-here")
    assert sorted(instances.reconcile()) == sorted([a.pk, b.pk])
    c.refresh_from_db()
    assert c.status == "in-progress"


def test_a_call_answered_moments_ago_is_left_alone_whatever_its_instance(agent, finished):
    # Its server may not have written its first heartbeat yet.
    young = live_call(agent, "CA-young", "not-yet-beating", answered_ago_s=1)
    unowned_recent = live_call(agent, "CA-unowned", "", answered_ago_s=600)
    assert instances.reconcile() == []
    young.refresh_from_db()
    unowned_recent.refresh_from_db()
    assert young.status == unowned_recent.status == "in-progress"


def test_ended_calls_are_not_touched(agent, finished):
    instance("dead", beat_ago_s=instances.STALE_S + 30)
    done = live_call(agent, "CA-done", "dead")
    Call.objects.filter(pk=done.pk).update(status="completed", end_reason="caller-hung-up")
    assert instances.reconcile() == []
    done.refresh_from_db()
    assert (done.status, done.end_reason) == ("completed", "caller-hung-up")


def test_heartbeat_registers_this_process_and_the_command_and_task_reconcile(agent, finished, capsys):
    instances.beat()
    me = ServerInstance.objects.get(pk=instances.instance_id())
    assert me.pid == os.getpid() and me.stopped_at is None
    mine = live_call(agent, "CA-mine", me.pk)
    instance("dead", beat_ago_s=instances.STALE_S + 30)
    lost = live_call(agent, "CA-lost", "dead")
    call_command("reconcile_calls")
    assert "1 call(s) closed as server-lost" in capsys.readouterr().out
    instance("dead2", beat_ago_s=instances.STALE_S + 30)
    lost2 = live_call(agent, "CA-lost2", "dead2")
    assert reconcile_lost_calls.apply().get() == 1
    assert finished == [lost.pk, lost2.pk]
    mine.refresh_from_db()
    assert mine.status == "in-progress"


def ringing_call(agent, cid: str, age_s: float, direction: str = "inbound") -> Call:
    return Call.objects.create(workspace=agent.workspace, agent=agent, carrier="twilio", carrier_call_id=cid,
                               direction=direction, status=Call.Status.RINGING, stream_nonce="n0nce",
                               created_at=timezone.now() - timedelta(seconds=age_s))


def test_a_call_whose_media_never_started_is_closed_as_no_media_and_a_fresh_ringing_call_is_left_alone(agent, finished):
    stuck = ringing_call(agent, "CA-stuck", instances.NO_MEDIA_S + 30)
    fresh = ringing_call(agent, "CA-fresh", 5)
    # An outbound call may ring at the callee's for minutes: past the inbound limit it is still left alone.
    dialling = ringing_call(agent, "CA-dialling", instances.NO_MEDIA_S + 30, direction="outbound")
    forgotten = ringing_call(agent, "CA-forgotten", instances.OUTBOUND_NO_MEDIA_S + 30, direction="outbound")

    assert sorted(instances.close_unstarted()) == sorted([stuck.pk, forgotten.pk])
    assert instances.close_unstarted() == []  # once

    for call in (stuck, fresh, dialling, forgotten):
        call.refresh_from_db()
    assert (stuck.status, stuck.end_reason, stuck.stream_nonce) == ("failed", "no-media", "") and stuck.ended_at
    assert (forgotten.status, forgotten.end_reason) == ("failed", "no-media")
    event = CallEvent.objects.get(call=stuck)
    assert event.kind == "no_media" and event.detail["ringing_s"] >= instances.NO_MEDIA_S
    assert sorted(finished) == sorted([stuck.pk, forgotten.pk])  # their post-call work was started
    assert (fresh.status, fresh.end_reason, fresh.ended_at) == ("ringing", "", None)
    assert dialling.status == "ringing"
    assert not CallEvent.objects.filter(call__in=[fresh, dialling]).exists()


def test_the_command_and_the_beat_task_close_calls_whose_media_never_started(agent, finished, capsys):
    stuck = ringing_call(agent, "CA-stuck", instances.NO_MEDIA_S + 30)
    call_command("reconcile_calls")
    assert "1 call(s) closed as no-media" in capsys.readouterr().out
    stuck2 = ringing_call(agent, "CA-stuck2", instances.NO_MEDIA_S + 30)
    assert reconcile_lost_calls.apply().get() == 1
    assert finished == [stuck.pk, stuck2.pk]


def test_at_exit_this_processes_open_calls_are_ended_as_server_shutdown_and_no_other(agent, finished):
    instance("other", beat_ago_s=1)
    mine = live_call(agent, "CA-mine", instances.instance_id(), answered_ago_s=2)
    theirs = live_call(agent, "CA-theirs", "other", answered_ago_s=2)
    ended = live_call(agent, "CA-ended", instances.instance_id())
    Call.objects.filter(pk=ended.pk).update(status="completed", end_reason="caller-hung-up")

    assert instances.close_own_calls("server-shutdown", {"drain_s": 3}) == [mine.pk]

    for call in (mine, theirs, ended):
        call.refresh_from_db()
    assert (mine.status, mine.end_reason) == ("completed", "server-shutdown") and mine.ended_at
    event = CallEvent.objects.get(call=mine)
    assert event.kind == "shutdown" and event.detail["ended_by"] == "shutdown" and event.detail["drain_s"] == 3
    assert finished == [mine.pk]
    assert (theirs.status, ended.status, ended.end_reason) == ("in-progress", "completed", "caller-hung-up")

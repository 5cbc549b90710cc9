"""Running scenarios: each one a real call to the agent, placed the way its carrier would place it.

Why over a real socket to the server, not in-process through the consumer: a test must cross what a caller's call
crosses — the signed webhook, the TwiML/TeXML answer, the stream token, the media socket, the consumer, the session,
the recorder writing the Call — and a run started from the dashboard tests the very server that answers the
customer's calls (its providers, its workers, its load), not a copy assembled in the runner. The caller is the
product's simulated carrier (suites.caller); it speaks with a neural voice in real time.

A run is parsed in full before anything is called (a malformed scenario runs nothing), then its scenarios are
called at most `concurrency` at a time. Each call is marked as a test call (Call.is_test) as soon as the webhook
created it, hung up at the scenario's time limit, and judged on the stored call once it has ended.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from datetime import timedelta
from dataclasses import dataclass, field

import httpx
from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone

from calls.models import Agent, Call, PhoneNumber, Turn

from .caller.peers import PEERS, SimulationError
from .caller.simulated import SimulatedCaller, Step
from .caller.speech import caller_speech
from .models import ScenarioResult, SuiteRun
from .persona import PersonaCaller, PersonaError
from .scenario import MAX_TIME_LIMIT_S, Scenario, parse_many
from .snapshot import CallSnapshot, snapshot_of

log = logging.getLogger(__name__)

ENDED = (Call.Status.COMPLETED, Call.Status.FAILED, Call.Status.REJECTED)
SETTLE_S = 10.0  # after the caller hangs up: how long the server may take to store the call's end
ANSWER_GRACE_S = 15.0  # beyond the time limit, for the webhook and the closing of the socket


def local_base_url() -> str:
    """The server this process belongs to, on loopback: where a suite started here places its calls."""
    return f"http://127.0.0.1:{settings.PORT}"


@dataclass
class Outcome:
    status: str
    failures: list[str] = field(default_factory=list)
    snapshot: CallSnapshot | None = None
    call_pk: int | None = None
    duration_s: float = 0.0


# ---------------------------------------------------------------------------------------------------- one call


def caller_steps(scenario: Scenario, rate: int) -> list[Step]:
    """The scenario's lines as the simulated caller's steps, speech synthesised at the carrier's rate."""
    steps = []
    for line in scenario.lines:
        pause_ms = int(line.pause_s * 1000)
        if line.dtmf:
            steps.append(Step(text=f"[key {line.dtmf}]", digit=line.dtmf, pause_ms=pause_ms))
        elif line.say:
            pcm = caller_speech(line.say, rate, **line.voice.speech_options())
            steps.append(Step(text=line.say, pcm=pcm, barge_after_ms=line.barge_in_after_ms, pause_ms=pause_ms))
        else:
            steps.append(Step(text="[silence]", pause_ms=pause_ms))
    return steps


async def call_once(scenario: Scenario, to_number: str, base_url: str) -> Outcome:
    """Place the scenario's call, wait for the server to store its end, and judge it."""
    started = time.monotonic()
    peer = PEERS[scenario.carrier](base_url, to_number)
    steps = await asyncio.to_thread(caller_steps, scenario, peer.sample_rate)
    persona = None
    if scenario.persona is not None:
        try:
            persona = PersonaCaller(scenario.persona, peer.sample_rate, scenario.caller.speech_options(),
                                    _stored_turns(scenario.carrier, peer.call_id))
        except PersonaError as exc:
            return Outcome(ScenarioResult.Status.ERROR, [str(exc)])
    caller = SimulatedCaller(peer, steps, timeout_s=scenario.time_limit_s,
                             next_step=persona.next_step if persona else None)
    try:
        result = await asyncio.wait_for(caller.run(on_answered=_marker(scenario.carrier)),
                                        scenario.time_limit_s + ANSWER_GRACE_S)
    except (SimulationError, OSError, httpx.HTTPError) as exc:
        return Outcome("error", [f"the call could not be placed: {exc}"], duration_s=time.monotonic() - started)
    except TimeoutError:
        result = caller.result
        result.error = "timeout"
    call = await _ended_call(scenario.carrier, peer.call_id)
    snap = await sync_to_async(snapshot_of)(call) if call else None
    elapsed = time.monotonic() - started
    if call is None:
        return Outcome("error", ["the server stored no call for it (is base URL this server, with this database?)"],
                       duration_s=elapsed)
    if result.error == "timeout":
        so_far = snap.transcript_text(last=6) if snap and snap.turns else "nothing was said"
        failure = f"timed out after {scenario.time_limit_s:g} s; so far:\n{so_far}"
        return Outcome(ScenarioResult.Status.TIMED_OUT, [failure], snap, call.pk, elapsed)
    failures = await asyncio.to_thread(judge, scenario, snap)
    status = ScenarioResult.Status.FAILED if failures else ScenarioResult.Status.PASSED
    return Outcome(status, failures, snap, call.pk, elapsed)


def judge(scenario: Scenario, snap: CallSnapshot) -> list[str]:
    """Every expectation not met, in the scenario's order."""
    return [failure for failure in (e.check(snap) for e in scenario.expectations) if failure]


def _stored_turns(carrier: str, call_id: str):
    def turns() -> list[tuple[str, str]]:
        return list(Turn.objects.filter(call__carrier=carrier, call__carrier_call_id=call_id)
                    .order_by("index").values_list("role", "text"))

    return sync_to_async(turns)


def _marker(carrier: str):
    async def mark_test_call(call_id: str) -> None:
        await sync_to_async(Call.objects.filter(carrier=carrier, carrier_call_id=call_id).update)(is_test=True)

    return mark_test_call


async def _ended_call(carrier: str, call_id: str) -> Call | None:
    """The stored call once the server has written its end (or whatever it holds after SETTLE_S)."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        call = await sync_to_async(Call.objects.filter(carrier=carrier, carrier_call_id=call_id).first)()
        if (call is not None and call.status in ENDED) or time.monotonic() > deadline:
            return call
        await asyncio.sleep(0.2)


# ---------------------------------------------------------------------------------------------------- a run


def start_run(agent: Agent, sources: list[tuple[str, str]], *, trigger: str = "cli", concurrency: int = 2) -> SuiteRun:
    """Parse every scenario (ScenarioError, and nothing stored, if one is malformed), then store the run and one
    pending result per scenario."""
    scenarios = parse_many(sources)
    run = SuiteRun.objects.create(agent=agent, flow_version=agent.flow_version, agent_saved_at=agent.updated_at,
                                  trigger=trigger, concurrency=max(1, concurrency))
    for scenario, (_, text) in zip(scenarios, sources, strict=True):
        ScenarioResult.objects.create(run=run, name=scenario.name, source=text)
    return run


async def execute_run(run_id: int, base_url: str | None = None) -> SuiteRun:
    """Call every pending scenario of the run, `run.concurrency` at a time; store each result as it comes."""
    run = await sync_to_async(SuiteRun.objects.select_related("agent").get)(pk=run_id)
    results = await sync_to_async(list)(run.results.order_by("pk"))
    numbers = await sync_to_async(_numbers)(run.agent)
    gate = asyncio.Semaphore(run.concurrency)

    async def one(result: ScenarioResult) -> None:
        async with gate:
            await _run_one(result, numbers, base_url or local_base_url())

    await asyncio.gather(*(one(r) for r in results))
    failed = await sync_to_async(run.results.exclude(status=ScenarioResult.Status.PASSED).exists)()
    run.status = SuiteRun.Status.FAILED if failed else SuiteRun.Status.PASSED
    run.finished_at = timezone.now()
    await sync_to_async(run.save)(update_fields=["status", "finished_at"])
    return run


def expire_if_stale(run: SuiteRun) -> bool:
    """A run still "running" long after even its slowest possible end (the process running it stopped: a restart,
    a crash) is closed as failed, its unfinished scenarios as errors, so no run looks busy forever."""
    if run.status != SuiteRun.Status.RUNNING:
        return False
    rounds = math.ceil(max(1, run.results.count()) / max(1, run.concurrency))
    latest_end = run.started_at + timedelta(seconds=rounds * (MAX_TIME_LIMIT_S + ANSWER_GRACE_S + SETTLE_S + 60))
    if timezone.now() < latest_end:
        return False
    run.results.filter(status__in=(ScenarioResult.Status.PENDING, ScenarioResult.Status.RUNNING)).update(
        status=ScenarioResult.Status.ERROR, failures=["the run was interrupted (the server stopped while it ran)"])
    run.status, run.finished_at = SuiteRun.Status.FAILED, timezone.now()
    run.save(update_fields=["status", "finished_at"])
    return True


def run_blocking(run_id: int, base_url: str | None = None) -> SuiteRun:
    return asyncio.run(execute_run(run_id, base_url))


def _numbers(agent: Agent) -> dict[str, str]:
    return {n.carrier: n.e164 for n in PhoneNumber.objects.filter(agent=agent).order_by("pk")}


async def _run_one(result: ScenarioResult, numbers: dict[str, str], base_url: str) -> None:
    scenario = parse_many([(result.name, result.source)])[0]
    result.status = ScenarioResult.Status.RUNNING
    await sync_to_async(result.save)(update_fields=["status"])
    number = numbers.get(scenario.carrier)
    if number is None:
        outcome = Outcome(ScenarioResult.Status.ERROR,
                          [f"the agent has no {scenario.carrier} number to call: bind one on the Numbers page"])
    else:
        try:
            outcome = await call_once(scenario, number, base_url)
        except Exception as exc:  # noqa: BLE001 - one scenario's crash must not leave the others pending
            log.exception("suite run %s: scenario %r crashed", result.run_id, result.name)
            outcome = Outcome(ScenarioResult.Status.ERROR, [f"the runner failed: {exc!r}"])
    result.status = outcome.status
    result.failures = outcome.failures
    result.transcript = outcome.snapshot.transcript() if outcome.snapshot else []
    result.call_id = outcome.call_pk
    result.duration_s = round(outcome.duration_s, 1)
    await sync_to_async(result.save)()

"""The watchdog alone, on a fake clock: each check moves the clock on by one second."""

from __future__ import annotations

import asyncio

import pytest

from calls.session.watchdog import Watchdog


class Script:
    """The session's side: a clock that ticks a second per check, and what the watchdog asked for."""

    def __init__(self, checks: int) -> None:
        self.now = 1000.0
        self.checks = checks
        self.engaged_at: set[float] = set()
        self.silences: list[tuple[float, int]] = []
        self.time_up: list[float] = []
        self.events: list[tuple[str, dict]] = []
        self.on_check = None

    def clock(self) -> float:
        return self.now

    def active(self) -> bool:
        if self.checks <= 0:
            return False
        self.checks -= 1
        self.now += 1.0
        if self.on_check is not None:
            self.on_check(self.now)
        return True

    def engaged(self) -> bool:
        return self.now in self.engaged_at

    async def silence(self, count: int) -> None:
        self.silences.append((self.now, count))

    async def limit(self) -> None:
        self.time_up.append(self.now)

    def event(self, kind: str, detail: dict) -> None:
        self.events.append((kind, detail))

    def watchdog(self, silence_timeout_s=3.0, max_reprompts=2, max_duration_s=600.0) -> Watchdog:
        return Watchdog(silence_timeout_s=silence_timeout_s, max_reprompts=max_reprompts,
                        max_duration_s=max_duration_s, active=self.active, engaged=self.engaged,
                        on_silence=self.silence, on_time_up=self.limit, event=self.event, interval_s=0,
                        clock=self.clock)


@pytest.mark.asyncio
async def test_a_silent_caller_is_reprompted_then_the_brain_is_told_of_each_further_silence():
    script = Script(checks=10)
    await asyncio.wait_for(script.watchdog().run(), 2)
    assert script.silences == [(1003.0, 0), (1006.0, 1), (1009.0, 2)]
    # Re-prompt events only while fewer than max_reprompts were made: the third silence is the brain's goodbye.
    assert script.events == [("reprompt", {"count": 1}), ("reprompt", {"count": 2})]
    assert script.time_up == []


@pytest.mark.asyncio
async def test_silence_is_not_counted_while_someone_is_engaged():
    script = Script(checks=8)
    script.engaged_at = {1002.0, 1003.0, 1004.0}  # the agent talks, say
    await asyncio.wait_for(script.watchdog().run(), 2)
    assert script.silences == [(1007.0, 0)]  # three seconds after the last engaged check


@pytest.mark.asyncio
async def test_something_said_restarts_the_silence():
    script = Script(checks=6)
    dog = script.watchdog()
    script.on_check = lambda now: dog.touch() if now == 1002.0 else None
    await asyncio.wait_for(dog.run(), 2)
    assert script.silences == [(1005.0, 0)]


@pytest.mark.asyncio
async def test_the_caller_speaking_makes_the_next_silence_the_first_again():
    script = Script(checks=9)
    dog = script.watchdog()
    script.on_check = lambda now: dog.caller_spoke() if now == 1005.0 else None
    await asyncio.wait_for(dog.run(), 2)
    assert [count for _, count in script.silences] == [0, 0, 1]
    assert script.events == [("reprompt", {"count": 1})] * 2 + [("reprompt", {"count": 2})]


@pytest.mark.asyncio
async def test_the_maximum_duration_ends_the_watch_and_is_recorded():
    script = Script(checks=100)
    await asyncio.wait_for(script.watchdog(silence_timeout_s=60, max_duration_s=5).run(), 2)
    assert script.time_up == [1005.0] and script.silences == []
    assert script.events == [("info", {"limit": "max_duration", "seconds": 5})]
    assert script.checks == 95  # it stopped right there


@pytest.mark.asyncio
async def test_the_duration_limit_applies_while_someone_is_talking():
    script = Script(checks=100)
    script.engaged_at = {1000.0 + s for s in range(100)}
    await asyncio.wait_for(script.watchdog(max_duration_s=4).run(), 2)
    assert script.time_up == [1004.0]


@pytest.mark.asyncio
async def test_the_watch_ends_when_the_call_stops_taking_turns():
    script = Script(checks=2)
    await asyncio.wait_for(script.watchdog().run(), 2)
    assert script.silences == [] and script.time_up == [] and script.checks == 0


@pytest.mark.asyncio
async def test_the_real_clock_and_sleep_are_the_defaults():
    calls = []

    async def silence(count):
        calls.append(count)

    active = iter([True] * 6 + [False])
    dog = Watchdog(silence_timeout_s=0.05, max_reprompts=1, max_duration_s=60, active=lambda: next(active),
                   engaged=lambda: False, on_silence=silence, on_time_up=silence, event=lambda *a: None,
                   interval_s=0.02)
    await asyncio.wait_for(dog.run(), 2)
    assert calls and calls[0] == 0

"""The call's watchdog: re-prompts a silent caller, and ends a call that reached its maximum duration.

Checked a few times a second (`interval_s`), which is precise enough for timeouts counted in seconds and costs
nothing per frame. Silence is counted only while nobody is engaged: not while the agent speaks, a turn is being
answered, or the caller is speaking.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class Watchdog:
    def __init__(
        self,
        *,
        silence_timeout_s: float,
        max_reprompts: int,
        max_duration_s: float,
        active: Callable[[], bool],
        engaged: Callable[[], bool],
        on_silence: Callable[[int], Awaitable[None]],
        on_time_up: Callable[[], Awaitable[None]],
        event: Callable[[str, dict], None],
        interval_s: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`active()`: the call still takes turns (the watchdog stops when it does not). `engaged()`: someone is
        speaking or a turn is being answered. `on_silence(n)`: the caller said nothing for `silence_timeout_s`, for
        the n-th time in a row (0-based; the brain re-prompts while n < max_reprompts, then says goodbye).
        `on_time_up()`: the call lasted `max_duration_s`. `event(kind, detail)` records a call event."""
        self.silence_timeout_s = silence_timeout_s
        self.max_reprompts = max_reprompts
        self.max_duration_s = max_duration_s
        self._active = active
        self._engaged = engaged
        self._on_silence = on_silence
        self._on_time_up = on_time_up
        self._event = event
        self.interval_s = interval_s
        self._clock = clock
        self.started = clock()
        self.idle_since = self.started
        self.reprompts = 0  # silences in a row since the caller last spoke or pressed a key

    def touch(self) -> None:
        """Something was just said: silence counts from now."""
        self.idle_since = self._clock()

    def caller_spoke(self) -> None:
        """The caller spoke or pressed a key: the next silence is the first again."""
        self.reprompts = 0

    async def run(self) -> None:
        while self._active():
            await asyncio.sleep(self.interval_s)
            now = self._clock()
            if now - self.started >= self.max_duration_s:
                self._event("info", {"limit": "max_duration", "seconds": self.max_duration_s})
                await self._on_time_up()
                return
            if self._engaged():
                self.idle_since = now
                continue
            if now - self.idle_since >= self.silence_timeout_s:
                self.idle_since = now
                if self.reprompts < self.max_reprompts:
                    self._event("reprompt", {"count": self.reprompts + 1})
                await self._on_silence(self.reprompts)
                self.reprompts += 1

"""The bench's measuring processes (bench/loadgen.py, bench/webhook.py): `python -m bench.X SPEC.json OUT.json`.

Each runs one coroutine over the JSON spec its parent wrote and writes the JSON result back; on uvloop, because
the client's own CPU competes with the server under test for the same two cores.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable


def run(main: Callable[[dict], Awaitable[dict]], spec: dict) -> dict:
    try:
        import uvloop
    except ImportError:  # bench/requirements.txt brings it; plain asyncio still works, only dearer
        return asyncio.run(main(spec))
    return uvloop.run(main(spec))


def serve(main: Callable[[dict], Awaitable[dict]]) -> None:
    """`main` over the spec in argv[1], its result into argv[2]."""
    with open(sys.argv[1]) as fh:
        spec = json.load(fh)
    result = run(main, spec)
    with open(sys.argv[2], "w") as fh:
        json.dump(result, fh)


class LoopLag:
    """How late this process's event loop wakes a 5 ms timer, sampled all along (ms): a hop timed across processes
    also carries the measuring processes' own lateness, reported beside it."""

    def __init__(self, every_s: float = 0.005) -> None:
        self.every_s = every_s
        self.samples: list[tuple[float, float]] = []  # (monotonic time, ms late)
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            due = time.monotonic() + self.every_s
            await asyncio.sleep(self.every_s)
            self.samples.append((due, round((time.monotonic() - due) * 1000, 2)))

    def stop(self) -> list[tuple[float, float]]:
        if self._task is not None:
            self._task.cancel()
        return self.samples


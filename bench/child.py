"""The bench's measuring processes (bench/loadgen.py, bench/webhook.py): `python -m bench.X SPEC.json OUT.json`.

Each runs one coroutine over the JSON spec its parent wrote and writes the JSON result back; on uvloop, because
the client's own CPU competes with the server under test for the same two cores.
"""

from __future__ import annotations

import asyncio
import json
import sys
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

"""The caller's page is also the transcript view: turns and events ride the media socket as they are recorded."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from .media import BrowserSerializer

log = logging.getLogger("calls.carriers.browser")


def with_transcript(
    publish: Callable[[str, dict], None] | None,
    serializer: BrowserSerializer,
    send: Callable[[str], Awaitable[None]],
) -> Callable[[str, dict], None]:
    """The call recorder's `on_written` for a browser call: the live monitor as usual, and the caller's page."""
    pending: set[asyncio.Task] = set()

    def written(kind: str, data: dict) -> None:
        task = asyncio.get_running_loop().create_task(_send(send, serializer.encode_transcript(kind, data)))
        pending.add(task)
        task.add_done_callback(pending.discard)
        if publish is not None:
            publish(kind, data)

    return written


async def _send(send: Callable[[str], Awaitable[None]], text: str) -> None:
    try:
        await send(text)
    except Exception as exc:  # the page may be gone; the call record is written regardless
        log.info("transcript update not delivered: %r", exc)

"""Live call updates for the dashboard, over a Channels group (crosses processes when the Redis layer is on)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from channels.layers import get_channel_layer

from .models import Call

log = logging.getLogger("calls.live")


def group_name(workspace_id: int) -> str:
    return f"live.{workspace_id}"


def publisher_for(call: Call) -> Callable[[str, dict], None]:
    """A callback the recorder calls after each write; sends a typed message to the workspace's live group."""
    layer = get_channel_layer()
    group = group_name(call.workspace_id)
    call_ref = {"id": call.pk, "carrier_call_id": call.carrier_call_id, "carrier": call.carrier,
                "from": call.from_number, "to": call.to_number}

    def publish(kind: str, data: dict) -> None:
        if layer is None:
            return
        message = {"type": "call.update", "call": call_ref, "kind": kind, "data": data}
        task = asyncio.get_running_loop().create_task(_send(layer, group, message))
        _pending.add(task)
        task.add_done_callback(_pending.discard)

    return publish


_pending: set[asyncio.Task] = set()


async def _send(layer, group: str, message: dict) -> None:
    try:
        await asyncio.wait_for(layer.group_send(group, message), timeout=2.0)
    except Exception as exc:  # the live view is best effort; a dead Redis must not touch the call
        log.warning("live update to %s failed: %r", group, exc)

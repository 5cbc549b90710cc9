"""Live call updates for the dashboard, over a Channels group (crosses processes when the Redis layer is on).

Best effort: a failing layer (Redis gone) never touches the call. But it must not fail silently either: every send
is counted in `HEALTH`, which `/healthz` and the live page's health endpoint report, so the dashboard can say its
live view is degraded. `probe()` checks the layer on demand, so recovery shows even when no call is publishing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from channels.layers import get_channel_layer

from .models import Call

log = logging.getLogger("calls.live")

SEND_TIMEOUT_S = 2.0
PROBE_GROUP = "live.health"  # no consumer joins it: a probe only proves the layer takes a group_send


def group_name(workspace_id: int) -> str:
    return f"live.{workspace_id}"


@dataclass
class LayerHealth:
    """This process's view of the channel layer, from its own sends (each process tracks its own)."""

    sent: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    last_error: str = ""
    last_failure_at: float | None = None  # time.time()
    last_success_at: float | None = None
    last_attempt_at: float | None = None

    @property
    def degraded(self) -> bool:
        return self.consecutive_failures > 0

    def succeeded(self) -> None:
        if self.consecutive_failures:
            log.warning("live updates recovered after %d failed sends", self.consecutive_failures)
        self.sent += 1
        self.consecutive_failures = 0
        self.last_success_at = self.last_attempt_at = time.time()

    def failed(self, exc: BaseException) -> None:
        self.failures += 1
        self.consecutive_failures += 1
        self.last_error = (repr(exc) if not isinstance(exc, TimeoutError) else
                           f"no answer within {SEND_TIMEOUT_S:.0f}s")[:300]
        self.last_failure_at = self.last_attempt_at = time.time()
        # The first failure of an outage, then every 50th: a dead Redis must not flood the log either.
        if self.consecutive_failures == 1 or self.consecutive_failures % 50 == 0:
            log.warning("live updates degraded (%d failed sends in a row): %s", self.consecutive_failures,
                        self.last_error)

    def as_dict(self) -> dict:
        return {
            "ok": not self.degraded,
            "degraded": self.degraded,
            "consecutive_failures": self.consecutive_failures,
            "failures": self.failures,
            "sent": self.sent,
            "last_error": self.last_error,
            "last_failure_at": self.last_failure_at,
            "last_success_at": self.last_success_at,
        }


HEALTH = LayerHealth()


def health() -> dict:
    """The live layer's health in this process, JSON-ready."""
    return {"layer": _layer_name(), **HEALTH.as_dict()}


async def probe(timeout_s: float = 1.0) -> dict:
    """Send one message through the layer now (recording the outcome), then report `health()`."""
    layer = get_channel_layer()
    if layer is not None:
        await _send(layer, PROBE_GROUP, {"type": "live.probe"}, timeout_s)
    return health()


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


async def _send(layer, group: str, message: dict, timeout_s: float = SEND_TIMEOUT_S) -> None:
    try:
        await asyncio.wait_for(layer.group_send(group, message), timeout=timeout_s)
    except Exception as exc:  # the live view is best effort; a dead Redis must not touch the call
        HEALTH.failed(exc)
    else:
        HEALTH.succeeded()


def _layer_name() -> str:
    layer = get_channel_layer()
    return type(layer).__name__ if layer is not None else "none"

"""TRANSITIONAL — delete once calls/stream_end.py and the carriers' outbound hooks send
`calls.signals.call_finished` themselves (the carriers branch does that).

The post-call work moved to `automation.tasks`; automation queues it when `call_finished` is sent. Until the
senders send it, their `enqueue_post_call(call_id)` lands here and is turned into that signal. This module
imports nothing above `calls.models` / `calls.signals`.
"""

from __future__ import annotations

from .models import Call
from .signals import call_finished


def enqueue_post_call(call_id: int) -> None:
    call_finished.send(sender=Call, call_id=call_id)

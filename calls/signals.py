"""Signals the call engine sends, so that the layers above it (post-call automation) can act without the engine
importing them.
"""

from __future__ import annotations

from django.dispatch import Signal

#: A call has ended and its record is final: `call_id` (the Call's pk). Sent once per end, after the row is
#: committed. automation connects its post-call work (campaign result, redaction, summary, webhooks) to it.
call_finished = Signal()

#: The demo agent was created or refreshed (`seed_demo`): `agent_id`. The test suites load the demo's scenarios.
demo_seeded = Signal()
#: A call was answered and its (first) media stream started: `call_id`. Sent on the DB thread once the call-starting
#: webhook has answered (calls.call_start), only for an agent with a webhook URL; automation sends `call.started`.
call_started = Signal()

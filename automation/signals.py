"""Follow-up work that automation's own modules ask for without importing the Celery tasks that do it (the tasks
import those modules; `receivers` connects the two when the app is ready)."""

from __future__ import annotations

from django.dispatch import Signal

#: A campaign contact's call was settled and committed: `campaign_id`. The campaign wakes to dial what is due.
contact_settled = Signal()

#: An event for an agent with a webhook URL was committed: `call_id` (the event's subject id: a call, a CallEvent
#: for transfer.*, a campaign for campaign.finished) and `event` (events.CATALOGUE; default call.ended).
webhook_due = Signal()

#: The post-call work of a call whose agent wants an analysis was committed: `call_id`. The analysis task runs.
analysis_due = Signal()

"""Follow-up work that automation's own modules ask for without importing the Celery tasks that do it (the tasks
import those modules; `receivers` connects the two when the app is ready)."""

from __future__ import annotations

from django.dispatch import Signal

#: A campaign contact's call was settled and committed: `campaign_id`. The campaign wakes to dial what is due.
contact_settled = Signal()

#: The post-call work of a call whose agent has a webhook URL was committed: `call_id`. The webhook goes out.
webhook_due = Signal()

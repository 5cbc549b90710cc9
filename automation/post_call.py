"""The work after a call, in order: campaign result, PII redaction, summary, statistics, usage and cost, then the
call.ended webhook and the analysis (each its own task).

Every step is safe to repeat (the task may run twice: the consumer and the carrier's status callback both ask for
it). The campaign result comes first so the next dial does not wait for an LLM summary; redaction comes before the
summary, so neither the summary nor the webhook ever carries what was redacted.
"""

from __future__ import annotations

import logging

from django.db import transaction

from calls.models import Call, Turn

from . import analysis, campaigns, redaction, stats, usage
from .signals import analysis_due, webhook_due
from .summary import summarize

log = logging.getLogger("automation.post_call")

UNFINISHED = (Call.Status.RINGING, Call.Status.IN_PROGRESS)


def run(call_id: int) -> str:
    call = Call.objects.select_related("agent").filter(pk=call_id).first()
    if call is None:
        return "gone"
    if call.status in UNFINISHED:
        return "unfinished"  # e.g. a dropped stream that is being resumed: its real end will ask again
    campaigns.settle(call)
    if call.agent is not None and call.agent.redact_pii:
        redact(call)
    turns = list(call.turns.select_related("metrics").order_by("index"))
    if not call.summary:
        call.summary = summarize(call, turns)
        Call.objects.filter(pk=call.pk).update(summary=call.summary)
    stats.roll_up(call, turns)
    usage.record(call, turns)
    # The tasks (automation.tasks) receive these: this module stays below the tasks that run it.
    if call.agent is not None and call.agent.post_call_webhook_url:
        transaction.on_commit(lambda: webhook_due.send(sender=Call, call_id=call.pk))
    if analysis.wanted(call.agent):
        transaction.on_commit(lambda: analysis_due.send(sender=Call, call_id=call.pk))
    return "done"


def redact(call: Call) -> None:
    """Stored transcript, brain state and summary, redacted in place. Idempotent: redacted text stays as it is."""
    with transaction.atomic():
        for turn in call.turns.select_for_update():
            text, heard = redaction.redact(turn.text), redaction.redact(turn.heard_text)
            if (text, heard) != (turn.text, turn.heard_text):
                Turn.objects.filter(pk=turn.pk).update(text=text, heard_text=heard)
        call.brain_state = redaction.redact_tree(call.brain_state)
        call.summary = redaction.redact(call.summary)
        Call.objects.filter(pk=call.pk).update(brain_state=call.brain_state, summary=call.summary)

"""Campaign dialling: which contacts to call now (never more than the cap at once), and each contact's result.

A contact counts against the cap from the moment it is picked (status DIALING) until its call is settled by the
post-call work — so the count is always the database's, whichever worker or process dials. Picking happens under a
row lock on the campaign, which serialises concurrent runs; the dialling itself (REST) happens after the commit.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Min, Q
from django.utils import timezone

from calls.carriers.rest_errors import CarrierRestError, NotConfigured
from calls.models import Call
from calls.outbound import place_call

from .events import CAMPAIGN_FINISHED
from .models import Campaign, Contact
from .signals import contact_settled, webhook_due

log = logging.getLogger("automation.campaigns")

# Results worth another attempt: nobody (human) was reached.
RETRYABLE = {"busy", "no-answer", "failed", "canceled", "machine"}


def result_of(call: Call) -> str:
    if call.answered_by == "machine":
        return "voicemail" if call.end_reason == "machine:message" else "machine"
    if call.end_reason.startswith("carrier:"):
        return call.end_reason.removeprefix("carrier:")
    return "failed" if call.status == Call.Status.FAILED else "completed"


def dial_due(campaign_id: int) -> int:
    """Dial the contacts that are due, up to the free slots; returns how many were dialled."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None or campaign.status != Campaign.Status.RUNNING:
            return 0
        contacts = campaign.contacts
        free = campaign.concurrency_cap - contacts.filter(status=Contact.Status.DIALING).count()
        due = list(contacts.filter(_due()).order_by("attempts", "pk")[: max(free, 0)])
        for contact in due:
            contact.status, contact.attempts = Contact.Status.DIALING, contact.attempts + 1
            contact.save(update_fields=["status", "attempts", "updated_at"])
        if not due and not contacts.filter(status__in=[Contact.Status.PENDING, Contact.Status.DIALING]).exists():
            campaign.status = Campaign.Status.COMPLETED
            campaign.save(update_fields=["status"])
            if campaign.agent.post_call_webhook_url:
                transaction.on_commit(lambda: webhook_due.send(sender=Campaign, call_id=campaign.pk,
                                                               event=CAMPAIGN_FINISHED))
    for contact in due:
        _dial(campaign, contact)
    return len(due)


def _due() -> Q:
    return Q(status=Contact.Status.PENDING) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now()))


def _dial(campaign: Campaign, contact: Contact) -> None:
    try:
        call = place_call(campaign.agent, campaign.carrier, campaign.from_number, contact.number, contact.variables)
    except NotConfigured as exc:
        # Nothing can be dialled until the credentials are set: pause rather than fail every contact in turn.
        log.error("campaign %s paused: %s", campaign.pk, exc)
        Contact.objects.filter(pk=contact.pk).update(status=Contact.Status.PENDING, attempts=F("attempts") - 1)
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.PAUSED)
        return
    except CarrierRestError as exc:
        log.warning("campaign %s: dialling contact %s failed: %s", campaign.pk, contact.pk, exc)
        _after_attempt(campaign, contact, "failed", retry=not exc.permanent)
        return
    Contact.objects.filter(pk=contact.pk).update(call=call, updated_at=timezone.now())


def settle(call: Call) -> Contact | None:
    """The contact whose attempt this call was gets its result (and a retry, if due). Safe to run twice."""
    with transaction.atomic():
        contact = (Contact.objects.select_for_update().select_related("campaign")
                   .filter(call=call, status=Contact.Status.DIALING).first())
        if contact is None:
            return None
        _after_attempt(contact.campaign, contact, result_of(call))
    # Wakes the campaign (automation.tasks.run_campaign receives this: this module stays below the tasks).
    transaction.on_commit(lambda: contact_settled.send(sender=Contact, campaign_id=contact.campaign_id))
    return contact


def _after_attempt(campaign: Campaign, contact: Contact, result: str, retry: bool = True) -> None:
    contact.result = result
    if result not in RETRYABLE:
        contact.status = Contact.Status.DONE
    elif retry and contact.attempts < campaign.max_attempts:
        contact.status = Contact.Status.PENDING
        contact.next_attempt_at = timezone.now() + timedelta(seconds=campaign.retry_delay_s)
    else:
        contact.status = Contact.Status.FAILED
    contact.save(update_fields=["result", "status", "next_attempt_at", "updated_at"])


def seconds_until_due(campaign_id: int) -> float | None:
    """When a slot is free but the next pending contact waits for its retry time: how long. Else None (a call
    ending, or nothing left, is what wakes the campaign)."""
    campaign = Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.RUNNING).first()
    if campaign is None:
        return None
    contacts = campaign.contacts
    if contacts.filter(status=Contact.Status.DIALING).count() >= campaign.concurrency_cap:
        return None
    soonest = contacts.filter(status=Contact.Status.PENDING).aggregate(at=Min("next_attempt_at"))["at"]
    if soonest is None:
        return None
    return max(0.0, (soonest - timezone.now()).total_seconds())


def cancel(campaign_id: int) -> int:
    """Stop a campaign for good: contacts not yet called are marked done with the result `canceled`, the campaign
    completed. Calls already placed go on and settle as usual. Returns how many contacts were canceled."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None or campaign.status == Campaign.Status.COMPLETED:
            return 0
        canceled = campaign.contacts.filter(status=Contact.Status.PENDING).update(
            status=Contact.Status.DONE, result="canceled", next_attempt_at=None, updated_at=timezone.now())
        campaign.status = Campaign.Status.COMPLETED
        campaign.save(update_fields=["status"])
    return canceled

"""The webhook event catalogue: every event voicebot POSTs to an agent's webhook URL, its JSON schema, and how its
body is built. docs/webhooks.md lists the same schemas (a test checks they agree); each body is checked against its
schema in the tests.

Every body has the envelope `{"event", "event_id", "sent_at", ...}`; `event_id` is stable across retries (receivers
deduplicate on it). All are signed alike (`X-Voicebot-Signature`, calls.signing) with the agent's webhook secret.

The subject of an event is a Call (call.*), a CallEvent (transfer.*) or a Campaign (campaign.finished).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from calls.export import call_as_dict
from calls.models import Agent, Call, CallEvent

from .models import Campaign, Contact

CALL_STARTED = "call.started"
CALL_ENDED = "call.ended"
CALL_ANALYZED = "call.analyzed"
TRANSFER_STARTED = "transfer.started"
TRANSFER_FAILED = "transfer.failed"
CAMPAIGN_FINISHED = "campaign.finished"

_STR = {"type": "string"}
_NULLABLE_STR = {"type": ["string", "null"]}
_CALL_REF = {
    "type": "object",
    "required": ["id", "carrier", "carrier_call_id", "direction", "from", "to", "agent", "variables"],
    "properties": {"id": {"type": "integer"}, "carrier": _STR, "carrier_call_id": _STR, "direction": _STR,
                   "from": _STR, "to": _STR, "agent": _NULLABLE_STR, "variables": {"type": "object"}},
}


def _envelope(name: str, **properties) -> dict:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": name,
        "type": "object",
        "required": ["event", "event_id", "sent_at", *properties],
        "properties": {"event": {"const": name}, "event_id": _STR, "sent_at": {"type": "string", "format": "date-time"},
                       **properties},
    }


_COST = {"type": "object", "properties": {"currency": _STR, "total": {"type": "number"}, "lines": {"type": "array"}}}
_ANALYSIS = {
    "type": "object",
    "required": ["fields", "summary", "success", "source"],
    "properties": {"fields": {"type": "object"}, "summary": _STR, "success": {"type": ["boolean", "null"]},
                   "source": {"enum": ["llm", "slots"]}, "invalid": {"type": "array", "items": _STR},
                   "error": _STR, "model": _STR, "analyzed_at": _STR},
}
_TRANSFER = {"type": "object", "required": ["target"],
             "properties": {"target": _STR, "reason": _STR, "error": _STR, "at": _STR}}


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    schema: dict
    subject: type  # Call, CallEvent or Campaign


CATALOGUE: dict[str, EventType] = {e.name: e for e in [
    EventType(CALL_STARTED, "The call was answered and its media stream started (once per call, not on a resumed "
              "stream).", _envelope(CALL_STARTED, call=_CALL_REF), Call),
    EventType(CALL_ENDED, "The call ended and its post-call work (redaction, summary, statistics, cost) is done. "
              "Carries the transcript, events, summary and cost.",
              _envelope(CALL_ENDED, call={**_CALL_REF, "required": [*_CALL_REF["required"], "turns", "summary"],
                                          "properties": {**_CALL_REF["properties"], "turns": {"type": "array"},
                                                         "events": {"type": "array"}, "summary": _STR,
                                                         "answered_by": _STR, "cost": _COST}}), Call),
    EventType(CALL_ANALYZED, "The post-call analysis is stored: the agent's analysis fields, summary and success.",
              _envelope(CALL_ANALYZED, call=_CALL_REF, analysis=_ANALYSIS), Call),
    EventType(TRANSFER_STARTED, "The agent asked the carrier to transfer the caller.",
              _envelope(TRANSFER_STARTED, call=_CALL_REF, transfer=_TRANSFER), CallEvent),
    EventType(TRANSFER_FAILED, "A transfer the agent announced did not happen; the call goes on with the agent.",
              _envelope(TRANSFER_FAILED, call=_CALL_REF, transfer=_TRANSFER), CallEvent),
    EventType(CAMPAIGN_FINISHED, "Every contact of an outbound campaign is settled (reached, or out of attempts).",
              _envelope(CAMPAIGN_FINISHED, campaign={
                  "type": "object", "required": ["id", "name", "agent", "contacts"],
                  "properties": {"id": {"type": "integer"}, "name": _STR, "agent": _NULLABLE_STR,
                                 "contacts": {"type": "object", "description": "Contacts per status."}}}), Campaign),
]}


def event_id(name: str, subject_id: int) -> str:
    return f"{name}:{subject_id}"


def _call_ref(call: Call) -> dict:
    return {"id": call.pk, "carrier": call.carrier, "carrier_call_id": call.carrier_call_id,
            "direction": call.direction, "from": call.from_number, "to": call.to_number,
            "agent": call.agent.name if call.agent else None,
            "variables": {k: v for k, v in (call.variables or {}).items() if not str(k).startswith("_")}}


def _data(name: str, subject: Any) -> dict:
    if name == CALL_STARTED:
        return {"call": _call_ref(subject)}
    if name == CALL_ENDED:
        return {"call": {**call_as_dict(subject), **_call_ref(subject), "summary": subject.summary,
                         "answered_by": subject.answered_by, "cost": subject.cost}}
    if name == CALL_ANALYZED:
        return {"call": _call_ref(subject), "analysis": subject.analysis}
    if name in (TRANSFER_STARTED, TRANSFER_FAILED):
        detail = subject.detail or {}
        return {"call": _call_ref(subject.call), "transfer": {
            "target": str(detail.get("target") or detail.get("to") or ""),
            "reason": str(detail.get("reason") or detail.get("summary") or ""),
            **({"error": str(detail.get("error") or detail.get("reason") or "")} if name == TRANSFER_FAILED else {}),
            "at": subject.at.isoformat()}}
    if name == CAMPAIGN_FINISHED:
        counts = {s: 0 for s in Contact.Status.values}
        for status in subject.contacts.values_list("status", flat=True):
            counts[status] += 1
        return {"campaign": {"id": subject.pk, "name": subject.name, "agent": subject.agent.name,
                             "contacts": counts}}
    raise KeyError(name)


def body(name: str, subject: Any) -> bytes:
    data = {"event": name, "event_id": event_id(name, subject.pk), "sent_at": timezone.now().isoformat(),
            **_data(name, subject)}
    return json.dumps(data, cls=DjangoJSONEncoder).encode()


def agent_of(subject: Any) -> Agent | None:
    if isinstance(subject, CallEvent):
        return subject.call.agent if subject.call is not None else None
    return subject.agent


def call_of(subject: Any) -> Call | None:
    if isinstance(subject, Call):
        return subject
    if isinstance(subject, CallEvent):
        return subject.call
    return None


def transfer_event(event: CallEvent) -> str | None:
    """Which transfer.* event a recorded CallEvent is, if any."""
    if event.kind == CallEvent.Kind.TRANSFER:
        return TRANSFER_STARTED
    if event.kind == CallEvent.Kind.ACTION_FAILED and "transfer" in str((event.detail or {}).get("action", "")):
        return TRANSFER_FAILED
    return None

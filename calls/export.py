"""A call and everything recorded about it, as plain data (export_call, the JSON API)."""

from __future__ import annotations

from .models import Call

METRIC_FIELDS = ("endpoint_ms", "stt_final_ms", "brain_first_text_ms", "tts_first_audio_ms", "first_frame_sent_ms",
                 "end_to_end_ms", "stt_ms", "brain_ms", "tts_ms", "providers")


def call_as_dict(call: Call) -> dict:
    turns = []
    for turn in call.turns.select_related("metrics").prefetch_related("knowledge_sources").order_by("index"):
        metrics = getattr(turn, "metrics", None)
        turns.append({
            "index": turn.index, "role": turn.role, "text": turn.text, "heard_text": turn.heard_text,
            "interrupted": turn.interrupted, "node": turn.node,
            "started_at": turn.started_at.isoformat(), "ended_at": turn.ended_at.isoformat(),
            "metrics": {f: getattr(metrics, f) for f in METRIC_FIELDS} if metrics else None,
            # Knowledge chunks the reply drew on (knowledge.TurnSource).
            "sources": [{"document": s.title, "document_id": s.document_id, "chunk": s.chunk_id, "score": s.score}
                        for s in turn.knowledge_sources.all()],
        })
    return {
        "carrier": call.carrier, "carrier_call_id": call.carrier_call_id, "stream_id": call.stream_id,
        "agent": call.agent.name if call.agent else None, "from": call.from_number, "to": call.to_number,
        "direction": call.direction, "status": call.status, "end_reason": call.end_reason,
        "flow_version": call.flow_version,
        "created_at": call.created_at.isoformat(),
        "answered_at": call.answered_at.isoformat() if call.answered_at else None,
        "ended_at": call.ended_at.isoformat() if call.ended_at else None,
        # Per-call variables (bookkeeping keys starting with "_" left out), post-call analysis, usage and cost.
        "variables": {k: v for k, v in (call.variables or {}).items() if not str(k).startswith("_")},
        "analysis": call.analysis, "usage": call.usage, "cost": call.cost,
        "turns": turns,
        "events": [{"kind": e.kind, "detail": e.detail, "at": e.at.isoformat()} for e in call.events.all()],
    }

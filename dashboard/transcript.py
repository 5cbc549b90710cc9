"""A call's transcript as a timeline for the call page: turns and events in time order, interruptions split."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from calls.models import Call, CallEvent, Turn

from .analytics import waterfall_segments

METRIC_FIELDS = (
    "endpoint_ms",
    "stt_final_ms",
    "brain_first_text_ms",
    "tts_first_audio_ms",
    "first_frame_sent_ms",
    "end_to_end_ms",
    "stt_ms",
    "brain_ms",
    "tts_ms",
)
ALERT_EVENTS = {
    CallEvent.Kind.ERROR,
    CallEvent.Kind.PROVIDER_FAILURE,
    CallEvent.Kind.BAD_INPUT,
    CallEvent.Kind.OVERFLOW,
    "action_failed",  # a transfer or hang-up the agent announced did not happen (calls.session)
}


def split_heard(text: str, heard: str) -> tuple[str, str]:
    """(the part of `text` the caller heard, the unheard rest) for an interrupted agent turn.

    `heard` is normally a prefix of `text` (whole sentences/chunks confirmed by carrier marks); if it is not
    (a provider rewrote whitespace, say), fall back to the longest common prefix of words.
    """
    text, heard = text or "", (heard or "").strip()
    if not heard:
        return "", text
    if text.startswith(heard):
        return heard, text[len(heard) :]
    words, heard_words = text.split(), heard.split()
    common = 0
    while common < min(len(words), len(heard_words)) and words[common] == heard_words[common]:
        common += 1
    return " ".join(words[:common]), (" " if common else "") + " ".join(words[common:])


@dataclass
class TimelineItem:
    at: datetime
    kind: str  # "turn" | "event"
    turn: Turn | None = None
    event: CallEvent | None = None
    heard: str = ""
    unheard: str = ""
    alert: bool = False


def timeline(call: Call) -> list[TimelineItem]:
    items: list[TimelineItem] = []
    for turn in call.turns.select_related("metrics").order_by("index"):
        item = TimelineItem(at=turn.started_at, kind="turn", turn=turn)
        if turn.interrupted:
            item.heard, item.unheard = split_heard(turn.text, turn.heard_text)
        items.append(item)
    for event in call.events.all():
        items.append(TimelineItem(at=event.at, kind="event", event=event, alert=event.kind in ALERT_EVENTS))
    # Stable sort: turns keep their index order when timestamps tie.
    items.sort(key=lambda i: i.at)
    return items


def latency_chart(call: Call) -> dict:
    """Chart.js-ready data for the per-turn waterfall: one stacked horizontal bar per turn with metrics."""
    labels, turns, stacks = [], [], {}
    for turn in call.turns.select_related("metrics").order_by("index"):
        metrics = getattr(turn, "metrics", None)
        if metrics is None:
            continue
        values = {f: getattr(metrics, f) for f in METRIC_FIELDS}
        snippet = turn.text if len(turn.text) <= 24 else turn.text[:23] + "…"
        labels.append([f"Turn {turn.index}", snippet])  # two lines: Chart.js clips long single-line labels
        turns.append({"index": turn.index, **values})
        for label, ms in waterfall_segments(values):
            stacks.setdefault(label, []).append(ms)
    return {"labels": labels, "datasets": [{"label": k, "data": v} for k, v in stacks.items()], "turns": turns}

"""Numbers for the analytics page and the metrics API. Percentiles are computed in Python over the filtered rows:
exact, portable across SQLite and PostgreSQL, and fast enough for the tens of thousands of turns a workspace has."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from calls.models import Call, Turn, TurnMetrics, Workspace

# The latency stages shown per turn: (field on TurnMetrics, label).
STAGES = (
    ("endpoint_ms", "Endpointing"),
    ("stt_ms", "STT"),
    ("brain_ms", "Brain"),
    ("tts_ms", "TTS"),
)
# Milestones of one reply, in the order they happen, all measured from the caller's last voiced frame.
# Consecutive differences give the waterfall's stacked segments; they add up to end_to_end_ms.
WATERFALL = (
    ("endpoint_ms", "Endpointing"),
    ("stt_final_ms", "STT"),
    ("brain_first_text_ms", "Brain"),
    ("tts_first_audio_ms", "TTS"),
    ("first_frame_sent_ms", "Transport"),
)


def percentile(values: Iterable[float | None], p: float) -> float | None:
    """The p-th percentile (0-100) with linear interpolation between closest ranks (numpy's default).

    None values are ignored; no values at all gives None.
    """
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be within 0..100, got {p}")
    data = sorted(v for v in values if v is not None and not math.isnan(v))
    if not data:
        return None
    rank = (len(data) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (rank - low)


def waterfall_segments(metrics: dict) -> list[tuple[str, float]]:
    """[(stage label, ms)] stacked in order. A milestone that is missing or earlier than the ones before it adds 0,
    so the segments never go negative and always sum to the latest milestone reached."""
    segments = []
    reached = 0.0
    for field_name, label in WATERFALL:
        value = metrics.get(field_name)
        if value is None or value <= reached:
            segments.append((label, 0.0))
            continue
        segments.append((label, round(value - reached, 1)))
        reached = value
    return segments


@dataclass(frozen=True)
class Period:
    since: date
    until: date  # inclusive

    @property
    def start(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.since, time.min))

    @property
    def end(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.until + timedelta(days=1), time.min))

    @property
    def hourly(self) -> bool:
        return (self.until - self.since).days < 2

    def bucket(self, at: datetime) -> datetime:
        at = timezone.localtime(at)
        if self.hourly:
            return at.replace(minute=0, second=0, microsecond=0)
        return at.replace(hour=0, minute=0, second=0, microsecond=0)

    def buckets(self) -> list[datetime]:
        step = timedelta(hours=1) if self.hourly else timedelta(days=1)
        out, at = [], self.bucket(self.start)
        while at < self.end:
            out.append(at)
            at += step
        return out

    def label(self, at: datetime) -> str:
        return at.strftime("%b %d %H:00") if self.hourly else at.strftime("%b %d")


def default_period(today: date | None = None, days: int = 14) -> Period:
    today = today or timezone.localdate()
    return Period(since=today - timedelta(days=days - 1), until=today)


def calls_in(workspace: Workspace, period: Period, agent=None, include_tests: bool = False) -> QuerySet[Call]:
    calls = Call.objects.filter(workspace=workspace, created_at__gte=period.start, created_at__lt=period.end)
    if not include_tests:
        calls = calls.filter(is_test=False)  # a test suite's calls would skew what real callers get
    return calls.filter(agent=agent) if agent else calls


def metrics_in(workspace: Workspace, period: Period, agent=None, include_tests: bool = False) -> QuerySet[TurnMetrics]:
    rows = TurnMetrics.objects.filter(
        turn__call__workspace=workspace, turn__started_at__gte=period.start, turn__started_at__lt=period.end
    )
    if not include_tests:
        rows = rows.filter(turn__call__is_test=False)
    return rows.filter(turn__call__agent=agent) if agent else rows


def _p50_p95(values: Sequence[float | None]) -> dict:
    present = [v for v in values if v is not None]
    return {"p50": _round(percentile(present, 50)), "p95": _round(percentile(present, 95)), "n": len(present)}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def latency_report(rows: QuerySet[TurnMetrics], period: Period) -> dict:
    """p50/p95 of end-to-end and of each stage: over the whole period and per time bucket (for the charts)."""
    fields = ["end_to_end_ms", *(f for f, _ in STAGES)]
    data = list(rows.values("turn__started_at", *fields))
    by_bucket: dict[datetime, list[dict]] = defaultdict(list)
    for row in data:
        by_bucket[period.bucket(row["turn__started_at"])].append(row)
    buckets = period.buckets()
    series = {}
    for name in fields:
        per = [_p50_p95([r[name] for r in by_bucket.get(b, [])]) for b in buckets]
        series[name] = {"p50": [x["p50"] for x in per], "p95": [x["p95"] for x in per]}
    return {
        "labels": [period.label(b) for b in buckets],
        "series": series,
        "overall": {name: _p50_p95([r[name] for r in data]) for name in fields},
        "turns": len(data),
    }


def call_report(calls: QuerySet[Call], period: Period) -> dict:
    """Volume per bucket, average duration, interruption rate and where calls ended in the flow."""
    rows = list(calls.values("pk", "created_at", "answered_at", "ended_at", "status"))
    volume = Counter(period.bucket(r["created_at"]) for r in rows)
    durations = [(r["ended_at"] - r["answered_at"]).total_seconds() for r in rows if r["answered_at"] and r["ended_at"]]
    agent_turns = Turn.objects.filter(call__in=calls, role=Turn.Role.AGENT)
    total_agent_turns = agent_turns.count()
    interrupted = agent_turns.filter(interrupted=True).count()
    return {
        "labels": [period.label(b) for b in period.buckets()],
        "volume": [volume.get(b, 0) for b in period.buckets()],
        "calls": len(rows),
        "answered": len(durations),
        "avg_duration_s": _round(sum(durations) / len(durations)) if durations else None,
        "agent_turns": total_agent_turns,
        "interrupted_turns": interrupted,
        "interruption_rate": round(interrupted / total_agent_turns, 4) if total_agent_turns else None,
        "hangup_nodes": hangup_nodes(calls),
        "statuses": dict(Counter(r["status"] for r in rows)),
    }


def cost_per_day(calls: QuerySet[Call]) -> list[dict]:
    """[{day, calls, total, currency}] over the calls' costs (calls.costs), newest day first; days without a
    priced call are left out."""
    days: dict = {}
    for created_at, cost in calls.exclude(cost={}).values_list("created_at", "cost"):
        day = timezone.localtime(created_at).date()
        row = days.setdefault(day, {"day": day, "calls": 0, "total": 0.0, "currency": cost.get("currency", "")})
        row["calls"] += 1
        row["total"] = round(row["total"] + float(cost.get("total") or 0), 6)
    return [days[d] for d in sorted(days, reverse=True)]


def hangup_nodes(calls: QuerySet[Call]) -> list[tuple[str, int]]:
    """[(flow node, calls)] by where finished calls were when they ended: the node of each call's last agent turn."""
    last_nodes: dict[int, str] = {}
    # Ordered by index, so the last value written per call is its last agent turn.
    for call_id, node in (
        Turn.objects.filter(call__in=calls.exclude(ended_at=None), role=Turn.Role.AGENT)
        .order_by("call_id", "index")
        .values_list("call_id", "node")
    ):
        last_nodes[call_id] = node or "(no node)"
    return Counter(last_nodes.values()).most_common()

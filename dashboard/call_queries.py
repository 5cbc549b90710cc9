"""Filtering and transcript search over calls, shared by the calls page and the JSON API."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.db import connection
from django.db.models import DurationField, ExpressionWrapper, F, Q, QuerySet
from django.utils import timezone

from calls.models import Call, Turn


def search_transcripts(calls: QuerySet[Call], query: str) -> QuerySet[Call]:
    """Calls whose transcript matches `query`, or whose call id / numbers contain it.

    PostgreSQL: full-text search (stemmed, websearch syntax: "quoted phrases", -exclusions). Elsewhere (SQLite):
    a case-insensitive substring match over turn text, which is fine at a single-box scale.
    """
    query = query.strip()
    if not query:
        return calls
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchVector

        matching = Turn.objects.annotate(document=SearchVector("text", config="english")).filter(
            document=SearchQuery(query, config="english", search_type="websearch")
        )
    else:
        matching = Turn.objects.filter(text__icontains=query)
    return calls.filter(
        Q(pk__in=matching.values("call_id"))
        | Q(carrier_call_id__icontains=query)
        | Q(from_number__icontains=query)
        | Q(to_number__icontains=query)
    )


def _day_start(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def filter_calls(calls: QuerySet[Call], filters: dict) -> QuerySet[Call]:
    """Apply the cleaned filters of `CallFilterForm` (or the API's equivalent); missing keys mean no filter."""
    if filters.get("agent"):
        calls = calls.filter(agent=filters["agent"])
    if filters.get("number"):
        calls = calls.filter(Q(to_number=filters["number"]) | Q(from_number=filters["number"]))
    if filters.get("status"):
        calls = calls.filter(status=filters["status"])
    if filters.get("direction"):
        calls = calls.filter(direction=filters["direction"])
    if filters.get("since"):
        calls = calls.filter(created_at__gte=_day_start(filters["since"]))
    if filters.get("until"):
        calls = calls.filter(created_at__lt=_day_start(filters["until"] + timedelta(days=1)))
    low, high = filters.get("min_duration"), filters.get("max_duration")
    if low is not None or high is not None:
        calls = calls.annotate(
            talk_time=ExpressionWrapper(F("ended_at") - F("answered_at"), output_field=DurationField())
        )
        if low is not None:
            calls = calls.filter(talk_time__gte=timedelta(seconds=low))
        if high is not None:
            calls = calls.filter(talk_time__lte=timedelta(seconds=high))
    if filters.get("q"):
        calls = search_transcripts(calls, filters["q"])
    if filters.get("success"):
        calls = calls.filter(analysis__success=filters["success"] == "yes")
    if filters.get("field"):
        calls = filter_analysis_field(calls, filters["field"], filters.get("value") or "")
    return calls


def filter_analysis_field(calls: QuerySet[Call], name: str, value: str) -> QuerySet[Call]:
    """Calls whose analysis field `name` (a checked identifier) equals `value` as typed in a search box: "true" is
    the boolean too, "12" the number; an empty value means the field was filled at all."""
    key = f"analysis__fields__{name}"
    if not value:
        return calls.filter(**{f"{key}__isnull": False}).exclude(**{key: None})
    match = Q(**{key: value}) | Q(**{f"{key}__iexact": value})
    if value.lower() in ("true", "yes", "false", "no"):
        match |= Q(**{key: value.lower() in ("true", "yes")})
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        match |= Q(**{key: number}) | (Q(**{key: int(number)}) if number.is_integer() else Q())
    return calls.filter(match)

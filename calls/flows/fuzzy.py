"""Cheap string similarity for ASR slips: a bounded Levenshtein distance, no model, no dependency."""

from __future__ import annotations

__all__ = ["edit_distance", "similar_words"]


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Levenshtein distance between `a` and `b`, or `limit + 1` as soon as it must exceed `limit` (so a long,
    obviously different pair costs almost nothing)."""
    if a == b:
        return 0
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        best = i
        for j, cb in enumerate(b, start=1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            current.append(cost)
            best = min(best, cost)
        if best > limit:
            return limit + 1
        previous = current
    return previous[-1]


def similar_words(a: str, b: str) -> float:
    """1.0 for equal words; for words of 5+ letters, 1 - distance / length when at most a quarter of the letters
    differ ("apointment" ~ "appointment" = 0.91); otherwise 0. Short words must match exactly: "book" and "look"
    mean different things."""
    if a == b:
        return 1.0
    longest = max(len(a), len(b))
    if min(len(a), len(b)) < 5:
        return 0.0
    limit = longest // 4
    distance = edit_distance(a, b, limit)
    return 1.0 - distance / longest if distance <= limit else 0.0

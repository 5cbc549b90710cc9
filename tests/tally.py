"""Counts what the robustness suites ran (hypothesis examples, fault scenarios), for the terminal summary."""

from __future__ import annotations

from collections import Counter

CASES: Counter = Counter()


def ran(suite: str, part: str) -> None:
    """One case of `suite` (e.g. "badinput") ran, in `part` (e.g. "serializers")."""
    CASES[(suite, part)] += 1


def summary(suite: str) -> list[str]:
    parts = {part: n for (name, part), n in sorted(CASES.items()) if name == suite}
    if not parts:
        return []
    detail = ", ".join(f"{part} {n}" for part, n in parts.items())
    return [f"{suite}: {sum(parts.values())} cases ran ({detail})"]

"""Counts what the robustness suites ran (hypothesis examples, fault scenarios) and the worst of what they measured,
for the terminal summary."""

from __future__ import annotations

from collections import Counter

CASES: Counter = Counter()
WORST: dict[tuple[str, str], float] = {}


def ran(suite: str, part: str) -> None:
    """One case of `suite` (e.g. "badinput") ran, in `part` (e.g. "serializers")."""
    CASES[(suite, part)] += 1


def measured(suite: str, what: str, value: float) -> None:
    """Keep the largest `value` seen for `what` (e.g. the longest dead air after an STT failure)."""
    key = (suite, what)
    WORST[key] = max(value, WORST.get(key, value))


def summary(suite: str) -> list[str]:
    parts = {part: n for (name, part), n in sorted(CASES.items()) if name == suite}
    if not parts:
        return []
    detail = ", ".join(f"{part} {n}" for part, n in parts.items())
    lines = [f"{suite}: {sum(parts.values())} cases ran ({detail})"]
    worst = {what: v for (name, what), v in sorted(WORST.items()) if name == suite}
    if worst:
        lines.append(f"{suite}: worst " + ", ".join(f"{what} {v:.2f}" for what, v in worst.items()))
    return lines

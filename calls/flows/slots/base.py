"""What every slot parser returns, and the outcome of checking it against the node's limits."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SlotValue:
    """A recognised value: `value` is what tools and conditions use (ISO date, "15:00", 42, True, "1234"), `spoken`
    is how the agent says it back ("Tuesday the 5th", "3 pm", "42", "yes", "1 2 3 4")."""

    value: str | int | bool
    spoken: str


class OutOfRange(ValueError):
    """The caller was understood, but the value is outside the node's limits (a date too far ahead, a time
    outside opening hours). The node says its `out_of_range` message (default: its `invalid` one)."""

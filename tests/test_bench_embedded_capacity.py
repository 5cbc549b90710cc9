"""The embedded-capacity ramp's rules: which levels it tries and when a level counts as held."""

from __future__ import annotations

from bench.embedded_capacity import LEVELS, holds, levels_up_to


def level(p95: float | None, lost: int = 0, errors: tuple[str, ...] = ()) -> dict:
    return {"turn": {"p95": p95}, "lost_turns": lost, "errors": list(errors)}


def test_a_level_is_held_only_within_the_p95_limit_and_with_nothing_lost():
    assert holds(level(640.0))
    assert not holds(level(801.0))
    assert not holds(level(500.0, lost=1))
    assert not holds(level(500.0, errors=("ConnectionRefusedError()",)))
    assert not holds(level(None))  # no turn measured is no evidence that the level holds


def test_the_ramp_stops_at_max_calls_but_always_tries_one_call():
    assert levels_up_to(5) == (1, 2, 4) and levels_up_to(100) == LEVELS and levels_up_to(0) == (1,)

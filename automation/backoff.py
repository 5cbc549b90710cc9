"""Retry delays: exponential, capped, with jitter so retries of many failures do not arrive in lockstep."""

from __future__ import annotations

import random


def delay_s(attempt: int, base_s: float, cap_s: float = 3600.0) -> float:
    """Delay before retry number `attempt` (1 = the first retry): half fixed, half random ("equal jitter")."""
    ceiling = min(cap_s, base_s * 2 ** max(0, attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)

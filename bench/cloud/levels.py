"""What a ramp's figures say: the levels that ran, the capacity they show, a level's collapse, the CPU a call costs.

Shared by the scenarios (run.py: when to stop a ramp), the tables (render.py) and the chart (chart.py).
"""

from __future__ import annotations

P99_LIMIT_MS = 300.0  # a level whose overhead p99 passes this is past capacity
COLLAPSED_P99_MS = 5000.0  # a level this far gone says all there is to say about the ones above it


def collapsed(level: dict) -> bool:
    """The level fell over (p99 in seconds, or a quarter of its turns unanswered): no point running the next."""
    p99 = level["overhead"]["p99"]
    turns = level["overhead"]["n"] + level["lost_turns"]
    return p99 is None or p99 > COLLAPSED_P99_MS or level["lost_turns"] > 0.25 * max(1, turns)


def run_levels(levels: list[dict]) -> list[dict]:
    """The levels that ran (a ramp records those above a collapse as not run)."""
    return [lv for lv in levels if "not_run" not in lv]


def capacity_of(levels: list[dict]) -> dict:
    """The largest level that passed (and the reason the next one failed)."""
    best, why = None, ""
    for level in levels:
        if "not_run" in level:
            break
        if level["why_failed"]:
            why = f"{level['calls']} calls: {level['why_failed']}"
            break
        best = level
    return {"max_calls": best["calls"] if best else 0, "at_max": best, "next_failed": why}


def cpu_estimate(levels: list[dict]) -> dict:
    """Server CPU % one call costs (median over the levels of 10+ calls that held) and the calls two dedicated
    cores would carry at that cost."""
    costs = sorted(lv["server_cpu_pct_per_call"] for lv in run_levels(levels)
                   if lv["calls"] >= 10 and not collapsed(lv) and lv["server_cpu_pct_per_call"])
    if not costs:
        return {"per_call": None, "calls": None}
    per_call = costs[len(costs) // 2]
    return {"per_call": per_call, "calls": round(200 / per_call)}


def loadgen_per_call(levels: list[dict]) -> float | None:
    """The load generator's own CPU % per call (median over the levels of 10+ calls)."""
    costs = sorted(lv["loadgen_cpu_pct"] / lv["calls"] for lv in run_levels(levels)
                   if lv["calls"] >= 10 and lv["loadgen_cpu_pct"])
    return costs[len(costs) // 2] if costs else None

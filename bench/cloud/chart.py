"""The side-by-side chart (docs/benchmarks/cloud.png): turn overhead and server CPU by concurrent calls."""

from __future__ import annotations

from pathlib import Path

from .levels import P99_LIMIT_MS, run_levels


def chart(ours: dict, pc: dict | None, others: dict | None, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    series = [(f"voicebot {ours['config']['kind']}", run_levels(ours["levels"]), "tab:blue")]
    if ours.get("alt_levels"):
        series.append((f"voicebot {ours['alt_config']['kind']}", run_levels(ours["alt_levels"]), "tab:green"))
    if pc:
        series.append(("Pipecat 1.14", run_levels(pc["levels"]), "tab:red"))
    for name, levels, colour in series:
        xs = [lv["calls"] for lv in levels if lv["overhead"]["p50"] is not None]
        ax1.plot(xs, [max(1, lv["overhead"]["p50"]) for lv in levels if lv["overhead"]["p50"] is not None],
                 "o-", color=colour, label=f"{name} p50")
        ax1.plot(xs, [max(1, lv["overhead"]["p99"]) for lv in levels if lv["overhead"]["p50"] is not None],
                 "s--", color=colour, label=f"{name} p99")
    ax1.axhline(P99_LIMIT_MS, color="grey", lw=0.8, ls=":")
    ax1.set_yscale("log")
    ax1.set_xscale("log")
    ax1.set_xlabel("concurrent calls")
    ax1.set_ylabel("overhead ms (turn − 450 ms)")
    ax1.set_title("Turn overhead")
    ax1.legend(fontsize=8)
    cfgs = {ours["config"]["label"]: ours["levels"], **{k: v["levels"] for k, v in (others or {}).items()}}
    if ours.get("alt_levels"):
        cfgs[ours["alt_config"]["label"]] = ours["alt_levels"]
    if pc:
        cfgs["Pipecat 1.14 x1"] = pc["levels"]
    colours = iter(["tab:blue", "tab:green", "tab:orange", "tab:purple", "tab:brown", "tab:red"])
    for name, levels in cfgs.items():
        levels = run_levels(levels)
        pts = [(lv["calls"], lv["server_cpu_pct"]) for lv in levels if lv["server_cpu_pct"] is not None]
        colour = "tab:red" if name.startswith("Pipecat") else next(colours)
        if pts:
            ax2.plot(*zip(*pts), "o-", label=name, color=colour)
    ax2.set_xscale("log")
    ax2.set_xlabel("concurrent calls")
    ax2.set_ylabel("server CPU % (200 = both cores)")
    ax2.set_title("Server CPU")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

"""The benchmark's tables: each scenario's section of docs/benchmarks.md, as Markdown, from its stored figures."""

from __future__ import annotations

from .levels import P99_LIMIT_MS, capacity_of, cpu_estimate, loadgen_per_call, run_levels


def _f(v, nd: int = 0) -> str:
    if v is None:
        return "–"
    return f"{v:.{nd}f}" if isinstance(v, (int, float)) else str(v)


def _ratio(a, b) -> str:
    return "–" if a in (None, 0) or b is None else f"{b / a:.1f}×"


def _overhead_rows(levels: list[dict]) -> str:
    rows = []
    for lv in levels:
        if "not_run" in lv:
            rows.append(f"| {', '.join(map(str, lv['calls']))} | not run: {lv['not_run']} | | | | | | | | | |")
            continue
        o = lv["overhead"]
        rows.append(f"| {lv['calls']} | {_f(o['p50'])} | {_f(o['p95'])} | {_f(o['p99'])} | {o['n']} | "
                    f"{lv['lost_turns']} / {lv['underruns']} ({lv.get('late_ticks', '–')}) | {_f(lv['server_cpu_pct'])} | "
                    f"{_f(lv.get('backing_cpu_pct'))} | {_f(lv['server_rss_mb_per_call'], 2)} | {_f(lv['loadgen_cpu_pct'])} | "
                    f"{_f(lv['loadgen_lag_ms'][0]['p99'], 1)} |")
    return "\n".join(rows)


OVERHEAD_HEAD = ("| concurrent calls | overhead p50 ms | p95 | p99 | turns | lost turns / underruns (late ticks) | server CPU % "
                 "(both workers; 200 = both cores) | PostgreSQL + Redis + Celery CPU % | RSS MB per call | load-gen CPU % | "
                 "load-gen lag p99 ms |\n"
                 "|---|---|---|---|---|---|---|---|---|---|---|")


def overhead_markdown(data: dict, command: str) -> str:
    # How far the last frame our VAD calls voiced lies before the caller's true last voiced frame: with STT
    # endpointing the end of turn comes at true end + 100 ms, so its endpoint_ms − 100 measures that gap.
    first = run_levels(data["levels"])[0] if run_levels(data["levels"]) else None
    delta = None if first is None or first["server_stages_p50"]["endpoint_ms"] is None else \
        round(first["server_stages_p50"]["endpoint_ms"] - 100, 1)
    local = []
    for lv in data.get("local", []):
        st50, st95 = lv["server_stages_p50"], lv["server_stages_p95"]
        o, lat = lv["overhead"], lv["latency"]
        true50 = None if delta is None or st50["endpoint_ms"] is None else st50["endpoint_ms"] + delta
        local.append(f"| {lv['calls']} | {_f(st50['endpoint_ms'])} | {_f(st95['endpoint_ms'])} | {_f(true50)} | "
                     f"{_f(lat['p50'])} | {_f(lat['p99'])} | {_f(o['p50'])} | {_f(o['p99'])} | {o['n']} |")
    one = run_levels(data["levels"])[0]["server_stages_p50"] if run_levels(data["levels"]) else {}
    return f"""## Overhead: what voicebot adds to a cloud-style turn

`{command}`. Machine: {data['machine']}. Set-up: {data['config']['label']}; synthetic providers with
fixed latencies (STT final 100 ms after the caller's true last voiced frame, LLM first text 200 ms, TTS first
audio 150 ms: 450 ms in all). **Overhead = turn latency − 450 ms**, turn latency = the simulated carrier's last
voiced frame sent → first reply frame received (both on this machine, over loopback). Normal turns only
(barge-in turns are in their own section). Calls run in a separate load-generator process; its own CPU and
event-loop lag are shown because a loaded load generator inflates what it measures.

{data['config']['label']}:

{OVERHEAD_HEAD}
{_overhead_rows(data['levels'])}

{data.get('alt_config', {}).get('label', '')}:

{OVERHEAD_HEAD}
{_overhead_rows(data.get('alt_levels', []))}

At 1 call the server's own stages (TurnMetrics, p50): endpoint {_f(one.get('endpoint_ms'))} ms after the last
frame our VAD called voiced (STT endpointing at true end + 100 ms), STT final {_f(one.get('stt_final_ms'))},
LLM first text {_f(one.get('brain_ms'))} after its request, TTS first audio {_f(one.get('tts_ms'))},
first reply frame sent {_f(one.get('end_to_end_ms'))} ms after that last voiced frame.

**Local endpointing** (our VAD decides the end of turn, `end_of_turn_silence_ms=200`, as Pipecat's stop_secs; the
STT final then comes 100 ms after our request, as a Deepgram Finalize). VAD stop = TurnMetrics `endpoint_ms`, from
the last frame our VAD called voiced (for this trimmed speech that frame is the caller's last voiced frame or up to
one frame earlier, so it is an upper bound of the stop time from the true end):

| concurrent calls | VAD stop p50 ms (endpoint_ms) | VAD stop p95 | VAD stop from the true last voiced frame, p50 (+{_f(delta)} ms) | turn latency p50 ms | turn p99 | turn − 450 p50 | turn − 450 p99 | turns |
|---|---|---|---|---|---|---|---|---|
{chr(10).join(local)}

Turn − 450 here holds the VAD stop and whatever of the STT's 100 ms the speculative request (sent at 100 ms of
silence, shared with the real one as a Deepgram Finalize is) did not already cover, on top of the overhead.
"""


def bargein_markdown(data: dict, command: str) -> str:
    rows = []
    for lv in run_levels(data["levels"]):
        b = lv["barge_clear"]
        rows.append(f"| {lv['calls']} | {_f(b['p50'])} | {_f(b['p95'])} | {b['n']} | {lv['barge_missing_clear']} | "
                    f"{lv['frames_after_clear']} | {lv.get('barge_cut', '–')} | {lv.get('barge_resumed', '–')} |")
    return f"""## Barge-in

`{command}` (the same calls as the overhead ramp: every third caller turn talks over the agent's reply, 700 ms
into it). Onset = the first voiced frame of the interrupting speech sent; `clear` = the carrier received it.
The agent has the default interruption strategy, `words` (`calls/session/turn_taking.py`): `hold_ms`=100 ms of
voiced speech over the agent pauses it at once, and that `clear` is what is timed; the caller's words then decide
whether the reply is cut or resumed. (With `voiced-time`, the `clear` waits for `barge_in_min_ms`=200 ms of voiced
speech.) Frames after clear = reply audio received after the `clear`, before the caller stopped talking (must be 0).
Cut / resumed = how the server ended those pauses (its `barge_in` and `backchannel` events): the caller's words
(the synthetic STT's "I would like to book an appointment for tomorrow") are an interruption, so all should be cut.
A caller turn begun as a reply's last frames were still unconfirmed counts too: cut may exceed barge-ins by a few.

| concurrent calls | onset → clear p50 ms | p95 | barge-ins | no clear | reply frames after clear | cut | resumed |
|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}
"""


def capacity_markdown(main: dict, others: dict, command: str) -> str:
    rows = []
    all_cfgs = {main["config"]["label"]: main["levels"], **{k: v["levels"] for k, v in others.items()}}
    if main.get("alt_levels"):
        all_cfgs[main["alt_config"]["label"]] = main["alt_levels"]
    for name, levels in all_cfgs.items():
        cap = capacity_of(levels)
        at = cap["at_max"] or {}
        est = cpu_estimate(levels)
        rows.append(f"| {name} | **{cap['max_calls']}** | {_f(at.get('overhead', {}).get('p99'))} | "
                    f"{_f(at.get('server_cpu_pct'))} | {_f(at.get('backing_cpu_pct'))} | "
                    f"{_f(at.get('server_cpu_pct_per_call'), 2)} | "
                    f"{_f(at.get('server_rss_mb_per_call'), 2)} | {_f(at.get('loadgen_cpu_pct'))} | "
                    f"{cap['next_failed'] or 'not reached within --max-calls'} | {_f(est['per_call'], 2)} | "
                    f"{_f(est['calls'])} |")
    return f"""## Capacity

`{command}`. Ramp (by 50) until the overhead p99 passes {P99_LIMIT_MS:.0f} ms, a turn gets no reply, a reply's
audio runs dry mid-way for at least one 20 ms frame slot (underrun: a lost frame), or a call fails. CPU and RSS are the server processes' (psutil, sampled every
0.25 s over the window in which all calls were live; RSS per call = (peak − idle) / calls). The load generator
runs in its own process on the same 2 cores, so it competes with the server: its CPU is shown.

| set-up | max calls | overhead p99 at max | server CPU % | PostgreSQL + Redis + Celery CPU % | CPU % per call | RSS MB per call | load-gen CPU % | next level failed because | server CPU % per call (median, levels ≥ 10 not collapsed) | CPU-bound estimate: calls on 2 dedicated cores |
|---|---|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

The last two columns take the machine's other tenants out of the figure: the CPU a call costs the server
(CPU-seconds per call-second, which the noise barely moves) and how many calls two cores would carry at that cost
with nothing else on them (200 / cost) — the load generator excluded, which here costs about
{_f(loadgen_per_call(main['levels']), 2)} % of a core per call itself.
"""


def admission_markdown(data: dict, command: str) -> str:
    lv = data["level"]
    o = lv["overhead"]
    return f"""## Admission control

`{command}`: `MAX_CONCURRENT_CALLS={data['config']['max_calls_per_process']}` per process ×
{data['config']['workers']} processes = {data['capacity']} calls; {data['offered']} calls offered at once.

| offered | admitted | refused at webhook (overflow TwiML) | refused at media socket (1013) | admitted overhead p50 / p99 ms | lost turns / underruns |
|---|---|---|---|---|---|
| {data['offered']} | {lv['admitted']} | {lv['refused_webhook']} | {lv['refused_media']} | {_f(o['p50'])} / {_f(o['p99'])} | {lv['lost_turns']} / {lv['underruns']} |

Stored by the servers (including the warm-up calls): calls by status {data['db'].get('calls', {})}; events
{data['db'].get('events', {})}; first errors: {data['db'].get('error_samples', [])}.
"""


def webhook_markdown(data: dict, command: str) -> str:
    rows = [f"| {r['offered_rps']} | {r['achieved_rps']} | {_f(r['latency_ms']['p50'], 1)} | "
            f"{_f(r['latency_ms']['p99'], 1)} | {r['statuses']} | {r['errors']} + {r.get('unanswered', 0)} | "
            f"{_f(r['server_cpu_pct'])} | {_f(r['client_cpu_pct'])} |" for r in data["runs"]]
    return f"""## Voice webhook

`{command}`: signed Twilio `/twilio/voice` requests, each a new call (signature check, number lookup, admission,
Call row, stream token), sent open-loop at a fixed rate over keep-alive connections from a separate uvloop process,
against {data['config']['kind']} ×{data['config']['workers']} (SQLite, this machine).

| offered req/s | answered req/s | p50 ms | p99 ms | statuses | errors + unanswered within 10 s | server CPU % | client CPU % |
|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}
"""


def side_by_side_markdown(ours: dict, bargein_src: dict, pc: dict, cap_ours: dict | None, command: str) -> str:
    by_n = {lv["calls"]: lv for lv in run_levels(ours["levels"])}
    rows = []
    for lv in run_levels(pc["levels"]):
        mine = by_n.get(lv["calls"])
        if mine is None:
            near = [k for k in by_n if k >= lv["calls"]]
            mine = by_n.get(min(near)) if near else None
        o, p = (mine or {}).get("overhead", {}), lv["overhead"]
        rows.append(f"| {lv['calls']} | {_f(p.get('p50'))} / {_f(p.get('p99'))} | "
                    f"{_f(o.get('p50'))} / {_f(o.get('p99'))}" + (f" (at {mine['calls']})" if mine and mine['calls'] != lv['calls'] else "")
                    + f" | {_ratio(o.get('p50'), p.get('p50'))} / {_ratio(o.get('p99'), p.get('p99'))} | "
                    f"{_f(lv['barge_clear']['p50'])} / {_f(lv['barge_clear']['p95'])} | {lv['frames_after_clear']} | "
                    f"{_f(lv['server_rss_mb_per_call'], 1)} | {_f(lv['server_cpu_pct_per_call'], 1)} | "
                    f"{lv['why_failed'] or 'ok'} |")
    pcap = capacity_of(pc["levels"])
    ocap = cap_ours or capacity_of(ours["levels"])
    one_o = run_levels(ours["levels"])[0]
    one_p = run_levels(pc["levels"])[0]
    b_o = one_o["barge_clear"]
    at_o = ocap["at_max"] or {}
    at_p = pcap["at_max"] or {}
    return f"""## Side by side: Pipecat

`{command}`: the same callers, speech, script and synthetic latencies (100/200/150 ms) against a minimal
`pipecat-ai` 1.14 bot (bench/pipecat_bot.py, its own venv: FastAPI + uvicorn/uvloop, `TwilioFrameSerializer` with
auto hang-up off, default `SileroVADAnalyzer`, `SpeechTimeoutUserTurnStopStrategy(user_speech_timeout=0)` — its
fastest stock turn-taking; its 1.14 default, the Smart Turn v3 model, would add more), one process.

| concurrent calls | Pipecat overhead p50 / p99 ms | voicebot p50 / p99 | Pipecat ÷ voicebot | Pipecat onset → clear p50 / p95 | Pipecat frames after clear | Pipecat RSS MB/call | Pipecat CPU %/call | Pipecat level |
|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

| at 1 call | voicebot | Pipecat | ratio |
|---|---|---|---|
| overhead p50 ms | {_f(one_o['overhead']['p50'])} | {_f(one_p['overhead']['p50'])} | {_ratio(one_o['overhead']['p50'], one_p['overhead']['p50'])} |
| onset → clear p50 ms | {_f(b_o['p50'])} | {_f(one_p['barge_clear']['p50'])} | {_ratio(b_o['p50'], one_p['barge_clear']['p50'])} |
| greeting p50 ms (start → first audio) | {_f(one_o['greeting']['p50'])} | {_f(one_p['greeting']['p50'])} | {_ratio(one_o['greeting']['p50'], one_p['greeting']['p50'])} |
| capacity (calls, {P99_LIMIT_MS:.0f} ms p99 rule) | {ocap['max_calls']} ({ours['config']['label']}) | {pcap['max_calls']} (1 process) | {_ratio(pcap['max_calls'] or None, ocap['max_calls'])} |
| RSS MB per call at capacity | {_f(at_o.get('server_rss_mb_per_call'), 2)} | {_f(at_p.get('server_rss_mb_per_call'), 1)} | {_ratio(at_o.get('server_rss_mb_per_call'), at_p.get('server_rss_mb_per_call'))} |

![overhead p50/p99 by concurrent calls, voicebot and Pipecat](benchmarks/cloud.png)
"""


def targets_markdown(ov: dict | None, cap: dict | None, pc: dict | None, wh: dict | None) -> str:
    rows = []

    def add(name, value, ok, target):
        rows.append(f"| {name} | {value} | {target} | {'met' if ok else '**missed**'} |")

    if ov:
        for lv in ov["levels"]:
            if "not_run" in lv and 150 in lv["calls"]:
                add("overhead at 150 calls, p50 / p99 ms", f"not run ({lv['not_run']})", False, "≤ 30 / ≤ 100")
            elif lv["calls"] in (1, 150):
                o = lv["overhead"]
                add(f"overhead at {lv['calls']} call(s), p50 / p99 ms", f"{_f(o['p50'])} / {_f(o['p99'])}",
                    o["p50"] is not None and o["p50"] <= 30 and o["p99"] is not None and o["p99"] <= 100,
                    "≤ 30 / ≤ 100")
        for lv in ov.get("local", []):
            st = lv["server_stages_p95"]["endpoint_ms"]
            add(f"local VAD end of turn at {lv['calls']} call(s), p95 ms", _f(st), st is not None and st <= 250, "≤ 250")
        bmax = max((lv["barge_clear"]["p95"] or 1e9 for lv in run_levels(ov["levels"]) if lv["barge_clear"]["n"]),
                   default=None)
        frames = sum(lv["frames_after_clear"] for lv in run_levels(ov["levels"]))
        add("barge-in onset → clear, worst p95 over levels, ms; frames after clear", f"{_f(bmax)}; {frames}",
            bmax is not None and bmax <= 250 and frames == 0, "≤ 250; 0")
    if cap:
        add("capacity (calls)", cap["max_calls"], cap["max_calls"] >= 150, "≥ 150")
        rss = (cap["at_max"] or {}).get("server_rss_mb_per_call")
        add("resident memory per call, MB", _f(rss, 2), rss is not None and rss <= 2, "≤ 2")
    if wh:
        r = next((r for r in wh["runs"] if r["offered_rps"] == 200), None)
        if r:
            p99 = r["latency_ms"]["p99"]
            add("webhook p99 at 200 req/s, ms", _f(p99, 1), p99 is not None and p99 <= 20 and r["errors"] == 0, "≤ 20")
    return "## Targets\n\n| measure | this run | target | |\n|---|---|---|---|\n" + "\n".join(rows) + "\n"

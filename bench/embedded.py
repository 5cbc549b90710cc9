"""Embedded stack (local Whisper, flow engine, the agent's embedded voice): greeting and turn latency, as a caller
feels them.

Turn latency = the caller's last voiced frame sent → the first reply frame received, measured by the simulated
carrier on the same machine (so it includes the socket both ways but no real network).

The calls run twice: on the machine as it is, then beside a process that keeps one of the two cores busy (as another
test suite on a shared host does), because the embedded stack's tail is the local model's CPU time.

The harness imports (voicebot.testing) sit inside functions: they load the app's models, which need Django set up,
and `python -m bench` sets Django up only after importing its scenarios. Not an import circle: bench sits above
the app and its harnesses, and nothing imports bench.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import tempfile
from pathlib import Path

from .report import machine, summary, write_raw, write_section

SCRIPT = [
    "What are your opening hours?",
    "Yes please",
    "I would like to book an appointment",
    "Tomorrow",
    "No thanks, goodbye",
]


async def one_call(base_url: str, public_url: str, auth_token: str) -> dict:
    from voicebot.testing.carrier.caller import SimulatedCaller, Step
    from voicebot.testing.carrier.peers import TwilioPeer

    peer = TwilioPeer(base_url, "+15550100000", auth_token=auth_token, public_base_url=public_url)
    steps = [Step.spoken(t, peer.sample_rate) for t in SCRIPT]
    result = await SimulatedCaller(peer, steps, timeout_s=120).run()
    return {"greeting_ms": result.greeting_ms, "turns": [t.latency_ms for t in result.turns], "call_id": result.call_id}


def _spin() -> None:
    while True:
        pass


def _calls(server, token: str, calls: int, log) -> tuple[list[dict], list[dict]]:
    results = []
    for i in range(calls):
        res = asyncio.run(one_call(server.base_url, server.base_url, token))
        log(f"  call {i + 1}/{calls}: greeting {res['greeting_ms']} ms, turns {res['turns']}")
        results.append(res)
    return results, [server.export(r["call_id"]) for r in results]


def _figures(results: list[dict], breakdown: list[dict]) -> dict:
    stages = {}
    for key in ("endpoint_ms", "stt_final_ms", "stt_ms", "brain_ms", "tts_ms", "end_to_end_ms"):
        stages[key] = summary([t["metrics"][key] for c in breakdown for t in c["turns"] if t["metrics"]])
    return {"greeting": summary([r["greeting_ms"] for r in results]),
            "turn": summary([t for r in results for t in r["turns"]]), "server_stages": stages, "calls": results}


def run(calls: int = 5, log=print) -> dict:
    from voicebot.testing.server import Server

    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp))
        server.start()
        try:
            token = (Path(tmp) / "var" / "local_twilio_auth_token").read_text().strip()
            quiet = _figures(*_calls(server, token, calls, log))
            log("  again, with one core kept busy by another process:")
            hog = multiprocessing.get_context("spawn").Process(target=_spin, daemon=True)
            hog.start()
            try:
                busy = _figures(*_calls(server, token, calls, log))
            finally:
                hog.terminate()
                hog.join()
        finally:
            server.stop()
    data = {"machine": machine(), **quiet, "one_core_busy": busy}
    write_raw("embedded", data)
    write_section("embedded", markdown(data, calls))
    return data


def markdown(data: dict, calls: int) -> str:
    busy = data.get("one_core_busy")

    def rows(fig: dict, label: str) -> str:
        g, t = fig["greeting"], fig["turn"]
        return (f"| greeting{label} (start sent → first greeting frame received) | {g['p50']} | {g['p95']} | {g['n']} "
                f"| ≤ 300 |\n| turn{label} (caller's last voiced frame → first reply frame received) | {t['p50']} | "
                f"{t['p95']} | {t['n']} | p50 ≤ 500, p95 ≤ 800 |")

    def stages(fig: dict) -> dict:
        return fig["server_stages"]

    st = stages(data)
    sb = stages(busy) if busy else {}
    stage_rows = "\n".join(
        f"| {name} | {s['p50']} | {s['p95']} | {sb.get(name, {}).get('p50', '–')} | {sb.get(name, {}).get('p95', '–')} |"
        for name, s in st.items()
    )
    busy_rows = ("\n" + rows(busy, ", one core busy")) if busy else ""
    return f"""## Embedded stack (no keys, no network)

`make bench` (scenario `embedded`): {calls} simulated Twilio calls in real time against daphne on loopback, local
Whisper tiny.en, the flow engine and the demo agent's voice (Piper since issue 14; espeak-ng before); then the same
{calls} calls again while another process keeps one of the two cores busy. Machine: {data['machine']}.

| measure | p50 ms | p95 ms | n | target |
|---|---|---|---|---|
{rows(data, "")}{busy_rows}

Server-side breakdown per turn (from the stored TurnMetrics; times from the last voiced frame unless a span):

| stage | p50 ms | p95 ms | one core busy: p50 ms | p95 ms |
|---|---|---|---|---|
{stage_rows}

The end of turn is a fixed 300 ms of silence (`endpoint_ms`); Whisper transcribes speculatively from 100 ms of
silence, so `stt_ms` (end of turn → transcript) is mostly the part of that work still running. A result that looks
like a decoding loop has its repeats collapsed instead of being redone over Whisper's full 30 s window: the redo
was the whole tail before (p95 1,539 ms against p50 310, 2026-11-22).
"""

"""Embedded stack (local Whisper, flow engine, espeak): greeting latency and turn latency, as a caller feels them.

Turn latency = the caller's last voiced frame sent → the first reply frame received, measured by the simulated
carrier on the same machine (so it includes the socket both ways but no real network).
"""

from __future__ import annotations

import asyncio
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
    from calls.management.commands.simulate_call import speech
    from calls.simulator.caller import SimulatedCaller, Step
    from calls.simulator.peers import TwilioPeer

    peer = TwilioPeer(base_url, "+15550100000", auth_token=auth_token, public_base_url=public_url)
    steps = [Step(text=t, pcm=speech(t, peer.sample_rate)) for t in SCRIPT]
    result = await SimulatedCaller(peer, steps, timeout_s=120).run()
    return {"greeting_ms": result.greeting_ms, "turns": [t.latency_ms for t in result.turns], "call_id": result.call_id}


def run(calls: int = 5, log=print) -> dict:
    from calls.simulator.local_server import Server

    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp))
        server.start()
        try:
            token = (Path(tmp) / "var" / "local_twilio_auth_token").read_text().strip()
            results = []
            for i in range(calls):
                res = asyncio.run(one_call(server.base_url, server.base_url, token))
                log(f"  call {i + 1}/{calls}: greeting {res['greeting_ms']} ms, turns {res['turns']}")
                results.append(res)
            breakdown = [server.export(r["call_id"]) for r in results]
        finally:
            server.stop()
    greetings = [r["greeting_ms"] for r in results]
    turns = [t for r in results for t in r["turns"]]
    stages = {}
    for key in ("endpoint_ms", "stt_final_ms", "stt_ms", "brain_ms", "tts_ms", "end_to_end_ms"):
        stages[key] = summary([t["metrics"][key] for c in breakdown for t in c["turns"] if t["metrics"]])
    data = {"machine": machine(), "greeting": summary(greetings), "turn": summary(turns), "server_stages": stages,
            "calls": results}
    write_raw("embedded", data)
    write_section("embedded", markdown(data, calls))
    return data


def markdown(data: dict, calls: int) -> str:
    g, t, st = data["greeting"], data["turn"], data["server_stages"]
    rows = "\n".join(
        f"| {name} | {s['p50']} | {s['p95']} | {s['n']} |" for name, s in st.items()
    )
    return f"""## Embedded stack (no keys, no network)

`make bench` (scenario `embedded`): {calls} simulated Twilio calls in real time against daphne on loopback, local
Whisper tiny.en, the flow engine and espeak-ng. Machine: {data['machine']}.

| measure | p50 ms | p95 ms | n | target |
|---|---|---|---|---|
| greeting (start sent → first greeting frame received) | {g['p50']} | {g['p95']} | {g['n']} | ≤ 300 |
| turn (caller's last voiced frame → first reply frame received) | {t['p50']} | {t['p95']} | {t['n']} | p50 ≤ 500, p95 ≤ 800 |

Server-side breakdown per turn (from the stored TurnMetrics; times from the last voiced frame unless a span):

| stage | p50 ms | p95 ms | n |
|---|---|---|---|
{rows}
"""

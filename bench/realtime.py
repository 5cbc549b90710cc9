"""Scenario "realtime": speech-to-speech calls, and what voicebot adds between the carrier and the realtime model.

A daphne server (the embedded set-up) runs the demo agent as an "openai-realtime" agent whose model is the fake
Realtime server (voicebot/testing/vendors/openai_realtime.py, in a thread of this process with its own event loop);
N simulated Twilio callers (voicebot/testing/carrier) call it at once. Both ends of voicebot are in this process, on
one monotonic clock, so each hop is timed from outside:

- carrier -> model: a caller frame's send at the carrier to its `input_audio_buffer.append` at the model (matched
  by the frame's bytes: μ-law passes straight through; the caller's speech carries a little noise, so frames differ);
- model -> carrier: the first audio of each response leaving the model to its first frame reaching the carrier
  (matched by bytes too; only a response's first frame, as playout paces the rest to real time on purpose);
- barge-in: the caller's speech onset over a reply to the `clear` (the simulated caller's own measure).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import numpy as np

from .report import machine, summary

LEVELS = (1, 10, 50)
SETUP = """
from calls.models import Agent
Agent.objects.filter(name='Bright Smile Dental').update(llm_provider='openai-realtime', barge_in_min_ms=200,
    provider_options={'realtime': {'fallback_brain': 'flow', 'first_audio_s': 5.0}})
"""
REPLY = "We are open Monday to Friday from eight until six, and on Saturday mornings from nine until one."


def _speech(ms: int, rng: np.random.Generator) -> bytes:
    from voicebot.testing.pcm import voiced

    pcm = np.frombuffer(voiced(ms), "<i2").astype(np.int32) + rng.integers(-300, 300, 8 * ms)
    return np.clip(pcm, -32767, 32767).astype("<i2").tobytes()


class _Traced:
    """What one carrier sent (frame bytes -> send time) and received (frame bytes -> first arrival)."""

    def __init__(self) -> None:
        self.sent: dict[bytes, float | None] = {}
        self.received: dict[bytes, float] = {}


async def _call(base_url: str, token: str, traced: _Traced, seed: int, delay_s: float):
    from voicebot.testing.carrier.caller import SimulatedCaller, Step
    from voicebot.testing.carrier.peers import TwilioPeer

    class Peer(TwilioPeer):
        def media_message(self, payload: bytes) -> str:
            message = super().media_message(payload)
            if payload.count(payload[:1]) != len(payload):  # not line silence (one repeated byte)
                traced.sent[payload] = None if payload in traced.sent else time.monotonic()
            return message

    class Caller(SimulatedCaller):
        def _on_agent_audio(self, payload: bytes, now: float) -> None:
            traced.received.setdefault(payload, now)
            super()._on_agent_audio(payload, now)

    await asyncio.sleep(delay_s)
    rng = np.random.default_rng(seed)
    peer = Peer(base_url, "+15550100000", auth_token=token, public_base_url=base_url)
    steps = [Step("hours", _speech(1200, rng)), Step("stop", _speech(900, rng), barge_after_ms=1000),
             Step("thanks", _speech(800, rng))]
    return await SimulatedCaller.run(Caller(peer, steps, timeout_s=90))


async def _level(n: int, base_url: str, token: str) -> tuple[list, list[_Traced]]:
    traced = [_Traced() for _ in range(n)]
    # Calls arrive spread over 0.05 s per call (at most 8 s), as in the other load scenarios (bench/load.py).
    spread = min(8.0, 0.05 * n)
    results = await asyncio.gather(*(_call(base_url, token, t, i, spread * i / n) for i, t in enumerate(traced)))
    return list(results), traced


def _hops(fake, traced: list[_Traced], since: int) -> tuple[list[float], list[float], list[float]]:
    """carrier -> model per frame; model -> carrier per response (all, and the greetings alone)."""
    sent: dict[bytes, float | None] = {}
    received: dict[bytes, float] = {}
    for t in traced:
        for payload, at in t.sent.items():
            sent[payload] = None if payload in sent else at
        received.update(t.received)
    inbound, outbound, greetings = [], [], []
    for conn in fake.connections[since:]:
        for at, audio in conn.append_log:
            start = sent.get(audio)
            if start is not None:
                inbound.append(round((at - start) * 1000, 2))
        for i, (at, frame) in enumerate(conn.first_frames):
            arrived = received.get(frame)
            if arrived is not None:
                outbound.append(round((arrived - at) * 1000, 2))
                if i == 0:
                    greetings.append(outbound[-1])
    return inbound, outbound, greetings


def run(log=print, levels=LEVELS) -> dict:
    from voicebot.testing.server import Server
    from voicebot.testing.vendors.cloud import ThreadedCloud
    from voicebot.testing.vendors.openai_realtime import FakeRealtime

    fake = ThreadedCloud(FakeRealtime(replies=[], default_reply=REPLY, trace=True))
    out = {"machine": machine(), "levels": []}
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp), extra_env={**fake.env, "VOICEBOT_WARM_UP": "0", "LOG_LEVEL": "WARNING",
                                              "MAX_CONCURRENT_CALLS": "400"}, )
        try:
            server.start()
            done = server.manage("shell", "-c", SETUP)
            assert done.returncode == 0, done.stderr
            token = (Path(tmp) / "var" / "local_twilio_auth_token").read_text().strip()
            for n in levels:
                since = len(fake.cloud.connections)
                events_before = _event_counts(Path(tmp) / "db.sqlite3")
                load_before = _loadavg()
                results, traced = asyncio.run(_level(n, server.base_url, token))
                inbound, outbound, greetings = _hops(fake.cloud, traced, since)
                clears = [t.clear_ms for r in results for t in r.turns if t.barge_in and t.clear_ms is not None]
                leaks = sum(t.frames_after_clear for r in results for t in r.turns if t.barge_in)
                truncates = sum(len(c.truncates) for c in fake.cloud.connections[since:])
                level = {"calls": n, "carrier_to_model_ms": summary(inbound), "model_to_carrier_ms": summary(outbound),
                         "greeting_model_to_carrier_ms": summary(greetings),
                         "onset_to_clear_ms": summary(clears), "frames_after_clear": leaks, "truncates": truncates,
                         "barge_ins": sum(1 for r in results for t in r.turns if t.barge_in),
                         "errors": [r.error for r in results if r.error], "load_average": [load_before, _loadavg()]}
                after = _event_counts(Path(tmp) / "db.sqlite3")
                level["events"] = {k: v - events_before.get(k, 0) for k, v in after.items()
                                   if v > events_before.get(k, 0)}
                out["levels"].append(level)
                log(f"  {n} calls: carrier->model {level['carrier_to_model_ms']}, model->carrier "
                    f"{level['model_to_carrier_ms']} (greetings {level['greeting_model_to_carrier_ms']}), "
                    f"onset->clear {level['onset_to_clear_ms']}, "
                    f"{truncates} truncates, load {level['load_average']}, events {level['events']}")
        finally:
            server.stop()
            fake.stop()
    return out


def _event_counts(db: Path) -> dict[str, int]:
    """CallEvent kinds stored so far (fallbacks, provider failures... would show why a barge-in lacks a truncate)."""
    import sqlite3

    with sqlite3.connect(db) as conn:
        return dict(conn.execute("select kind, count(*) from calls_callevent group by kind").fetchall())


def _loadavg() -> float:
    import os

    return round(os.getloadavg()[0], 2)


def markdown(data: dict, command: str) -> str:
    rows = []
    for lv in data["levels"]:
        c2m, m2c, clear = lv["carrier_to_model_ms"], lv["model_to_carrier_ms"], lv["onset_to_clear_ms"]
        rows.append(f"| {lv['calls']} | {c2m['p50']} / {c2m['p99']} (n={c2m['n']}) | {m2c['p50']} / {m2c['p99']} "
                    f"(n={m2c['n']}) | {clear['p50']} / {clear['p95']} (n={clear['n']}) | {lv['truncates']} of "
                    f"{lv['barge_ins']} | {lv['frames_after_clear']} | {lv['load_average'][0]} → "
                    f"{lv['load_average'][1]} |")
    return f"""## Speech-to-speech (OpenAI Realtime): what voicebot adds

`{command}` on {data['machine']}. Simulated Twilio callers against daphne (one process, the embedded set-up),
the agent's brain the fake Realtime server (`voicebot/testing/vendors/openai_realtime.py`, in the bench process):
both ends of voicebot on one clock. carrier → model: a caller frame sent by the carrier to its
`input_audio_buffer.append` at the model (μ-law passed through); model → carrier: a response's first audio leaving
the model to its first frame at the carrier; onset → clear: the caller's speech over a reply to the carrier's
`clear` (voiced-time barge-in, 200 ms of speech). Each barge-in is followed by `response.cancel` (if the response
is still running) and a `conversation.item.truncate` at the heard milliseconds. Goals: overhead p50 ≤ 10 ms and p99
≤ 30 ms at 50 calls; onset → clear p95 ≤ 250 ms.

| calls | carrier → model p50 / p99 ms | model → carrier p50 / p99 ms | onset → clear p50 / p95 ms | truncates | frames after clear | load avg (before → after) |
|---|---|---|---|---|---|---|
""" + "\n".join(rows) + "\n\n" + _verdict(data)


def _verdict(data: dict) -> str:
    """The goals, met or not, at the largest level measured."""
    lv = data["levels"][-1]
    c2m, m2c, clear = lv["carrier_to_model_ms"], lv["model_to_carrier_ms"], lv["onset_to_clear_ms"]
    greet = lv.get("greeting_model_to_carrier_ms") or {}

    def met(p50, p99):
        return "met" if p50 is not None and p99 is not None and p50 <= 10 and p99 <= 30 else "missed"

    return (f"At {lv['calls']} calls: carrier → model {met(c2m['p50'], c2m['p99'])} (p50 {c2m['p50']}, p99 "
            f"{c2m['p99']} ms); model → carrier {met(m2c['p50'], m2c['p99'])} (p50 {m2c['p50']}, p95 {m2c['p95']}, "
            f"p99 {m2c['p99']} ms; greetings alone p50 {greet.get('p50')}, p95 {greet.get('p95')} ms. Not yet "
            f"explained by a measurement; likely: the outbound path crosses more event-loop hops than the inbound one "
            f"(the SDK's receive, the session, playout's task), each waiting its turn on a loop that also carries the "
            f"calls' caller audio, and this bench holds the fake server and all callers in one process, on one "
            f"GIL); onset → clear p95 {clear['p95']} ms "
            f"({'met' if clear['p95'] is not None and clear['p95'] <= 250 else 'missed'}). CallEvents stored: "
            f"{lv.get('events', {})}.")

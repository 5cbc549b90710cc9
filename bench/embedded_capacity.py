"""How many concurrent embedded-stack calls two cores hold (local Whisper, the flow engine, Piper), and what each
stage costs in CPU per call.

Ramp: N simulated Twilio calls at once (the `embedded` scenario's five-turn script, started `STAGGER_S` apart so
that their turns do not all fall on the same instant) against daphne on loopback with the demo agent, for N in
`LEVELS`, until a turn is lost (no reply, or a call that failed); the calls held are the largest level which, with
every level below it, kept turn p95 ≤ 800 ms and lost nothing (a slow p95 does not end the ramp: at one call, one
slow turn of five is the p95). The server's
CPU time is sampled during each level (psutil), so every level also says how many of the two cores the calls used.

Stages: the CPU each stage spends on one such call, measured in this process with `time.process_time` (all
threads: Whisper's and Piper's own thread pools count): VAD on every 20 ms frame of the call, Whisper on each
caller turn (as it hears it: 8 kHz, the call's vocabulary prompt), the flow engine on each turn, Piper on each of the
agent's sentences (what the 1-call level stored). Their sum against the call's length says how many calls the CPU
alone would allow; the ramp says what the latency target allows, which is less (Whisper runs one transcription at
a time per process, so simultaneous turns queue).

The harness imports (voicebot.testing) sit inside functions: they load the app's models, which need Django set up,
and `python -m bench` sets Django up only after importing its scenarios. Not an import circle: bench sits above
the app and its harnesses, and nothing imports bench.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path

from .embedded import SCRIPT
from .report import machine, summary

LEVELS = (1, 2, 4, 6, 8)
STAGGER_S = 1.3
P95_LIMIT_MS = 800
RATE = 8000


def holds(level: dict) -> bool:
    """A level is held when no turn was lost, no call failed and turn p95 is within the limit."""
    p95 = level["turn"]["p95"]
    return not level["lost_turns"] and not level["errors"] and p95 is not None and p95 <= P95_LIMIT_MS


def levels_up_to(max_calls: int) -> tuple[int, ...]:
    """The ramp's levels no larger than `--max-calls` (at least the first)."""
    return tuple(n for n in LEVELS if n <= max_calls) or LEVELS[:1]


async def _calls(base_url: str, token: str, n: int, steps) -> list[dict]:
    from voicebot.testing.carrier.caller import SimulatedCaller
    from voicebot.testing.carrier.peers import TwilioPeer

    async def one(i: int) -> dict:
        await asyncio.sleep(i * STAGGER_S)
        peer = TwilioPeer(base_url, "+15550100000", auth_token=token, public_base_url=base_url)
        started = time.monotonic()
        try:
            result = await SimulatedCaller(peer, list(steps), timeout_s=150).run()
        except Exception as exc:  # noqa: BLE001 - a failed call is a lost call at this level, not a crashed bench
            return {"error": repr(exc)[:200], "turns": [], "seconds": time.monotonic() - started}
        return {"call_id": result.call_id, "greeting_ms": result.greeting_ms,
                "turns": [t.latency_ms for t in result.turns], "seconds": round(time.monotonic() - started, 1)}

    return list(await asyncio.gather(*(one(i) for i in range(n))))


def _level(server, token: str, n: int, steps, log) -> dict:
    from .load import Sampler  # psutil: a bench-only package (bench/requirements.txt); tests import this module

    sampler = Sampler([server.proc.pid, os.getpid()])
    sampler.start()
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    calls = asyncio.run(_calls(server.base_url, token, n, steps))
    wall = time.monotonic() - started
    sampler.stop()
    samples = sampler.per_proc
    server_cpu = samples[-1][1][0] - samples[0][1][0] if len(samples) > 1 else None
    caller_cpu = samples[-1][1][1] - samples[0][1][1] if len(samples) > 1 else None
    turns = [t for c in calls for t in c["turns"]]
    lost = sum(1 for t in turns if t is None) + sum(len(SCRIPT) - len(c["turns"]) for c in calls)
    latency = summary([t for t in turns if t is not None])
    out = {
        "calls": n, "wall_s": round(wall, 1), "turn": latency, "lost_turns": lost,
        "turns_per_call": [c["turns"] for c in calls], "slow_turns": _slow_turns(server, calls),
        "errors": [c["error"] for c in calls if "error" in c],
        "greeting": summary([c.get("greeting_ms") for c in calls]),
        "server_cpu_s": round(server_cpu, 1) if server_cpu is not None else None,
        "server_cores": round(server_cpu / wall, 2) if server_cpu is not None else None,
        "caller_cores": round(caller_cpu / wall, 2) if caller_cpu is not None else None,
        "call_ids": [c.get("call_id") for c in calls],
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    log(f"  {n} calls: turn p50 {latency['p50']} p95 {latency['p95']} ms, lost {lost}, "
        f"server {out['server_cores']} cores, load {out['load_average']}")
    return out


def _slow_turns(server, calls: list[dict]) -> list[dict]:
    """The server's own breakdown (TurnMetrics) of each turn over the p95 limit: where its time went."""
    slow = []
    for call in calls:
        late = [i for i, ms in enumerate(call["turns"]) if ms is not None and ms > P95_LIMIT_MS]
        if not late or not call.get("call_id"):
            continue
        measured = [t for t in server.export(call["call_id"])["turns"] if t["metrics"]]  # one per answered turn
        for i in late:
            turn = measured[i] if i < len(measured) else {}
            metrics = turn.get("metrics") or {}
            slow.append({"turn": i, "text": turn.get("text"), "latency_ms": call["turns"][i],
                         **{k: metrics.get(k) for k in ("stt_ms", "brain_ms", "tts_ms", "end_to_end_ms")}})
    return slow


def stage_cpu(agent_sentences: list[str], call_s: float, log=print) -> dict:
    """CPU seconds per call of each stage, measured here one stage at a time (see the module docstring)."""
    import numpy as np

    from calls.flows.brain import FlowBrain
    from calls.flows.demo import DEMO_FLOW
    from calls.pipeline.vad import FrameVAD
    from calls.providers.base import UserTurn
    from calls.providers.stt.whisper_engine import get_whisper
    from calls.providers.tts.piper_local import render
    from voicebot.testing.speech import caller_speech

    speech = [caller_speech(text, RATE) for text in SCRIPT]
    frame = RATE * 2 // 50
    spoken_s = sum(len(p) for p in speech) / (RATE * 2)

    def cpu(fn) -> float:
        before = time.process_time()
        fn()
        return time.process_time() - before

    engine = get_whisper()
    engine.warm_up()
    render("Warm up.", RATE)

    def vad() -> None:
        # Every 20 ms frame of the whole call (the caller's speech, then the line while the agent talks).
        detector = FrameVAD(RATE)
        audio = b"".join(speech)
        audio += np.zeros(max(0, int(call_s * RATE) - len(audio) // 2), dtype="<i2").tobytes()
        for off in range(0, len(audio) - frame + 1, frame):
            detector.is_speech(audio[off : off + frame])

    def whisper() -> None:
        for pcm in speech:
            engine.transcribe(pcm, RATE, prompt="Bright Smile Dental.")

    def flow() -> None:
        async def talk() -> None:
            brain = FlowBrain(DEMO_FLOW, "Hello", None)
            async for _ in brain.greeting():
                pass
            for text in SCRIPT:
                async for _ in brain.respond(UserTurn(text)):
                    pass
        asyncio.run(talk())

    def piper() -> None:
        for sentence in agent_sentences:
            render(sentence, RATE)

    stages = {"vad": cpu(vad), "whisper": cpu(whisper), "flow": cpu(flow), "piper": cpu(piper)}
    out = {name: round(seconds, 3) for name, seconds in stages.items()}
    out["total"] = round(sum(stages.values()), 3)
    out["caller_speech_s"] = round(spoken_s, 1)
    out["call_s"] = round(call_s, 1)
    out["agent_sentences"] = len(agent_sentences)
    log(f"  CPU per call: {out}")
    return out


def _agent_sentences(server, call_id: str) -> list[str]:
    from calls.providers.base import split_sentences

    export = server.export(call_id)
    texts = [t.get("text") or "" for t in export.get("turns", []) if t.get("role") in ("agent", "assistant")]
    sentences: list[str] = []
    for text in texts:
        done, rest = split_sentences(text + " ")
        sentences += done + ([rest.strip()] if rest.strip() else [])
    return sentences


def run(levels=LEVELS, log=print) -> dict:
    from voicebot.testing.carrier.caller import Step
    from voicebot.testing.server import Server

    steps = [Step.spoken(t, RATE) for t in SCRIPT]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp))
        server.start()
        try:
            token = (Path(tmp) / "var" / "local_twilio_auth_token").read_text().strip()
            asyncio.run(_calls(server.base_url, token, 1, steps))  # warm: models loaded, greeting cached
            for n in levels:
                level = _level(server, token, n, steps, log)
                results.append(level)
                if level["lost_turns"] or level["errors"]:
                    break  # a lost turn ends the ramp; a slow p95 does not (one slow turn of 5 is p95 at 1 call)
            sentences = _agent_sentences(server, results[0]["call_ids"][0])
        finally:
            server.stop()
    stages = stage_cpu(sentences, results[0]["wall_s"], log)
    held = 0
    for lv in results:  # the largest level such that it and every level below it held
        if not holds(lv):
            break
        held = lv["calls"]
    return {"machine": machine(), "levels": results, "stages": stages, "holds": held,
            "cpu_bound_calls": round(2 * results[0]["wall_s"] / stages["total"], 1) if stages["total"] else None}


def markdown(data: dict, command: str) -> str:
    rows = "\n".join(
        f"| {lv['calls']} | {lv['turn']['p50']} | {lv['turn']['p95']} | {lv['turn']['n']} | {lv['lost_turns']} "
        f"| {len(lv['errors'])} | {lv['greeting']['p50']} | {lv['server_cores']} | {lv['load_average'][0]} → "
        f"{lv['load_average'][1]} |"
        for lv in data["levels"])
    slow = "\n".join(
        f"- {lv['calls']} calls, turn {t['turn'] + 1} ({t['text']!r}): {t['latency_ms']} ms; STT {t['stt_ms']}, "
        f"brain {t['brain_ms']}, TTS {t['tts_ms']}"
        for lv in data["levels"] for t in lv.get("slow_turns", [])) or "- none"
    st = data["stages"]
    stage_rows = "\n".join(f"| {name} | {round(st[name] * 1000)} |" for name in ("vad", "whisper", "flow", "piper"))
    last = data["levels"][-1]
    stopped = (f"the ramp went up to {last['calls']} calls" if not last["lost_turns"] and not last["errors"]
               else f"stopped at {last['calls']} calls, which lost a turn")
    return f"""## Embedded capacity: concurrent calls on two cores (Whisper tiny.en, flow engine, Piper)

`{command}` (scenario `embedded-capacity`, bench/embedded_capacity.py): N simulated Twilio calls at once (the
`embedded` scenario's 5-turn script, started {STAGGER_S} s apart), the demo agent (Whisper tiny.en, the demo flow,
Piper joe), daphne on loopback; the ramp goes on until a turn is lost (or its last level); a level is held with
turn p95 ≤ {P95_LIMIT_MS} ms and nothing lost. Machine:
{data['machine']}; the machine is shared, the load average (1 min) before → after each level is in the table.

| calls at once | turn p50 ms | turn p95 ms | turns | lost | failed calls | greeting p50 ms | server cores used | load avg |
|---|---|---|---|---|---|---|---|---|
{rows}

**Held: {data['holds']} concurrent calls** within p95 ≤ {P95_LIMIT_MS} ms and nothing lost, at that level and every
level below it ({stopped}). Turns over {P95_LIMIT_MS} ms, with the server's breakdown (ms):

{slow}

CPU per call by stage (one call of this script: {st['call_s']} s, {st['caller_speech_s']} s of it caller speech in
5 turns, {st['agent_sentences']} agent sentences), measured one stage at a time in the bench process (VAD: every
20 ms frame of the call; the rest of the per-frame path is in the `perframe` section):

| stage | CPU ms per call |
|---|---|
{stage_rows}
| total | {round(st['total'] * 1000)} |

A call lasts about {data['levels'][0]['wall_s']} s, so the CPU alone would allow about {data['cpu_bound_calls']} such
calls on two cores; the latency target allows fewer, because Whisper transcribes one turn at a time per process
(simultaneous turns queue behind each other) and each turn's transcription, its reply's Piper sentence and the
other calls' work compete for the same two cores at the same moments.
"""

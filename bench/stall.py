"""Dead air when the agent's LLM stalls: `python -m bench --scenario stall`.

A caller (Piper "joe", through 8 kHz μ-law, in real time) asks a question of an in-process `CallSession` with the
real local Whisper STT, the agent default turn-taking, the real embedded voice (Piper) and the LLM brain as calls
build it: the real `OpenAIBrain` (the OpenAI SDK) against a local OpenAI-compatible server
(voicebot/testing/vendors/openai.py), behind the `FallbackBrain` with the chains' deadline and a flow stand-in as
the secondary. The server answers each question:

- "no stall": streams the answer (the reference);
- "before the first token": sends the response headers, then nothing;
- "mid-answer": streams "Let me see" and then nothing, on an open stream.

Measured per call: the silence the caller hears after their question, from its last sample to the first 20 ms of
the agent's voice the carrier played (so it includes the end of turn, the transcript, the deadline and the speech
synthesis), and the longest silence inside the agent's answer once it began (the mid-answer stall sits there).
"""

from __future__ import annotations

import asyncio
import time

from .turntaking import RATE, Line, Trial, _trimmed

QUESTION = "What are your opening hours?"
ANSWER = "We are open Monday to Friday from nine to six."
HALF = "Let me see"
KINDS = ("no stall", "before the first token", "mid-answer")
GOAL_MS = 1500
CALLS_PER_KIND = 5


def _reply(kind: str):
    from voicebot.testing.vendors import ScriptedReply

    if kind == "before the first token":
        return ScriptedReply(text=ANSWER, first_token_delay_s=30)
    if kind == "mid-answer":  # the role chunk, then "Let", " me", " see", then 30 s of nothing
        return ScriptedReply(text=f"{HALF} what I can find for you.", stall_after_chunks=4)
    return ScriptedReply(text=ANSWER)


def _brain(base_url: str):
    from calls.providers.fallback import FallbackBrain
    from calls.providers.llm.openai_brain import OpenAIBrain
    from calls.providers.chains import BRAIN_FIRST_OUTPUT_S  # the deadline calls get for the LLM's next output
    from voicebot.testing.in_process import ScriptBrain

    primary = OpenAIBrain(greeting="Hello, how can I help?", options={"base_url": base_url, "model": "bench"})
    secondary = ScriptBrain(greeting="How can I help?", answer="We are open from nine to six on weekdays.")
    return FallbackBrain(primary, secondary, first_output_s=BRAIN_FIRST_OUTPUT_S)


async def _call(kind: str, question: bytes, base_url: str) -> dict:
    from calls.providers.tts.piper_local import PiperTTS
    from calls.session.turn_taking import AGENT_DEFAULT_END_OF_TURN

    brain = _brain(base_url)
    async with Trial("", AGENT_DEFAULT_END_OF_TURN, Line(None, 1.0, 0), brain=brain,
                     tts=PiperTTS(RATE, "en_US-joe-medium", {})) as call:
        await call.silence_until(lambda: call.carrier.played > 0 and not call.session.speaker.busy, 8.0)
        await call.silence_until(lambda: False, 0.4)
        _, last = await call.feed(question)
        plays = lambda: [t for t in call.carrier.times("play") if t >= last]  # noqa: E731
        await call.silence_until(lambda: bool(plays()), 6.0)
        # ... then until the agent has been quiet for 1.5 s (its answer, fallback line and all, is over).
        loop = asyncio.get_running_loop()
        await call.silence_until(lambda: plays() and loop.time() - plays()[-1] > 1.5, 8.0)
        heard = plays()
        gaps = [b - a - 0.02 for a, b in zip(heard, heard[1:])]
        said = [t.text for t in call.recorder.turns if t.role == "agent"]
        return {"kind": kind, "silence_after_turn_ms": round((heard[0] - last) * 1000, 1) if heard else None,
                "longest_gap_in_answer_ms": round(max(gaps) * 1000, 1) if gaps else 0.0,
                "answer": said[-1] if len(said) > 1 else None,
                "caller": [t.text for t in call.recorder.turns if t.role == "caller"]}


async def _measure(log, calls_per_kind: int) -> dict:
    from django.conf import settings

    from bench.report import percentile
    from calls.providers.stt.whisper_engine import get_whisper
    from voicebot.testing.vendors import FakeOpenAI
    from voicebot.testing.vendors.openai import API_KEY

    get_whisper().warm_up()
    question = bytes(RATE // 5) + _trimmed(QUESTION, "piper-joe")
    trials = []
    current = {"kind": KINDS[0]}
    fake = FakeOpenAI(responder=lambda body: _reply(current["kind"]))
    saved = getattr(settings, "OPENAI_API_KEY", "")
    settings.OPENAI_API_KEY = API_KEY
    try:
        async with fake:
            for kind in KINDS:
                current["kind"] = kind
                started = time.monotonic()
                for _ in range(calls_per_kind):
                    trials.append(await _call(kind, question, fake.base_url))
                log(f"  {kind}: {time.monotonic() - started:.0f} s")
    finally:
        settings.OPENAI_API_KEY = saved

    groups = {}
    for kind in KINDS:
        rows = [t for t in trials if t["kind"] == kind]
        after = [t["silence_after_turn_ms"] for t in rows if t["silence_after_turn_ms"] is not None]
        inside = [t["longest_gap_in_answer_ms"] for t in rows]
        groups[kind] = {"calls": len(rows), "unanswered": len(rows) - len(after),
                        "after_p50_ms": percentile(after, 50), "after_p95_ms": percentile(after, 95),
                        "after_max_ms": max(after) if after else None,
                        "inside_p50_ms": percentile(inside, 50), "inside_max_ms": max(inside) if inside else None}
    stalls = [g for kind, g in groups.items() if kind != KINDS[0]]
    met = all(g["unanswered"] == 0 and g["after_max_ms"] <= GOAL_MS and g["inside_max_ms"] <= GOAL_MS for g in stalls)
    return {"groups": groups, "trials": trials, "goal_ms": GOAL_MS, "met": met}


def run(log=print, calls_per_kind: int = CALLS_PER_KIND) -> dict:
    return asyncio.run(_measure(log, calls_per_kind))


def _f(value) -> str:
    return "–" if value is None else f"{value:g}"


def markdown(data: dict, command: str, machine: str) -> str:
    rows = "\n".join(f"| {kind} | {g['calls']} | {_f(g['after_p50_ms'])} | {_f(g['after_p95_ms'])} | "
                     f"{_f(g['after_max_ms'])} | {_f(g['inside_max_ms'])} | {g['unanswered']} |"
                     for kind, g in data["groups"].items())
    answers = "\n".join(f"- {kind}: “{next((t['answer'] for t in data['trials'] if t['kind'] == kind), None)}”"
                        for kind in data["groups"])
    verdict = "met" if data["met"] else "missed"
    return f"""## Dead air when the LLM stalls

`{command}` (scenario `stall`): a caller (Piper "joe", 8 kHz μ-law, real time) asks "{QUESTION}" of an in-process
call with the real local Whisper (tiny.en), the agent default turn-taking, the embedded Piper voice and the LLM
brain as calls build it: the real OpenAI SDK against a local OpenAI-compatible server, behind the fallback brain
(deadline for the LLM's next output: the chains' default), a flow stand-in as the secondary. The server streams the
answer (reference), stalls before its first token, or streams "{HALF}" and stalls. *After the turn*: from the
caller's last sample to the first 20 ms of the agent's voice the carrier played (end of turn, transcript, deadline,
speech synthesis: all the caller waits); *inside*: the longest silence within the agent's answer once it began.
Milliseconds. Machine: {machine}.

| LLM | calls | after the turn p50 | p95 | max (goal ≤ {GOAL_MS}) | longest inside the answer, max (≤ {GOAL_MS}) | unanswered |
|---|---|---|---|---|---|---|
{rows}

What the caller heard (first call of each):
{answers}

Goal (silence after the caller's turn when the LLM stalls before or in the middle of its answer ≤ {GOAL_MS} ms,
every call): {verdict}. Before the first token the caller hears a filler ("One moment.") 1.1 s after their last
voiced frame (`FallbackBrain`, `calls/providers/fallback.py`; it is no failure: the LLM keeps its deadline), then the
fallback line and the flow once that deadline passes; in the middle of the answer the half sentence is spoken
after 0.3 s without text (`calls/session/speaker.py`) and the fallback line follows.
"""

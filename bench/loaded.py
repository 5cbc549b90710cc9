"""Load never loses a turn: embedded-stack calls (local Whisper, the flow engine, local TTS) over a real socket while
other processes keep both cores busy; every caller utterance must be stored as (part of) a turn with its words, and
answered. Late is allowed, lost is not.

The callers' scripts include a mid-sentence pause ("... forty two Maple Avenue," 700 ms, "apartment six.") and a
barge-in ("Sorry, actually, I would like to book an appointment" 700 ms into the agent's answer). After the calls,
the database (the server's export of each call) is checked: for every utterance, its key words in a stored caller
turn, an agent turn after that turn, no `unanswered` event; both halves of the paused sentence in one turn.

The CPU hogs are processes of bounded busy loops: each stops by itself after `hog_s`, and is terminated at the end
in any case.

The harness imports (voicebot.testing) sit inside functions: they load the app's models, which need Django set up,
and `python -m bench` sets Django up only after importing its scenarios. Not an import circle: bench sits above
the app and its harnesses, and nothing imports bench.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import re
import tempfile
import time
from pathlib import Path

from .report import machine, save, summary

#: (what the caller says, barge-in ms into the agent's reply or None, key words each of which must be stored —
#: alternatives separated by "|" — as Whisper tiny.en may spell them).
SCRIPT: list[tuple[str | tuple[str, int, str], int | None, list[str]]] = [
    ("What are your opening hours?", None, ["opening|open", "hours"]),
    ("Sorry, actually, I would like to book an appointment", 700, ["book|booking", "appointment"]),
    (("I moved recently, my new address is forty two Maple Avenue,", 700, "apartment six."), None,
     ["maple", "avenue", "apartment|department", "six|6"]),
    ("Tomorrow", None, ["tomorrow"]),
    ("No thanks, goodbye", None, ["goodbye|bye"]),
]
PAUSED = 2  # the utterance with a pause inside: both halves must be in one turn


def _busy(until: float) -> None:
    """A bounded busy loop: keeps one core busy until `until` (monotonic), then stops by itself."""
    x = 0
    while time.monotonic() < until:
        for i in range(10000):
            x ^= i


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def _has(words: list[str], key: str) -> bool:
    return any(alt in words for alt in key.split("|"))


def _steps(rate: int):
    from voicebot.testing.carrier.caller import Step
    from voicebot.testing.speech import caller_speech

    steps = []
    for said, barge, _keys in SCRIPT:
        if isinstance(said, tuple):
            first, pause_ms, rest = said
            pcm = (caller_speech(first, rate) + b"\x00\x00" * (rate * pause_ms // 1000)
                   + caller_speech(rest, rate))
            steps.append(Step(text=f"{first} {rest}", pcm=pcm))
        else:
            steps.append(Step.spoken(said, rate, barge_after_ms=barge))
    return steps


async def _one_call(base_url: str, token: str) -> dict:
    from voicebot.testing.carrier.caller import SimulatedCaller
    from voicebot.testing.carrier.peers import TwilioPeer

    class TimedCaller(SimulatedCaller):
        """Notes when each utterance starts going out (wall clock, as the server's turn times) and how long it is."""

        spoken: list[tuple[float, float]]

        def _speak(self, pcm: bytes) -> None:
            self.spoken.append((time.time(), len(pcm) / (2 * self.peer.sample_rate)))
            super()._speak(pcm)

    peer = TwilioPeer(base_url, "+15550100000", auth_token=token, public_base_url=base_url)
    caller = TimedCaller(peer, _steps(peer.sample_rate), timeout_s=180)
    caller.spoken = []
    result = await caller.run()
    return {"call_id": result.call_id, "error": result.error, "greeting_ms": result.greeting_ms,
            "spoken": caller.spoken,
            "turns": [{"text": t.text, "latency_ms": t.latency_ms, "barge_in": t.barge_in, "clear_ms": t.clear_ms}
                      for t in result.turns]}


async def _calls(base_url: str, token: str, calls: int, concurrent: int, log) -> list[dict]:
    results: list[dict] = []
    for start in range(0, calls, concurrent):
        batch = range(start, min(calls, start + concurrent))
        done = await asyncio.gather(*(_one_call(base_url, token) for _ in batch))
        for i, res in zip(batch, done, strict=True):
            lat = [t["latency_ms"] for t in res["turns"]]
            log(f"  call {i + 1}/{calls}: greeting {res['greeting_ms']} ms, turns {lat} {res['error']}")
        results.extend(done)
    return results


def check(export: dict, spoken: list[tuple[float, float]]) -> dict:
    """Each scripted utterance of one call against what the database holds.

    An utterance is stored if a caller turn with words covers it: the turn began (`started_at`, the VAD's speech
    start) before the next utterance and ended (`ended_at`, its transcript in) after this one began; answered if an
    agent turn follows that turn. Lost is either missing. Whether Whisper tiny.en heard its key words is counted apart:
    a misheard word is the model's error, not a lost turn."""
    from datetime import datetime

    turns = export["turns"]
    caller = [dict(t, at=datetime.fromisoformat(t["started_at"]).timestamp(),
                   until=datetime.fromisoformat(t["ended_at"]).timestamp()) for t in turns if t["role"] == "caller"]
    unanswered = [e["detail"] for e in export["events"] if e["kind"] == "unanswered"]
    out = []
    for n, (said, _barge, keys) in enumerate(SCRIPT):
        entry = {"said": said if isinstance(said, str) else f"{said[0]} … {said[2]}"}
        if n >= len(spoken):
            entry.update(stored=[], lost=True, answered=False, key_words=0, words=len(keys), why="never said")
            out.append(entry)
            continue
        start, duration = spoken[n]
        until = spoken[n + 1][0] if n + 1 < len(spoken) else start + duration + 30.0
        # A turn covers the utterance if it began before the next utterance and was stored (its transcript in)
        # after this one began: a turn the caller went on with starts with the first words and holds the later.
        mine = [t for t in caller if t["at"] < until and t["until"] > start and t["text"].strip()]
        words = _words(" ".join(t["text"] for t in mine))
        answered = bool(mine) and any(t["role"] == "agent" and t["index"] > mine[-1]["index"] for t in turns)
        entry.update(stored=[t["text"] for t in mine], turns=len(mine), answered=answered, words=len(keys),
                     key_words=sum(_has(words, k) for k in keys), lost=not mine or not answered)
        out.append(entry)
    latencies = [t["metrics"]["end_to_end_ms"] for t in turns if t["role"] == "agent" and t["metrics"]
                 and t["metrics"].get("end_to_end_ms") is not None]
    return {"call_id": export.get("carrier_call_id"), "utterances": out,
            "turns": [{k: t[k] for k in ("index", "role", "text", "started_at", "ended_at", "interrupted")}
                      for t in turns], "unanswered": unanswered,
            "caller_turns": [t["text"] for t in caller], "agent_turns": sum(t["role"] == "agent" for t in turns),
            "server_turn_ms": latencies, "end_reason": export.get("end_reason"),
            "barge_ins": sum(e["kind"] == "barge_in" for e in export["events"]),
            "backchannels": [e["detail"].get("words", "") for e in export["events"] if e["kind"] == "backchannel"]}


def run(calls: int = 4, concurrent: int = 2, hogs: int | None = None, log=print) -> dict:
    from voicebot.testing.server import Server

    hogs = hogs or os.cpu_count() or 2
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp))
        server.start()
        procs, results, minutes, load = [], [], 0.0, 0.0
        try:
            token = (Path(tmp) / "var" / "local_twilio_auth_token").read_text().strip()
            hog_s = 60.0 * calls / concurrent + 60.0
            ctx = multiprocessing.get_context("spawn")
            procs = [ctx.Process(target=_busy, args=(time.monotonic() + hog_s,), daemon=True) for _ in range(hogs)]
            for p in procs:
                p.start()
            log(f"  {hogs} busy processes started (stop by themselves within {hog_s:.0f} s)")
            started = time.monotonic()
            results = asyncio.run(_calls(server.base_url, token, calls, concurrent, log))
            minutes = (time.monotonic() - started) / 60
            load = os.getloadavg()[0]
        finally:
            for p in procs:
                p.terminate()
                p.join()
            exports = []
            try:
                exports = [server.export(r["call_id"]) for r in results if r.get("call_id")]
            finally:
                server.stop()
    spoken = {r["call_id"]: r["spoken"] for r in results}
    checks = [check(e, spoken.get(e.get("carrier_call_id"), [])) for e in exports]
    utterances = [u for c in checks for u in c["utterances"]]
    lost = [u for u in utterances if u["lost"]]
    client = [t["latency_ms"] for r in results for t in r["turns"] if not t["barge_in"]]
    data = {
        "machine": machine(), "calls": calls, "concurrent": concurrent, "hogs": hogs, "minutes": round(minutes, 1),
        "load_average_1m": round(load, 2), "utterances": len(utterances) + sum(
            len(SCRIPT) - len(c["utterances"]) for c in checks), "lost": len(lost), "lost_detail": lost,
        "unanswered_events": sum(len(c["unanswered"]) for c in checks),
        "paused_in_one_turn": sum(c["utterances"][PAUSED].get("turns") == 1 for c in checks),
        "key_words": [sum(u["key_words"] for u in utterances), sum(u["words"] for u in utterances)],
        "barge_ins": sum(c["barge_ins"] for c in checks),
        "backchannels": sum(len(c["backchannels"]) for c in checks),
        "turn_latency": summary(client), "server_turn_ms": summary([v for c in checks for v in c["server_turn_ms"]]),
        "errors": [r["error"] for r in results if r["error"]], "checks": checks, "results": results,
    }
    data["lost"] += len(calls_missing := [r for r in results if not r.get("call_id")]) * len(SCRIPT)
    data["calls_without_record"] = len(calls_missing)
    return data


def markdown(data: dict, command: str) -> str:
    t, s = data["turn_latency"], data["server_turn_ms"]
    lost_rows = "\n".join(f"- {u['said']!r}: stored {u['stored']}, answered {u['answered']}"
                          for u in data["lost_detail"]) or "- none"
    paused = [c["utterances"][PAUSED] for c in data["checks"]]
    paused_rows = "\n".join(f"- {u['stored']}" for u in paused)
    heard, keys = data["key_words"]
    return f"""## Under load: no turn lost

`{command}` (scenario `loaded`): {data['calls']} embedded-stack calls ({data['concurrent']} at a time; local Whisper
tiny.en, the flow engine, local TTS; simulated Twilio callers over a real socket) while {data['hogs']} other
processes keep both cores busy (bounded busy loops; 1-minute load average at the end {data['load_average_1m']}).
Each caller says {len(SCRIPT)} things, among them a barge-in 700 ms into the agent's answer ("Sorry, actually, I
would like to book an appointment") and a sentence with a 700 ms pause inside ("… forty two Maple Avenue,"
pause, "apartment six."). Then the database is checked (`bench/loaded.py:check`): an utterance is **stored** if a
caller turn with words covers it (began before the next utterance, stored after this one began), **answered** if
an agent turn follows that turn; **lost** if either is missing. Machine: {data['machine']}; {data['minutes']} min.

| measure | value | goal |
|---|---|---|
| caller utterances | {data['utterances']} | |
| **lost** (no stored turn with its words, or not answered) | **{data['lost']}** | 0 |
| `unanswered` events | {data['unanswered_events']} | |
| barge-ins (CallEvents; one scripted per call) | {data['barge_ins']} | |
| backchannels recorded (caller words that were no turn) | {data['backchannels']} | |
| paused sentence stored as one turn with both halves | {data['paused_in_one_turn']} / {data['calls']} | |
| key words Whisper tiny.en heard (its own errors, not lost turns) | {heard} / {keys} | |
| turn latency under load, caller's last voiced frame → first reply frame (p50 / p95 ms, n) | {t['p50']} / {t['p95']} ({t['n']}) | late is allowed |
| server end-to-end per reply, from the stored TurnMetrics (p50 / p95 ms) | {s['p50']} / {s['p95']} | |

Lost utterances:
{lost_rows}

The paused sentence, as stored in each call:
{paused_rows}

When the caller goes on while their turn is still being transcribed (under load that takes seconds), the turn is
not committed: its audio stays in the STT and the words after the pause join it — one turn, one answer
(`CallSession._caller_went_on`); before, the commit dropped the new words already in the buffer. When the reply
was already playing when they went on, the rest is an interruption: a turn of its own, answered (two turns, no
word lost). With the machine this busy a caller may speak again before their previous turn was answered at all:
then both are one turn (e.g. "apartment six" + "Tomorrow"), answered once. Whisper tiny.en drops "Sorry, actually," before a longer phrase even offline, on the same audio.
"""


def main_section(calls: int, command: str, log=print) -> dict:
    data = run(calls=calls, log=log)
    save("loaded", data, markdown(data, command))
    return data

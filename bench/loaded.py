"""Load never loses a turn: embedded-stack calls (local Whisper, the flow engine, local TTS) over a real socket while
other processes keep both cores busy; every caller utterance must be stored as (part of) a turn with its words, and
answered. Late is allowed, lost is not.

The callers' scripts include a mid-sentence pause ("... forty two Maple Avenue," 700 ms, "apartment six.") and a
barge-in ("Sorry, actually, I would like to book an appointment" 700 ms into the agent's answer). After the calls,
the database (the server's export of each call) is checked: for every utterance, its key words in a stored caller
turn, an agent turn after that turn, no `unanswered` event; both halves of the paused sentence in one turn.

The CPU hogs are processes of bounded busy loops: each stops by itself after `hog_s`, and is terminated at the end
in any case.
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


async def _one_call(base_url: str, token: str, number: int) -> dict:
    from voicebot.testing.carrier.caller import SimulatedCaller
    from voicebot.testing.carrier.peers import TwilioPeer

    peer = TwilioPeer(base_url, f"+1555010{number:04d}", auth_token=token, public_base_url=base_url)
    result = await SimulatedCaller(peer, _steps(peer.sample_rate), timeout_s=180).run()
    return {"call_id": result.call_id, "error": result.error, "greeting_ms": result.greeting_ms,
            "turns": [{"text": t.text, "latency_ms": t.latency_ms, "barge_in": t.barge_in, "clear_ms": t.clear_ms}
                      for t in result.turns]}


async def _calls(base_url: str, token: str, calls: int, concurrent: int, log) -> list[dict]:
    results: list[dict] = []
    for start in range(0, calls, concurrent):
        batch = range(start, min(calls, start + concurrent))
        done = await asyncio.gather(*(_one_call(base_url, token, i) for i in batch))
        for i, res in zip(batch, done, strict=True):
            lat = [t["latency_ms"] for t in res["turns"]]
            log(f"  call {i + 1}/{calls}: greeting {res['greeting_ms']} ms, turns {lat} {res['error']}")
        results.extend(done)
    return results


def check(export: dict) -> dict:
    """Each scripted utterance of one call against what the database holds."""
    turns = export["turns"]
    caller = [t for t in turns if t["role"] == "caller"]
    unanswered = [e["detail"] for e in export["events"] if e["kind"] == "unanswered"]
    out = []
    for n, (said, _barge, keys) in enumerate(SCRIPT):
        stored = [t for t in caller if sum(_has(_words(t["text"]), k) for k in keys) > 0]
        words = _words(" ".join(t["text"] for t in stored))
        found = [k for k in keys if _has(words, k)]
        answered = bool(stored) and any(t["role"] == "agent" and t["index"] > stored[-1]["index"] for t in turns)
        entry = {"said": said if isinstance(said, str) else f"{said[0]} … {said[2]}", "stored": [t["text"] for t in
                 stored], "words_found": len(found), "words": len(keys), "answered": answered}
        if n == PAUSED:
            entry["one_turn"] = any(all(_has(_words(t["text"]), k) for k in keys) for t in stored)
        entry["lost"] = not stored or len(found) < len(keys) or not answered or not entry.get("one_turn", True)
        out.append(entry)
    latencies = [t["metrics"]["end_to_end_ms"] for t in turns if t["role"] == "agent" and t["metrics"]
                 and t["metrics"].get("end_to_end_ms") is not None]
    return {"call_id": export.get("carrier_call_id"), "utterances": out, "unanswered": unanswered,
            "caller_turns": [t["text"] for t in caller], "agent_turns": sum(t["role"] == "agent" for t in turns),
            "server_turn_ms": latencies, "end_reason": export.get("end_reason")}


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
    checks = [check(e) for e in exports]
    utterances = [u for c in checks for u in c["utterances"]]
    lost = [u for u in utterances if u["lost"]]
    client = [t["latency_ms"] for r in results for t in r["turns"] if not t["barge_in"]]
    data = {
        "machine": machine(), "calls": calls, "concurrent": concurrent, "hogs": hogs, "minutes": round(minutes, 1),
        "load_average_1m": round(load, 2), "utterances": len(utterances) + sum(
            len(SCRIPT) - len(c["utterances"]) for c in checks), "lost": len(lost), "lost_detail": lost,
        "unanswered_events": sum(len(c["unanswered"]) for c in checks),
        "paused_in_one_turn": sum(bool(c["utterances"][PAUSED].get("one_turn")) for c in checks),
        "barge_ins": sum(t["barge_in"] for r in results for t in r["turns"]),
        "turn_latency": summary(client), "server_turn_ms": summary([v for c in checks for v in c["server_turn_ms"]]),
        "errors": [r["error"] for r in results if r["error"]], "checks": checks, "results": results,
    }
    data["lost"] += len(calls_missing := [r for r in results if not r.get("call_id")]) * len(SCRIPT)
    data["calls_without_record"] = len(calls_missing)
    return data


def markdown(data: dict, command: str) -> str:
    t, s = data["turn_latency"], data["server_turn_ms"]
    lost_rows = "\n".join(f"- {u['said']!r}: stored {u['stored']}, {u['words_found']}/{u['words']} key words, "
                          f"answered {u['answered']}" for u in data["lost_detail"]) or "- none"
    return f"""## Under load: no turn lost

`{command}` (scenario `loaded`): {data['calls']} embedded-stack calls ({data['concurrent']} at a time; local Whisper
tiny.en, the flow engine, local TTS; simulated Twilio callers over a real socket) while {data['hogs']} other
processes keep both cores busy (bounded busy loops; 1-minute load average at the end {data['load_average_1m']}).
Each caller says {len(SCRIPT)} things, among them a barge-in 700 ms into the agent's answer ("Sorry, actually, I
would like to book an appointment") and a sentence with a 700 ms pause inside ("… forty two Maple Avenue,"
pause, "apartment six."). Then the database is checked: every utterance's key words in a stored caller turn, an
agent turn after it. Machine: {data['machine']}; {data['minutes']} min.

| measure | value | goal |
|---|---|---|
| caller utterances | {data['utterances']} | |
| **lost** (words not stored, or not answered) | **{data['lost']}** | 0 |
| `unanswered` events | {data['unanswered_events']} | |
| paused sentence stored as one turn with both halves | {data['paused_in_one_turn']} / {data['calls']} | all |
| barge-ins | {data['barge_ins']} | |
| turn latency under load, caller's last voiced frame → first reply frame (p50 / p95 ms, n) | {t['p50']} / {t['p95']} ({t['n']}) | late is allowed |
| server end-to-end per reply, from the stored TurnMetrics (p50 / p95 ms) | {s['p50']} / {s['p95']} | |

Lost utterances:
{lost_rows}

A turn the caller goes on with while it is still being transcribed is not committed: its audio stays in the STT
and the words said after the pause join it (one turn, one answer; `CallSession._caller_went_on`). Under load that
window is wide (the transcript takes seconds), which is when words used to vanish.
"""


def main_section(calls: int, command: str, log=print) -> dict:
    data = run(calls=calls, log=log)
    save("loaded", data, markdown(data, command))
    return data

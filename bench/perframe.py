"""The per-frame path in one process, without sockets: carrier JSON -> serializer.parse -> CallSession.on_audio.

Every 20 ms of every call goes through this path, so it is measured on its own, in µs per frame, where the
network, the load generator and the database cannot hide a change. Two patterns: a caller who is silent (the
common case: the caller listens while the agent talks) and one who talks (speech starts, pauses, turns end). The
session's providers are stubs, and the work a turn starts (transcription, the brain) is never run: what is measured
is the synchronous path the carrier's frames take. Read medians; the machine is shared.
"""

from __future__ import annotations

import asyncio
import base64
import json
import statistics
import time

import numpy as np

FRAMES = 5000
RUNS = 7
RATE = 8000


class _QuietSTT:
    """Takes audio, never transcribes (the turn's transcription is not part of the per-frame path)."""

    ttfb_ms = None

    def send_audio(self, pcm: bytes) -> None:
        pass

    def __getattr__(self, name):
        return _nothing


async def _nothing(*args, **kwargs) -> None:
    return None


class _Stub:
    def __getattr__(self, name):
        return _nothing


def _media(payloads: list[bytes]) -> list[str]:
    return [json.dumps({"event": "media", "streamSid": "MZbench", "sequenceNumber": str(i + 2),
                        "media": {"track": "inbound", "chunk": str(i + 1), "timestamp": str(20 * i),
                                  "payload": base64.b64encode(p).decode()}})
            for i, p in enumerate(payloads)]


def _frame(voiced: bool) -> bytes:
    from calls.pipeline.audio import get_codec

    t = np.arange(RATE // 50) / RATE
    pcm = (np.sin(2 * np.pi * 140 * t) * 8000 if voiced else np.zeros(t.size)).astype("<i2").tobytes()
    return get_codec("PCMU", RATE).encode(pcm)


def _start() -> str:
    return json.dumps({"event": "start", "sequenceNumber": "1", "streamSid": "MZbench",
                       "start": {"callSid": "CAbench", "streamSid": "MZbench", "accountSid": "ACbench",
                                 "tracks": ["inbound"], "customParameters": {"token": "t"},
                                 "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": RATE, "channels": 1}}})


def _time(serializer, session, messages: list[str]) -> list[float]:
    runs = []
    for _ in range(RUNS):
        t0 = time.perf_counter_ns()
        for text in messages:
            for event in serializer.parse(text):
                session.on_audio(event.pcm)
        runs.append((time.perf_counter_ns() - t0) / len(messages) / 1000)
    return runs


async def _measure() -> dict:
    # The app's modules need Django set up, which `python -m bench` does after importing its scenarios.
    from calls.carriers.twilio.media import TwilioSerializer
    from calls.session.call_session import CallSession
    from calls.session.settings import AgentSettings

    serializer = TwilioSerializer()
    serializer.parse(_start())

    async def send(text: str) -> None:
        pass

    session = CallSession(call_id="CAbench", settings=AgentSettings(), serializer=serializer, send=send,
                          close=_nothing, stt=_QuietSTT(), tts=_Stub(), brain=_Stub(), recorder=_Stub(),
                          sample_rate=RATE)
    quiet = _media([_frame(False)] * FRAMES)
    talking = _media(([_frame(True)] * 50 + [_frame(False)] * 50) * (FRAMES // 100))
    out = {"quiet": _time(serializer, session, quiet), "talking": _time(serializer, session, talking)}
    for task in list(session._tasks):  # turns the talking pattern started: not part of the measurement
        task.cancel()
    return out


def run() -> dict:
    runs = asyncio.run(_measure())
    return {name: {"median_us": round(statistics.median(r), 2), "runs_us": [round(x, 2) for x in r]}
            for name, r in runs.items()} | {"frames": FRAMES, "runs": RUNS}


def markdown(data: dict, command: str) -> str:
    rows = "\n".join(f"| {name} | {data[name]['median_us']} | {', '.join(map(str, data[name]['runs_us']))} |"
                     for name in ("quiet", "talking"))
    # Microseconds differ threefold between the machines sessions run on (an AVX2-only EPYC read 14.7 where an
    # earlier machine read 5.0 for the same tree): compare figures of one machine only.
    where = f" Machine: {data['machine']}." if data.get("machine") else ""
    return f"""## The per-frame path

`{command}`: a Twilio media message through `TwilioSerializer.parse` and `CallSession.on_audio`, in one process
({data['frames']} frames a run, {data['runs']} runs; stub providers). Every 20 ms of every call takes this path.{where}
Figures of different machines differ up to threefold: compare runs of one machine only.

| caller | median µs per frame | runs |
|---|---|---|
{rows}"""

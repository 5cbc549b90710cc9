"""The realtime scenario's model: the fake Realtime server in a process of its own (bench/realtime.py).

    python -m bench.realtime_fake SPEC.json OUT.json

SPEC: {"ready": path, "reply": text, "transcript": the caller's words, "port"}. Writes its base URL to `ready` once
it listens, serves until SIGTERM, then writes, per connection, the appends it received (as 20 ms frames) and each
response's first 20 ms of audio, with their CLOCK_MONOTONIC times (`time.monotonic`, system-wide on Linux: the callers' process reads the same clock). In its
own process so that the model's sends do not queue behind voicebot's or the callers' work on one GIL.
"""

from __future__ import annotations

import asyncio
import base64
import signal
from pathlib import Path

from voicebot.testing.vendors.openai_realtime import FakeRealtime

from .child import LoopLag, serve


def _b64(audio: bytes) -> str:
    return base64.b64encode(audio).decode("ascii")


def _frames(audio: bytes) -> list[bytes]:
    """An append as the carrier's 20 ms μ-law frames (160 bytes): voicebot joins frames that queued up."""
    return [audio[i : i + 160] for i in range(0, len(audio), 160)]


async def main(spec: dict) -> dict:
    fake = FakeRealtime(replies=[], default_reply=spec["reply"], default_transcript=spec.get("transcript", ""),
                        trace=True)
    fake.port = spec.get("port", 0)  # the parent's choice: the app under test was pointed at it before we started
    await fake.start()
    lag = LoopLag()
    lag.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    Path(spec["ready"]).write_text(fake.base_url)
    await stop.wait()
    await fake.stop()
    return {"loop_lag": lag.stop(), "connections": [
        {"appends": [(at, _b64(frame)) for at, audio in conn.append_log for frame in _frames(audio)
                     if frame.count(frame[:1]) != len(frame)],  # line silence (one repeated byte) matches nothing
         "first_frames": [(at, _b64(frame)) for at, frame in conn.first_frames],
         "truncates": len(conn.truncates)}
        for conn in fake.connections]}


if __name__ == "__main__":
    serve(main)

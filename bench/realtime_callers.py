"""The realtime scenario's callers: simulated Twilio callers in a load-generator process (bench/realtime.py).

    python -m bench.realtime_callers SPEC.json OUT.json

SPEC: {"base_url", "auth_token", "number", "calls", "stagger_s", "seed", "timeout_s"}. Each call: a question, a
barge-in 1 s into the reply, a thank-you. Each caller traces the non-silent frames it sent (payload -> send time;
a payload sent twice is ambiguous and dropped) and every frame it received (payload -> first arrival), on
CLOCK_MONOTONIC (`time.monotonic`, system-wide on Linux), which the fake model's process reads too.
"""

from __future__ import annotations

import asyncio
import base64
import time

import numpy as np

from voicebot.testing.carrier.caller import Step

from .child import LoopLag, serve
from .loadgen import BenchCaller, BenchPeer, lighten_clients


def speech(ms: int, rng: np.random.Generator) -> bytes:
    """Voiced audio with a little noise, so that no two frames of the run are alike (they are matched by bytes)."""
    from voicebot.testing.pcm import voiced

    pcm = np.frombuffer(voiced(ms), "<i2").astype(np.int32) + rng.integers(-300, 300, 8 * ms)
    return np.clip(pcm, -32767, 32767).astype("<i2").tobytes()


class TracedPeer(BenchPeer):
    def __init__(self, *args, sent: dict, **kw) -> None:
        super().__init__(*args, **kw)
        self.sent = sent

    def media_message(self, payload: bytes) -> str:
        message = super().media_message(payload)
        if payload.count(payload[:1]) != len(payload):  # not line silence (one repeated byte)
            self.sent[payload] = None if payload in self.sent else time.monotonic()
        return message


class TracedCaller(BenchCaller):
    def __init__(self, *args, received: dict, **kw) -> None:
        super().__init__(*args, **kw)
        self.received = received

    def _on_agent_audio(self, payload: bytes, now: float) -> None:
        self.received.setdefault(payload, now)
        super()._on_agent_audio(payload, now)


def call_steps(spec: dict, index: int) -> list[Step]:
    rng = np.random.default_rng(spec["seed"] + index)
    return [Step("hours", speech(1200, rng)), Step("stop", speech(900, rng), barge_after_ms=1000),
            Step("thanks", speech(800, rng))]


async def one_call(spec: dict, index: int, steps: list[Step], sent: dict, received: dict) -> dict:
    await asyncio.sleep(spec["stagger_s"] * index / max(1, spec["calls"]))
    peer = TracedPeer(spec["base_url"], spec["number"], auth_token=spec["auth_token"],
                      public_base_url=spec["base_url"], sent=sent)
    result = await TracedCaller(peer, steps, timeout_s=spec["timeout_s"], received=received).run()
    return {"error": result.error,
            "turns": [{"barge_in": t.barge_in, "clear_ms": t.clear_ms, "frames_after_clear": t.frames_after_clear}
                      for t in result.turns]}


async def main(spec: dict) -> dict:
    lighten_clients()
    sent: dict[bytes, float | None] = {}
    received: dict[bytes, float] = {}
    # Every caller's speech is made before the first call: made as each call starts (~90 ms of CPU a call, on this
    # process's loop), 50 calls meant to arrive over 2.5 s came as a burst (45 of them within 0.3 s).
    steps = [call_steps(spec, i) for i in range(spec["calls"])]
    lag = LoopLag()
    lag.start()
    calls = await asyncio.gather(*(one_call(spec, i, steps[i], sent, received) for i in range(spec["calls"])))
    lagged = lag.stop()

    def b64(payload: bytes) -> str:
        return base64.b64encode(payload).decode("ascii")

    return {"calls": calls, "loop_lag": lagged, "sent": {b64(p): at for p, at in sent.items() if at is not None},
            "received": {b64(p): at for p, at in received.items()}}


if __name__ == "__main__":
    serve(main)

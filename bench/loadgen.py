"""The load generator: many simulated Twilio callers in one asyncio process (uvloop), run as a subprocess.

    python -m bench.loadgen SPEC.json OUT.json

SPEC: {"base_url", "auth_token", "number", "calls": N, "turns": T, "barge_every": K, "stagger_s": S,
"utterances": [base64 PCM16 8 kHz, ...], "seed", "timeout_s"}. Each call: wait for the greeting, then T caller
turns; every K-th turn talks over the agent's reply (a barge-in, `barge_after_ms` into it). Calls start spread
evenly over `stagger_s`, with a random pause after each reply, so their turns do not fall in lock-step.

Each caller measures, as a carrier-side observer on this machine: turn latency (last voiced frame sent → first
reply frame received), barge-in onset → `clear` received, reply frames received after the `clear`, playback
underruns (a reply's audio ran dry for at least a frame slot and then resumed: a lost frame; a gap shorter than a
frame, which a carrier's jitter buffer absorbs, is counted apart as a late tick), and how the call was refused if it was
(overflow TwiML at the webhook, or close code 1013 on the media socket). The process also reports its own CPU
time and event-loop lag, since a loaded load generator inflates every latency it measures.

Django is not set up here: the peers get the auth token and URLs explicitly.
"""

from __future__ import annotations

import asyncio
import base64
import random
import resource
import time

from voicebot.testing.carrier.caller import SimulatedCaller, Step
from voicebot.testing.carrier.peers import SimulationError, TwilioPeer

from .child import serve

BARGE_AFTER_MS = 700
FRAME_S = 0.020
_MEDIA = ('{"event":"media","sequenceNumber":"%d","streamSid":"%s","media":{"track":"inbound","chunk":"%d",'
          '"timestamp":"%d","payload":"%s"}}')


_client = None


def shared_client():
    """One HTTP client per load generator: a new httpx client per call costs ~30 ms of CPU (its SSL context)."""
    global _client
    if _client is None:
        import httpx

        # No keep-alive: each webhook on its own connection, as from a carrier's many edges or through a load
        # balancer, so SO_REUSEPORT spreads webhooks over the workers independently of the media sockets.
        _client = httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=64, max_keepalive_connections=0))
    return _client


class BenchPeer(TwilioPeer):
    """TwilioPeer with a shared HTTP client and a cheaper media message (string formatting, cached silence
    payload): the same requests and JSON."""

    _b64_cache: dict[bytes, str] = {}


    def media_message(self, payload: bytes) -> str:
        self._chunk += 1
        self._seq += 1
        b64 = self._b64_cache.get(payload)
        if b64 is None:
            b64 = base64.b64encode(payload).decode()
            if payload.count(payload[:1]) == len(payload):  # only constant (silence) frames are worth caching
                self._b64_cache[payload] = b64
        return _MEDIA % (self._seq, self.stream_sid, self._chunk, self._chunk * 20, b64)


class _Borrowed:
    """Stands in for `httpx.AsyncClient(...)` inside TwilioPeer.answer: lends the shared client, never closes it."""

    def __init__(self, *args, **kw) -> None:
        pass

    async def __aenter__(self):
        return shared_client()

    async def __aexit__(self, *exc) -> None:
        return None


class BenchCaller(SimulatedCaller):
    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.underruns = 0
        self.underrun_ms = 0.0
        self.late_ticks = 0
        self._dry_since: float | None = None
        self._flowing = False
        self.refused = ""  # "webhook" | "media" | ""

    def _play(self, nbytes: int) -> None:
        # An underrun is a tick that wanted agent audio and found too little, in the middle of a reply (audio
        # resumes within a second, with no caller speech or clear in between). A sender that paces exactly at
        # real time empties the buffer between its chunks without ever starving a tick: that is not counted.
        short = len(self._playback) < nbytes
        super()._play(nbytes)
        if self._outbox:
            self._flowing, self._dry_since = False, None  # the caller is talking: pauses now are turn-taking
        elif short and self._flowing and self._dry_since is None:
            self._dry_since = time.monotonic()

    def _on_agent_audio(self, payload: bytes, now: float) -> None:
        if self._dry_since is not None:
            gap = now - self._dry_since
            if gap < 1.0:  # the same reply resumed after a tick starved
                if gap >= FRAME_S:  # a whole frame slot went unfilled: the caller heard a gap (a lost frame)
                    self.underruns += 1
                    self.underrun_ms += gap * 1000
                else:  # late by less than a frame: a carrier's jitter buffer absorbs it
                    self.late_ticks += 1
            self._dry_since = None
        self._flowing = True
        super()._on_agent_audio(payload, now)

    def _on_clear(self, now: float) -> None:
        self._dry_since, self._flowing = None, False
        super()._on_clear(now)

    async def run(self):
        try:
            return await super().run()
        except SimulationError as exc:
            twiml = self.peer.twiml or ""
            if "<Hangup" in twiml or "<Dial" in twiml:
                self.refused = "webhook"
                self.result.error = "overflow"
            else:
                self.result.error = f"simulation: {exc}"[:200]
        except Exception as exc:  # noqa: BLE001 - a bench call may fail any way; record it, keep the others going
            self.result.error = f"{type(exc).__name__}: {exc}"[:200]
        return self.result


async def _lag_monitor(samples: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        t = time.monotonic()
        await asyncio.sleep(0.01)
        samples.append((time.monotonic() - t - 0.01) * 1000)


async def one_call(spec: dict, index: int, utterances: list[bytes], rng: random.Random) -> dict:
    await asyncio.sleep(spec.get("stagger_s", 0) * index / max(1, spec["calls"]))
    peer = BenchPeer(spec["base_url"], spec["number"], auth_token=spec["auth_token"],
                     public_base_url=spec["base_url"])
    steps = []
    barge_every = spec.get("barge_every", 0)
    for i in range(spec["turns"]):
        barge = bool(barge_every) and i % barge_every == barge_every - 1
        steps.append(Step(text=f"turn {i}", pcm=utterances[(index + i) % len(utterances)],
                          barge_after_ms=BARGE_AFTER_MS if barge else None))
    caller = BenchCaller(peer, steps, idle_ms=rng.randint(500, 1200), timeout_s=spec.get("timeout_s", 120))
    started = time.monotonic()
    result = await caller.run()
    if result.close_code == 1013:
        caller.refused = "media"
    return {
        "index": index, "call_id": result.call_id, "start": started, "end": time.monotonic(),
        "greeting_ms": result.greeting_ms, "error": result.error, "closed_by": result.closed_by,
        "close_code": result.close_code, "refused": caller.refused, "underruns": caller.underruns,
        "underrun_ms": round(caller.underrun_ms, 1), "late_ticks": caller.late_ticks, "agent_audio_ms": result.agent_audio_ms,
        "turns": [{"latency_ms": t.latency_ms, "barge_in": t.barge_in, "clear_ms": t.clear_ms,
                   "frames_after_clear": t.frames_after_clear} for t in result.turns],
    }


def lighten_clients() -> None:
    """Lighter carrier clients for a dedicated load-generator process (the same requests and frames)."""
    import functools
    import types

    import websockets

    # The modules themselves (voicebot.testing.carrier re-exports their names; patching those would miss).
    import suites.caller.peers as peers
    import suites.caller.simulated as caller

    # TwilioPeer.answer opens `async with httpx.AsyncClient(...)` per call: in this dedicated process, lend it the
    # shared client instead (same request, no per-call SSL context).
    peers.httpx = types.SimpleNamespace(AsyncClient=_Borrowed)
    # Carriers do not negotiate permessage-deflate on media sockets; the websockets client offers it by default,
    # and a server that accepts it (uvicorn does, daphne does not) would compress every frame both ways.
    caller.websockets = types.SimpleNamespace(connect=functools.partial(websockets.connect, compression=None),
                                              ConnectionClosed=websockets.ConnectionClosed)


async def main(spec: dict) -> dict:
    lighten_clients()
    utterances = [base64.b64decode(u) for u in spec["utterances"]]
    rng = random.Random(spec.get("seed", 1))
    lag: list[float] = []
    stop = asyncio.Event()
    monitor = asyncio.create_task(_lag_monitor(lag, stop))
    ru0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    calls = await asyncio.gather(*(one_call(spec, i, utterances, random.Random(rng.random()))
                                   for i in range(spec["calls"])))
    ru1, t1 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    stop.set()
    await monitor
    lag.sort()
    cpu_s = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return {"calls": calls, "wall_s": round(t1 - t0, 2), "cpu_s": round(cpu_s, 2),
            "clock_offset": time.time() - time.monotonic(),
            "loop_lag_ms": {"p50": round(lag[len(lag) // 2], 2) if lag else None,
                            "p99": round(lag[int(len(lag) * 0.99)], 2) if lag else None,
                            "max": round(lag[-1], 2) if lag else None}}


if __name__ == "__main__":
    serve(main)

"""Synthetic cloud-style providers with fixed latencies, for measuring what voicebot itself adds to a turn.

They subclass the real provider bases, so the session runs exactly the code it runs for Deepgram, OpenAI and
ElevenLabs (fallback wrappers included). Registered in `calls.providers.registry` under the name "synthetic" only
when `VOICEBOT_SYNTHETIC_PROVIDERS=1` is in the environment (the bench sets it for its server processes; production
never does, so no agent can pick them).

Latencies (the "cloud style" budget, 450 ms in all):

- STT: the final transcript is ready `final_ms` (100) after the caller's true end of speech. With
  `endpointing="provider"` (as Deepgram's `speech_final`) the STT itself emits `SpeechHint("end_of_turn")` at that
  moment and `transcript()` returns at once; with `endpointing="local"` our VAD decides the end of turn and each
  `transcript()` request is answered `final_ms` after it was made (a speculative request and the real one share
  one pending request, as `DeepgramSTT` shares one Finalize).
- Brain: first text `first_token_ms` (200) after the request; the first sentence arrives whole in that delta.
- TTS: the sentence's first audio `first_audio_ms` (150) after the request, the rest streamed 4x faster than it
  plays.

How the STT knows the true end of speech: bench callers speak audio prepared by `caller_utterance()`: the speech
is trimmed to its first and last voiced samples, the quiet stretches inside it are filled with a ±8 dither that
survives μ-law and is far below any VAD's floor (-72 dBFS), and line silence is digital zero. So "the last frame
holding a non-zero sample" is exactly the frame that carries the caller's last voiced sample — the same frame the
simulated carrier stamps as "last voiced frame sent". `SyntheticSTT.send_audio` only asks `pcm.count(0)` of each
frame (a C loop), so the detector costs nothing measurable on the frame path.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from functools import lru_cache

from calls.providers.base import (
    Brain,
    BrainInput,
    BrainOutput,
    BrainState,
    EndCall,
    SpeechHint,
    STTStream,
    TextDelta,
    TTSProvider,
)

DEFAULT_TEXT = "I would like to book an appointment for tomorrow"
DEFAULT_REPLY = ["Sure, I can help you with that. ", "Let me check the calendar for tomorrow morning. ",
                 "One moment please."]
DEFAULT_GREETING = "Hello, thanks for calling."
MS_PER_CHAR = 55  # synthetic speech rate: ~18 characters a second, like a brisk TTS voice


# ---------------------------------------------------------------- speech-to-text


class SyntheticSTT(STTStream):
    """Options: endpointing ("provider" | "local"), final_ms (100), text (the transcript)."""

    name = "synthetic"

    def __init__(self, sample_rate, options=None, on_partial=None, on_hint=None) -> None:
        super().__init__(sample_rate, options, on_partial, on_hint)
        o = self.options
        self.final_s = float(o.get("final_ms", 100)) / 1000
        self.provider_endpointing = o.get("endpointing", "provider") == "provider"
        self.text = str(o.get("text", DEFAULT_TEXT))
        self.last_ttfb_ms: float | None = None
        self.last_voiced_at = 0.0  # monotonic arrival of the latest frame holding a non-zero sample
        self._voiced = False  # the current utterance (since commit) holds speech
        self._total = 0  # bytes received
        self._finalized_upto = 0  # `_total` covered by the latest final (or pending request)
        self._timer: asyncio.TimerHandle | None = None
        self._request: asyncio.Future | None = None
        self._request_at = 0.0
        self._closed = False

    def send_audio(self, pcm: bytes) -> None:
        self._total += len(pcm)
        if pcm.count(0) == len(pcm):
            return  # digital silence: the caller is not speaking
        self.last_voiced_at = time.monotonic()
        self._voiced = True
        if self.provider_endpointing and self._timer is None and not self._closed:
            self._timer = asyncio.get_running_loop().call_later(self.final_s, self._check_end)

    def _check_end(self) -> None:
        """Fires `final_s` after the latest voiced frame (re-arming while the caller keeps talking)."""
        self._timer = None
        if self._closed:
            return
        due = self.last_voiced_at + self.final_s
        now = time.monotonic()
        if now < due - 0.0005:
            self._timer = asyncio.get_running_loop().call_later(due - now, self._check_end)
            return
        self._finalize(now)
        if self.on_hint is not None:
            self.on_hint(SpeechHint("end_of_turn"))

    def _finalize(self, now: float) -> None:
        self._finalized_upto = self._total
        if self._request is not None and not self._request.done():
            self.last_ttfb_ms = round((now - self._request_at) * 1000, 1)
            self._request.set_result(None)

    async def transcript(self) -> str:
        pending = self._request is not None and not self._request.done()
        if self._total > self._finalized_upto or pending:
            # As DeepgramSTT: audio not yet covered by a final needs a request (a Finalize), answered `final_s`
            # later; a speculative request and the real one share the pending one.
            if not pending:
                loop = asyncio.get_running_loop()
                self._request = request = loop.create_future()
                self._request_at = time.monotonic()
                self._finalized_upto = self._total
                loop.call_later(self.final_s, self._answer, request)
            await asyncio.shield(self._request)
        return self.text if self._voiced else ""

    def _answer(self, request: asyncio.Future) -> None:
        if not request.done():
            self.last_ttfb_ms = round((time.monotonic() - self._request_at) * 1000, 1)
            request.set_result(None)

    def commit(self) -> None:
        self._voiced = False

    async def close(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._request is not None and not self._request.done():
            self._request.set_result(None)


# ---------------------------------------------------------------- brain


class SyntheticBrain(Brain):
    """Options: first_token_ms (200), reply (list of text deltas; the first should be a whole sentence)."""

    name = "synthetic"

    def __init__(self, greeting: str = DEFAULT_GREETING, options: dict | None = None,
                 state: BrainState | None = None) -> None:
        o = options or {}
        self.greeting_text = greeting or DEFAULT_GREETING
        self.first_token_s = float(o.get("first_token_ms", 200)) / 1000
        self.reply = list(o.get("reply") or DEFAULT_REPLY)
        self.state = state or BrainState(node="synthetic")
        self.last_ttfb_ms: float | None = None

    @classmethod
    def for_agent(cls, agent, state: BrainState | None) -> SyntheticBrain:
        return cls(agent.greeting, (agent.provider_options or {}).get("llm", {}), state)

    async def greeting(self) -> AsyncIterator[BrainOutput]:
        yield TextDelta(self.greeting_text.strip() + " ")  # fixed text, no request (as OpenAIBrain)

    async def respond(self, event: BrainInput) -> AsyncIterator[BrainOutput]:
        started = time.monotonic()
        await asyncio.sleep(self.first_token_s)
        self.last_ttfb_ms = round((time.monotonic() - started) * 1000, 1)
        for part in self.reply:
            yield TextDelta(part)
        if getattr(event, "text", "").strip().lower() == "goodbye":
            yield EndCall("completed")


# ---------------------------------------------------------------- text-to-speech


@lru_cache(maxsize=4)
def _tone(sample_rate: int, seconds: int = 20) -> bytes:
    """A speech-band two-tone signal, built once per rate; sentences are slices of it."""
    import numpy as np

    t = np.arange(sample_rate * seconds) / sample_rate
    wave = 0.25 * np.sin(2 * math.pi * 220 * t) + 0.15 * np.sin(2 * math.pi * 660 * t)
    return (wave * 32767).astype("<i2").tobytes()


class SyntheticTTS(TTSProvider):
    """Options: first_audio_ms (150), ms_per_char (55), chunk_ms (250), realtime_factor (4).

    Streams as a cloud TTS does: the first `chunk_ms` of audio `first_audio_ms` after the request, then the rest in
    `chunk_ms` pieces produced `realtime_factor` times faster than they play. A pipeline that waited for a
    sentence's last chunk before playing it would show that wait in the overhead.
    """

    name = "synthetic"

    def __init__(self, sample_rate: int, voice: str = "", options: dict | None = None) -> None:
        super().__init__(sample_rate, voice, options)
        self.first_audio_s = float(self.options.get("first_audio_ms", 150)) / 1000
        self.ms_per_char = int(self.options.get("ms_per_char", MS_PER_CHAR))
        self.chunk_ms = int(self.options.get("chunk_ms", 250))
        self.realtime_factor = float(self.options.get("realtime_factor", 4))
        self.last_ttfb_ms: float | None = None

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        started = time.monotonic()
        await asyncio.sleep(self.first_audio_s)
        self.last_ttfb_ms = round((time.monotonic() - started) * 1000, 1)
        tone = _tone(self.sample_rate)
        n = min(len(tone), self.sample_rate * 2 * self.ms_per_char * max(1, len(text)) // 1000) & ~1
        step = self.sample_rate * 2 * self.chunk_ms // 1000
        for offset in range(0, n, step):
            if offset:
                await asyncio.sleep(self.chunk_ms / 1000 / self.realtime_factor)
            yield tone[offset : min(n, offset + step)]


def speech_ms(text: str) -> int:
    return MS_PER_CHAR * max(1, len(text))


# ---------------------------------------------------------------- the caller's side


def caller_utterance(pcm: bytes, floor: int = 64, dither: int = 8) -> bytes:
    """Speech prepared so that "non-zero sample" means "the caller is still in their utterance" (module doc).

    Trims `pcm` (PCM16LE) to the first and last samples louder than `floor` (-54 dBFS), and replaces the quiet
    samples inside with an alternating ±`dither`, which μ-law keeps non-zero (codes 0xFE/0x7E) and every VAD
    treats as silence.
    """
    import numpy as np

    x = np.frombuffer(pcm, "<i2").astype(np.int32)
    loud = np.flatnonzero(np.abs(x) >= floor)
    if loud.size == 0:
        return b""
    x = x[loud[0] : loud[-1] + 1].copy()
    quiet = np.abs(x) < 2 * dither
    signs = np.where(np.arange(x.size) % 2 == 0, dither, -dither)
    x[quiet] = signs[quiet]
    return x.astype("<i2").tobytes()

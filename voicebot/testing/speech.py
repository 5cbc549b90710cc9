"""The simulated caller's voice: text -> PCM16LE mono, the one place caller speech is made.

Every harness that needs a caller to say words (simulate_call, the scale tests' callers, the benchmark's load
generator and WER run, the e2e and browser tests) gets them here, so changing the voice is a change to this file.
Today the voice is the embedded espeak-ng engine (en-us); callers differ only in pace (`wpm`) and in whether the
silence espeak leaves at both ends is trimmed, as the agent's own espeak voice trims it.
"""

from __future__ import annotations

from calls.pipeline.audio import resample
from calls.providers.tts.espeak_engine import get_espeak
from calls.providers.tts.espeak_local import render

VOICE = "en-us"
WPM = 165  # a caller's unhurried pace


def speak(text: str, *, wpm: int = WPM) -> tuple[bytes, int]:
    """`text` at the voice's own sample rate: (PCM16LE, rate). For callers that carry it through a codec path."""
    return get_espeak().synthesize(text, voice=VOICE, rate_wpm=wpm)


def caller_speech(text: str, rate: int, *, wpm: int = WPM, trim: bool = False) -> bytes:
    """`text` said by the simulated caller, PCM16LE mono at `rate`; `trim` cuts the silence at both ends."""
    if trim:
        return render(text, rate, VOICE, wpm)
    pcm, native = speak(text, wpm=wpm)
    return resample(pcm, native, rate)

"""Silero VAD (`calls.pipeline.vad.SileroSpeech`) on recorded Piper speech, at 16 kHz and over an 8 kHz μ-law
line: it hears a caller's word, and not the babble or the cough behind them, which webrtcvad takes for voice."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from calls.pipeline.audio import get_codec, resample
from calls.pipeline.vad import FrameVAD, SileroSpeech
from voicebot.testing.speech import make_noise

FIXTURES = Path(__file__).parent / "fixtures"


def recorded(name: str, rate: int) -> bytes:
    with wave.open(str(FIXTURES / name)) as w:
        pcm = w.readframes(w.getnframes())
        native = w.getframerate()
    if rate == 8000:  # through the phone line: 8 kHz μ-law
        codec = get_codec("PCMU", 8000)
        pcm = codec.decode(codec.encode(resample(pcm, native, 8000)))
    return pcm


def frames(pcm: bytes, rate: int) -> list[bytes]:
    size = rate * 2 // 50
    return [pcm[i : i + size] for i in range(0, len(pcm) - size + 1, size)]


def probabilities(pcm: bytes, rate: int) -> list[float]:
    speech = SileroSpeech(rate)
    return [speech.feed(frame) for frame in frames(pcm, rate)]


@pytest.mark.parametrize("rate", [16000, 8000])
@pytest.mark.parametrize("name", ["piper_okay_16k.wav", "piper_sorry_16k.wav"])
def test_it_hears_a_callers_words(name, rate):
    pcm = bytes(rate // 5) + recorded(name, rate) + bytes(rate // 5)
    probs = probabilities(pcm, rate)
    assert max(probs) > 0.8
    # Most of the word is speech to it (a 20 ms frame reads the latest 32 ms window).
    voiced = sum(p >= 0.5 for p in probs) * 20
    assert voiced >= 0.5 * len(recorded(name, rate)) / (2 * rate) * 1000


@pytest.mark.parametrize("rate", [16000, 8000])
def test_babble_that_webrtcvad_calls_voice_is_no_speech_to_it(rate):
    babble = make_noise(rate * 3, rate, "babble", seed=3)
    webrtc = FrameVAD(rate)
    voiced_by_webrtc = sum(webrtc.is_speech(f) for f in frames(babble, rate))
    probs = probabilities(babble, rate)
    assert voiced_by_webrtc > 30  # the trap: over half a second of "voice" in three seconds of a room
    assert sum(p >= 0.5 for p in probs) <= 2


def test_a_noise_burst_is_no_speech_to_it():
    rng = np.random.default_rng(1)
    burst = (rng.standard_normal(2000) * 8000).astype("<i2").tobytes()  # 250 ms of rustle at 8 kHz
    assert max(probabilities(bytes(1600) + burst + bytes(1600), 8000)) < 0.5


def test_reset_forgets_the_previous_utterance():
    speech = SileroSpeech(8000)
    for frame in frames(recorded("piper_sorry_16k.wav", 8000), 8000):
        speech.feed(frame)
    speech.reset()
    assert speech.probability == 0.0 and speech.windows == 0
    assert max(speech.feed(f) for f in frames(bytes(8000), 8000)) < 0.5


def test_it_refuses_a_rate_it_cannot_take():
    with pytest.raises(ValueError, match="8000 or 16000"):
        SileroSpeech(48000)

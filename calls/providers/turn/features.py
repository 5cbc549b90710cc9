"""Whisper's log-mel features, in numpy: the input of the Smart Turn v3 model.

The model is Whisper tiny's encoder with a classifier head; it was trained on the features of Hugging Face's
`WhisperFeatureExtractor(chunk_length=8)`: 8 s of 16 kHz audio, zero-mean/unit-variance normalised, a centred
(reflect-padded) 400-point STFT with a periodic Hann window and a 160-sample hop, the power spectrum through 80
Slaney-scale, Slaney-normalised mel filters (0-8 kHz), log10 with a 1e-10 floor, the last frame dropped,
clamped to 8 (log10) below the maximum, then (x + 4) / 4. That is 80 x 800 floats.

Written from those formulas (Whisper's paper and `transformers.audio_utils`), so `transformers` is not needed at
run time; `tests/turn/test_smart_turn_features.py` checks it against numbers `transformers` produced.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16000
WINDOW_S = 8
N_SAMPLES = SAMPLE_RATE * WINDOW_S  # 128 000
N_FFT = 400
HOP = 160
N_MELS = 80
N_FRAMES = N_SAMPLES // HOP  # 800
_FLOOR = 1e-10
_NORM_EPS = 1e-7


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear (3 mels per 200 Hz) below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz * 3.0 / 200.0
    log = 15.0 + np.log(np.maximum(hz, 1e-12) / 1000.0) * (27.0 / np.log(6.4))
    return np.where(hz >= 1000.0, log, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    linear = mel * 200.0 / 3.0
    log = 1000.0 * np.exp((mel - 15.0) * (np.log(6.4) / 27.0))
    return np.where(mel >= 15.0, log, linear)


def mel_filter_bank(n_mels: int = N_MELS, n_fft: int = N_FFT, rate: int = SAMPLE_RATE) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1): triangles between n_mels + 2 points evenly spaced in mels, each scaled to unit
    area (Slaney's normalisation: 2 / bandwidth in Hz)."""
    bins = np.linspace(0.0, rate // 2, n_fft // 2 + 1)  # the FFT bins' centre frequencies
    edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(rate / 2.0), n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - lower) / (centre - lower)
    falling = (upper - bins[None, :]) / (upper - centre)
    filters = np.maximum(0.0, np.minimum(rising, falling))
    return filters * (2.0 / (upper - lower))


_WINDOW = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(N_FFT) / N_FFT))  # periodic Hann, as torch.hann_window
_FILTERS = mel_filter_bank()


def fit_window(audio: np.ndarray) -> np.ndarray:
    """The last 8 s of `audio` (16 kHz), zeros in front when shorter: the model hears the end of the turn."""
    if audio.size >= N_SAMPLES:
        return audio[-N_SAMPLES:]
    out = np.zeros(N_SAMPLES, dtype=audio.dtype)
    out[N_SAMPLES - audio.size :] = audio
    return out


def log_mel(audio: np.ndarray) -> np.ndarray:
    """80 x 800 float32 features of exactly 8 s of 16 kHz float audio (see `fit_window`)."""
    if audio.shape != (N_SAMPLES,):
        raise ValueError(f"expected {N_SAMPLES} samples (8 s at 16 kHz), got shape {audio.shape}")
    x = audio.astype(np.float32)
    x = (x - x.mean()) / np.sqrt(x.var() + _NORM_EPS)  # normalised over the whole window, in float32
    padded = np.pad(x.astype(np.float64), N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]  # 801 frames, no copy
    power = np.abs(np.fft.rfft(frames * _WINDOW, axis=1)) ** 2  # (801, 201)
    mel = np.log10(np.maximum(_FILTERS @ power.T, _FLOOR))[:, :-1]  # (80, 800)
    mel = np.maximum(mel, mel.max() - 8.0)
    return ((mel + 4.0) / 4.0).astype(np.float32)

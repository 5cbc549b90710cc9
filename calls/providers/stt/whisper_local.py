"""Local speech-to-text: the utterance is buffered and transcribed whole by the process-wide Whisper engine.

`send_audio` only appends (the session calls it 50 times a second per call). `transcript()` transcribes the
buffer in a worker thread. Results are cached by *content*: the key is where the last loud frame ends, so audio
that only adds quiet (the end-of-turn silence after a speculative request at the pause) reuses the speculative
result, or joins it while it is still running, instead of transcribing again. A cached result counts only if it
covered at least `_COVER_MS` past the last loud frame, so a partial taken mid-word is never reused as the final.

Partials (optional, only when an `on_partial` callback is set): while audio keeps arriving, the growing buffer
is transcribed at most once per `partial_interval_s` of new audio, only when no transcription of this stream
is running and the model is free (`wait=False`), so partials never delay anybody's final transcript.

Options (agent `provider_options["stt"]`): `partials` (default false: partials compete with finals for the one model), `partial_interval_s` (1.0),
`max_utterance_s` (29; the head of a longer utterance is dropped), `beam_size` (the engine's, 1), `hints` (default
true: the call's `vocabulary`, set by the session, becomes Whisper's initial prompt; see `vocabulary.py`),
`prompt_max_words` (40), `language` (the agent's, set by the chain: a BCP-47 tag of `calls.languages`),
`judge_model` ("base", the default: speech over the agent — a few short words that decide whether the agent is
cut off — is transcribed by the Whisper base `make install` assembles, when it is there; "call": by the call's own
model; English agents only, since other languages run on the multilingual model already). tiny.en writes an accented "Wait." as "Wager." and a stretched one as "W-a-a-a"; base hears "Wait." for
~50 ms more per short clip (docs/benchmarks.md, turn-taking).

Language: an English agent uses the deployment's model (`WHISPER_MODEL_DIR`, default tiny.en). Any other uses
`WHISPER_MULTILINGUAL_MODEL_DIR` if set, else the multilingual Whisper base `make install` assembles into
`models/whisper-base` (calls/providers/stt/whisper_models.py), and decodes in its
language. Without a multilingual model it is transcribed as English, which is wrong for the caller: a warning is
logged once per language, and the README says to set the folder (or use Deepgram) for such agents.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass

import numpy as np

from calls.languages import DEFAULT_LANGUAGE, language_or_none
from calls.providers.base import ProviderError, STTStream

from .vocabulary import PROMPT_MAX_WORDS, whisper_prompt
from .whisper_engine import MIN_AUDIO_S, WhisperEngine, get_whisper
from .whisper_models import model_dir as assembled_model_dir

log = logging.getLogger(__name__)

MAX_UTTERANCE_S = 29.0  # keeps every utterance inside one (short) Whisper window
_TRIM_SLACK_S = 5.0  # trim the head of an over-long buffer in steps, not on every frame
_LOUD_FLOOR_RMS = 150.0  # ~ -47 dBFS: below this a frame is quiet whatever the utterance's level
_LOUD_RELATIVE = 0.05  # a frame 26 dB below the utterance's loudest frame is quiet too
_COVER_MS = 60
_warned_languages: set[str] = set()


def assembled_base() -> str | None:
    """The multilingual Whisper base that `make install` assembles from its PyPI wheels, when it is there."""
    path = assembled_model_dir("base")
    return str(path) if (path / "model.bin").is_file() else None


def _setting(name: str, default=None):
    """A Django setting if Django is configured, else `default` (the engine also runs without Django)."""
    try:
        from django.conf import settings

        if settings.configured or os.environ.get("DJANGO_SETTINGS_MODULE"):
            return getattr(settings, name, default)
    except Exception:  # ImportError, ImproperlyConfigured
        pass
    return default


def _consume_exception(task: asyncio.Task) -> None:
    """A shielded job whose caller went away must not log 'exception was never retrieved'."""
    if not task.cancelled():
        task.exception()


@dataclass(slots=True)
class _Result:
    voiced_end: int  # byte offset (since commit) where the last loud frame ended when the audio was taken
    covered: int  # bytes since commit that the transcription saw
    text: str
    prompt: str | None = None  # the initial prompt it was transcribed with (`expect`)
    avg_logprob: float | None = None  # how sure the model was of `text` (`confidence`)


@dataclass(slots=True)
class _Job:
    voiced_end: int
    covered: int
    task: asyncio.Task
    prompt: str | None = None


class WhisperSTT(STTStream):
    name = "whisper"

    def __init__(self, sample_rate, options=None, on_partial=None, on_hint=None) -> None:
        super().__init__(sample_rate, options, on_partial, on_hint)
        bytes_per_s = sample_rate * 2
        # Options come from the agent's editable settings: clamp them. The model itself is chosen by the
        # deployment (WHISPER_MODEL_DIR), never per agent.
        max_s = min(MAX_UTTERANCE_S, max(1.0, float(self.options.get("max_utterance_s", MAX_UTTERANCE_S))))
        self._max_bytes = int(max_s * bytes_per_s)
        self._max_bytes -= self._max_bytes % 2
        self._slack = int(_TRIM_SLACK_S * bytes_per_s)
        self._min_bytes = int(MIN_AUDIO_S * bytes_per_s)
        self._cover = sample_rate * 2 * _COVER_MS // 1000
        beam = self.options.get("beam_size")
        self._beam_size = min(5, max(1, int(beam))) if beam else None
        max_words = min(100, max(0, int(self.options.get("prompt_max_words", PROMPT_MAX_WORDS))))
        hints = self.options.get("vocabulary") if self.options.get("hints", True) else None
        #: Whisper's initial prompt for every transcription of this call ("" without hints).
        self.prompt = whisper_prompt(hints or [], max_words)
        every = max(0.5, float(self.options.get("partial_interval_s", 1.0)))
        self._partial_every = int(every * bytes_per_s)
        lang = language_or_none(self.options.get("language") or DEFAULT_LANGUAGE)
        #: Whisper's language code for this call ("es"), or None for the model's own.
        self.language: str | None = lang.whisper if lang else None
        self.engine: WhisperEngine | None = None
        #: The engine for speech over the agent (`expect`): the judge of interruptions; None: `engine`.
        self.judge: WhisperEngine | None = None
        self._judge_dir = assembled_base() if self.options.get("judge_model", "base") == "base" else None
        self._engine_lock = asyncio.Lock()
        self._buf = bytearray()
        self._total = 0  # bytes received since commit (the buffer may hold only the tail)
        self._voiced_end = 0
        self._peak_rms = 0.0
        self._gen = 0  # bumped by commit(): results of older audio are dropped
        self._results: list[_Result] = []
        self._committed: list[_Result] = []  # the results before the last commit
        self._jobs: list[_Job] = []
        self._running = 0  # transcriptions of this stream in flight
        self._partial_task: asyncio.Task | None = None
        self._partial_wake: asyncio.Event | None = None
        self._partial_at = 0
        self._last_partial = ""
        self._expect: str | None = None  # Whisper's initial prompt for the current utterance (`expect`)
        self._closed = False

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        await self._ensure_engine()
        if self.on_partial is not None and self.options.get("partials", False):
            self._partial_wake = asyncio.Event()
            self._partial_task = asyncio.create_task(self._partials_loop(), name="whisper-partials")

    async def _ensure_engine(self) -> WhisperEngine:
        if self.engine is None:
            async with self._engine_lock:
                if self.engine is None:
                    threads = int(_setting("WHISPER_CPU_THREADS", 2) or 2)
                    engine = await asyncio.to_thread(get_whisper, self._model_dir(), cpu_threads=threads)
                    self._warn_if_english_only(engine)
                    # Only an English call's tiny.en gains from a judge: another language already runs on the
                    # multilingual model.
                    if self._judge_dir is not None and self.language in (None, "en"):
                        try:
                            self.judge = await asyncio.to_thread(get_whisper, self._judge_dir, cpu_threads=threads)
                        except Exception:  # a broken or partial folder: the call's model judges too
                            log.exception("whisper: the judge model %s cannot be loaded", self._judge_dir)
                            self._judge_dir = None
                    self.engine = engine
        return self.engine

    def _model_dir(self) -> str | None:
        english = self.language in (None, "en")
        multilingual = None if english else (_setting("WHISPER_MULTILINGUAL_MODEL_DIR") or assembled_base())
        return multilingual or _setting("WHISPER_MODEL_DIR") or None

    def _warn_if_english_only(self, engine: WhisperEngine) -> None:
        if self.language in (None, "en") or engine.multilingual or self.language in _warned_languages:
            return
        _warned_languages.add(self.language)
        log.warning("whisper: the model %s is English-only; a %r agent's callers are transcribed as English "
                    "(set WHISPER_MULTILINGUAL_MODEL_DIR to a multilingual model)", engine.model_dir, self.language)

    async def close(self) -> None:
        self._closed = True
        tasks = [j.task for j in self._jobs]
        if self._partial_task is not None:
            tasks.append(self._partial_task)
            self._partial_task = None
        self._jobs = []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task

    # ------------------------------------------------------------------ audio in

    def send_audio(self, pcm: bytes) -> None:
        if self._closed or not pcm:
            return
        self._buf += pcm
        self._total += len(pcm)
        samples = np.frombuffer(pcm, dtype="<i2", count=len(pcm) // 2)
        if samples.size:
            rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float32))))
            if rms > self._peak_rms:
                self._peak_rms = rms
            if rms >= max(_LOUD_FLOOR_RMS, _LOUD_RELATIVE * self._peak_rms):
                self._voiced_end = self._total
        if len(self._buf) > self._max_bytes + self._slack:
            del self._buf[: len(self._buf) - self._max_bytes]
        if self._partial_wake is not None and self._total - self._partial_at >= self._partial_every:
            self._partial_wake.set()

    def expect(self, phrases: str | None) -> None:
        """Transcribe with `phrases` as Whisper's initial prompt from now on (results taken without it, or with
        another, no longer count): over the agent, "Mm-hmm. Uh-huh. Okay." makes tiny.en write a hum as "Mm-hmm"
        instead of words ("and make sure", "I remember"). Measured in docs/benchmarks.md (turn-taking)."""
        self._expect = phrases or None

    @property
    def biased(self) -> bool:
        # Under `expect` the judge model (base) writes with the backchannels as its prompt and without the agent's
        # vocabulary: right for telling "uh-huh" from words, not for the words of a turn (base heard Piper's
        # "My name is Sarah Johnson" as "Eric Johnson" in 13 of 20 offsets, tiny.en right in 15 of 20).
        return self._expect is not None

    def commit(self) -> None:
        self._gen += 1
        self._buf = bytearray()
        self._total = 0
        self._voiced_end = 0
        self._peak_rms = 0.0
        self._committed = self._results  # still asked for their `confidence` (the session commits, then judges)
        self._results = []
        self._jobs = []  # running ones finish in their threads; their results are dropped (older generation)
        self._partial_at = 0
        self._last_partial = ""

    # ------------------------------------------------------------------ transcripts

    async def transcript(self) -> str:
        if self._total < self._min_bytes:
            return ""
        cached = self._cached()
        if cached is not None:
            return cached
        job = self._reusable_job()
        if job is None:
            await self._ensure_engine()
            cached = self._cached()  # a job may have finished while the model loaded
            if cached is not None:
                return cached
            job = self._reusable_job() or self._launch(wait=True)
        return await asyncio.shield(job.task)

    async def peek(self) -> str | None:
        """A quick transcript of the utterance so far, only if the model is free right now (never queued behind
        anybody's final, like a partial); the result is cached like any other."""
        if self._total < self._min_bytes or self.engine is None or self._running:
            return None
        cached = self._cached()
        if cached is not None:
            return cached
        return await self._launch(wait=False).task

    def confidence(self, text: str) -> float | None:
        text = text.strip()
        for result in reversed(self._committed + self._results):
            if result.text.strip() == text:
                return result.avg_logprob
        return None

    def _valid(self, voiced_end: int, covered: int, prompt: str | None) -> bool:
        """Would a transcription of the first `covered` bytes (with `prompt`) answer for the audio as it is now?"""
        if voiced_end != self._voiced_end or prompt != self._expect:
            return False
        if self._voiced_end == 0:  # nothing loud yet (a very quiet line): only the very same audio counts
            return covered == self._total
        return covered >= min(self._total, self._voiced_end + self._cover)

    def _cached(self) -> str | None:
        for result in reversed(self._results):
            if self._valid(result.voiced_end, result.covered, result.prompt):
                return result.text
        return None

    def _reusable_job(self) -> _Job | None:
        for job in reversed(self._jobs):
            if self._valid(job.voiced_end, job.covered, job.prompt) and not job.task.done():
                return job
        return None

    def _launch(self, wait: bool) -> _Job:
        audio = bytes(self._buf[-self._max_bytes :])
        job = _Job(self._voiced_end, self._total, None, self._expect)  # type: ignore[arg-type]
        job.task = asyncio.create_task(self._run(audio, self._gen, job, wait), name="whisper-transcribe")
        job.task.add_done_callback(_consume_exception)
        if wait:
            self._jobs.append(job)
        return job

    async def _run(self, audio: bytes, gen: int, job: _Job, wait: bool) -> str | None:
        engine = self.judge if job.prompt is not None and self.judge is not None else self.engine
        assert engine is not None
        self._running += 1
        try:
            scored = await asyncio.to_thread(
                engine.transcribe_scored, audio, self.sample_rate, wait=wait, beam_size=self._beam_size,
                prompt=job.prompt or self.prompt or None,  # over the agent: the backchannels; else the vocabulary
                language=self.language,
            )
        finally:
            self._running -= 1
            if job in self._jobs:
                self._jobs.remove(job)
        if scored is None:
            return None
        if gen == self._gen:
            self._results.append(_Result(job.voiced_end, job.covered, scored.text, job.prompt, scored.avg_logprob))
            del self._results[:-4]
        return scored.text

    # ------------------------------------------------------------------ partials

    async def _partials_loop(self) -> None:
        assert self._partial_wake is not None
        while not self._closed:
            await self._partial_wake.wait()
            self._partial_wake.clear()
            if self._total - self._partial_at < self._partial_every or self._total < self._min_bytes:
                continue
            if self._cached() is not None:  # nothing new to say
                self._partial_at = self._total
                continue
            if self._running:
                await asyncio.sleep(0.1)  # a final is being worked on: it has priority
                self._partial_wake.set()
                continue
            gen, taken_at = self._gen, self._total
            try:
                text = await self._launch(wait=False).task
            except ProviderError as exc:
                log.debug("whisper partial failed: %s", exc)
                text = None
            if text is None:  # model busy with another call: try again shortly
                await asyncio.sleep(0.2)
                self._partial_wake.set()
                continue
            if gen != self._gen:
                continue
            self._partial_at = taken_at
            if text and text != self._last_partial and self.on_partial is not None:
                self._last_partial = text
                try:
                    self.on_partial(text)
                except Exception:
                    log.exception("on_partial callback failed")

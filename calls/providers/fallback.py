"""Fallback chains: a cloud provider first, an embedded one when it fails, and every failure reported.

Each wrapper implements the same contract as what it wraps, so the session cannot tell. The rule for all three:
the caller must not sit in dead air for more than about 1.5 s, so each wrapper has a deadline as well as catching
`ProviderError`. Each failure goes to `on_failure(error)` (wired to a CallEvent by the session factory). A
permanent error, or `max_failures` in a row, switches the call to the secondary for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

from .base import (
    Brain,
    BrainInput,
    BrainOutput,
    BrainState,
    CallContext,
    EndCall,
    ProviderError,
    StillWorking,
    STTStream,
    TextDelta,
    TTSProvider,
    UserTurn,
)

log = logging.getLogger("calls.providers.fallback")

OnFailure = Callable[[ProviderError], None]
BRAIN_FALLBACK_LINE = "Sorry, I'm having some trouble on my end. "
BRAIN_END_LINE = "I'm sorry, I'm having technical difficulties. Please call back a little later. Goodbye! "
BRAIN_FILLER_LINE = "One moment. "
#: The caller's silence after their turn may not exceed 1.5 s. If the LLM has said nothing this long after the
#: caller's last voiced frame, a filler is said (it takes the TTS ~0.2-0.4 s to be heard); the LLM keeps its
#: `first_output_s` from the request before it counts as failed.
FILLER_AFTER_S = 1.1
#: ... but the LLM always gets this long from the request first (the turn's transcript may have been slow).
FILLER_NOT_BEFORE_S = 0.35


class _Failures:
    """Counts failures, reports each, and decides when the primary is done for this call."""

    def __init__(self, on_failure: OnFailure | None, max_failures: int) -> None:
        self.on_failure = on_failure
        self.max_failures = max_failures
        self.in_a_row = 0
        self.errors: list[ProviderError] = []
        self.gave_up = False

    def failed(self, error: ProviderError) -> None:
        self.errors.append(error)
        self.in_a_row += 1
        if error.permanent or self.in_a_row >= self.max_failures:
            self.gave_up = True
        log.warning("provider %s failed (%s in a row): %s", error.provider, self.in_a_row, error)
        if self.on_failure is not None:
            try:
                self.on_failure(error)
            except Exception:  # a broken reporter must not take the fallback down with it
                log.exception("on_failure callback failed")

    def succeeded(self) -> None:
        self.in_a_row = 0


def _as_error(exc: BaseException, provider: str, what: str) -> ProviderError:
    if isinstance(exc, ProviderError):
        return exc
    return ProviderError(what, provider=provider)


# ---------------------------------------------------------------- speech-to-text


class FallbackSTT(STTStream):
    """Feeds the primary; keeps the current utterance's audio so that, when the primary fails (an error report,
    a `ProviderError`, or no transcript within `deadline_s`), the secondary gets the whole utterance and takes
    over for the rest of the call."""

    def __init__(self, primary: STTStream, secondary: STTStream, on_failure: OnFailure | None = None, *,
                 deadline_s: float = 1.5, buffer_s: float = 30.0) -> None:
        super().__init__(primary.sample_rate)
        self.primary, self.secondary = primary, secondary
        self.active: STTStream = primary
        self.deadline_s = deadline_s
        self.failures = _Failures(on_failure, max_failures=1)  # a stream cannot be half-used: switch at once
        self._utterance = bytearray()
        self._max_bytes = int(buffer_s * primary.sample_rate) * 2
        self._switch_lock = asyncio.Lock()
        self._switching = False
        self._switch_task: asyncio.Task | None = None
        self._closing: asyncio.Task | None = None
        for provider in (primary, secondary):
            provider.on_partial = self._partial
            provider.on_hint = self._hint
        if hasattr(primary, "on_error"):
            primary.on_error = self._primary_reported  # e.g. Deepgram gave up reconnecting, mid-utterance

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.active.name

    @property
    def last_ttfb_ms(self) -> float | None:  # type: ignore[override]
        return self.active.last_ttfb_ms

    async def start(self) -> None:
        try:
            await self.primary.start()
        except ProviderError as exc:
            await self._switch(exc)

    def send_audio(self, pcm: bytes) -> None:
        self._utterance += pcm
        if len(self._utterance) > self._max_bytes:
            del self._utterance[: len(self._utterance) - self._max_bytes]
        if not self._switching:
            self.active.send_audio(pcm)

    async def transcript(self) -> str:
        if self._switch_task is not None:
            await asyncio.shield(self._switch_task)
        if self.active is self.primary:
            try:
                return await asyncio.wait_for(self.primary.transcript(), self.deadline_s)
            except (ProviderError, TimeoutError) as exc:
                await self._switch(_as_error(exc, self.primary.name, f"no transcript within {self.deadline_s} s"))
        return await self.secondary.transcript()

    def commit(self) -> None:
        self._utterance.clear()
        self.active.commit()

    def expect(self, phrases: str | None) -> None:
        for provider in (self.primary, self.secondary):  # whichever transcribes this utterance in the end
            provider.expect(phrases)

    @property
    def biased(self) -> bool:
        return self.active.biased

    async def peek(self) -> str | None:
        if self._switching or self._switch_task is not None and not self._switch_task.done():
            return None
        try:
            return await self.active.peek()
        except ProviderError:
            return None  # optional: a failure shows (and switches) on the real transcript

    async def close(self) -> None:
        if self._switch_task is not None and not self._switch_task.done():
            self._switch_task.cancel()
        if self._closing is not None:
            await asyncio.gather(self._closing, return_exceptions=True)
        for provider in (self.primary, self.secondary):
            try:
                await provider.close()  # safe twice
            except Exception as exc:  # closing one must not stop closing the other
                log.warning("closing %s failed: %r", provider.name, exc)

    # ------------------------------------------------------------------ switching

    def _primary_reported(self, error: ProviderError) -> None:
        if self.active is self.primary and self._switch_task is None:
            self._switch_task = asyncio.get_running_loop().create_task(self._switch(error))

    async def _switch(self, error: ProviderError) -> None:
        async with self._switch_lock:
            if self.active is not self.primary:
                return
            self.failures.failed(error)
            self._switching = True  # audio arriving meanwhile goes only to the utterance buffer
            try:
                await self.secondary.start()
                self.active = self.secondary
                # Replay the utterance so far: the secondary must hear what the caller said before the failure.
                self.secondary.send_audio(bytes(self._utterance))
            finally:
                self._switching = False
        # Closed in the background: a dead socket's close handshake must not delay the transcript.
        self._closing = asyncio.get_running_loop().create_task(self.primary.close())

    def _partial(self, text: str) -> None:
        if self.on_partial is not None:
            self.on_partial(text)

    def _hint(self, hint) -> None:
        if self.on_hint is not None:
            self.on_hint(hint)


# ---------------------------------------------------------------- text-to-speech


class FallbackTTS(TTSProvider):
    """Each sentence goes to the primary; on a `ProviderError` or no first audio within `first_audio_s`, the
    sentence is synthesised by the secondary instead. A failure after the first audio is reported but not
    re-synthesised (the caller would hear the start of the sentence twice)."""

    def __init__(self, primary: TTSProvider, secondary: TTSProvider, on_failure: OnFailure | None = None, *,
                 first_audio_s: float = 1.0, start_timeout_s: float = 3.0, max_failures: int = 2) -> None:
        super().__init__(primary.sample_rate, primary.voice, primary.options)
        self.primary, self.secondary = primary, secondary
        self.first_audio_s = first_audio_s
        self.start_timeout_s = start_timeout_s
        self.failures = _Failures(on_failure, max_failures)
        self._last: TTSProvider = primary

    @property
    def name(self) -> str:  # type: ignore[override]
        return self._last.name

    @property
    def last_ttfb_ms(self) -> float | None:  # type: ignore[override]
        return self._last.last_ttfb_ms

    async def start(self) -> None:
        try:
            await asyncio.wait_for(self.primary.start(), self.start_timeout_s)
        except (ProviderError, TimeoutError) as exc:
            self.failures.failed(_as_error(exc, self.primary.name, "start timed out"))
            self.failures.gave_up = True  # never started: nothing to retry per sentence
        await self.secondary.start()

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        if not self.failures.gave_up:
            first, chunks, error = await self._first_audio(text)
            if error is None:
                self._last = self.primary
                async with contextlib.aclosing(chunks):
                    yield first
                    try:
                        async for chunk in chunks:
                            yield chunk
                    except ProviderError as exc:
                        self.failures.failed(exc)
                        return
                self.failures.succeeded()
                return
            self.failures.failed(error)
        self._last = self.secondary
        async with contextlib.aclosing(self.secondary.synthesize(text)) as chunks:
            async for chunk in chunks:
                yield chunk

    async def _first_audio(self, text: str):
        """(first chunk, the rest, None) or (None, None, the error); a failed stream is already closed."""
        chunks = self.primary.synthesize(text)
        try:
            first = await asyncio.wait_for(anext(chunks), self.first_audio_s)
        except StopAsyncIteration:
            error = ProviderError("no audio for the sentence", provider=self.primary.name)
        except (ProviderError, TimeoutError) as exc:
            error = _as_error(exc, self.primary.name, f"no audio within {self.first_audio_s} s")
        else:
            return first, chunks, None
        await chunks.aclose()
        return None, None, error

    async def close(self) -> None:
        for provider in (self.primary, self.secondary):
            try:
                await provider.close()
            except Exception as exc:  # closing one must not stop closing the other
                log.warning("closing %s failed: %r", provider.name, exc)


# ---------------------------------------------------------------- brain


class FallbackBrain(Brain):
    """The primary (an LLM) answers unless it fails, says nothing within `first_output_s`, or stops in the middle of
    its answer for as long (no output within `first_output_s` of the last one); then the caller hears `line` and the
    secondary takes the turn — a brain (e.g. the agent's flow), or, with `secondary=None`, a polite goodbye and
    hang-up. What the primary said before it stalled has been said (the speaker flushes a half sentence when the
    stream goes quiet).

    A caller's turn (`UserTurn.caller_stopped_at`) that the primary has not begun to answer `filler_after_s` after
    the caller stopped gets `filler` first ("One moment."), so the caller's silence stays within the 1.5 s budget
    even while the primary still has time left; a filler is no failure (a slow model is not a broken one)."""

    def __init__(self, primary: Brain, secondary: Brain | None, on_failure: OnFailure | None = None, *,
                 first_output_s: float = 1.5, line: str | None = None, max_failures: int = 2,
                 filler_after_s: float | None = FILLER_AFTER_S, filler: str = BRAIN_FILLER_LINE) -> None:
        """`filler_after_s` None: no filler."""
        self.primary, self.secondary = primary, secondary
        self.first_output_s = first_output_s
        self.filler_after_s = filler_after_s
        self.filler = filler
        self.line = line or (BRAIN_FALLBACK_LINE if secondary is not None else BRAIN_END_LINE)
        self.failures = _Failures(on_failure, max_failures)
        self._last: Brain = primary
        self._secondary_started = False

    @property
    def name(self) -> str:  # type: ignore[override]
        return self._last.name

    @property
    def state(self) -> BrainState:  # type: ignore[override]
        return self._last.state

    @property
    def active(self) -> Brain:
        """The brain that answered last (its model and token usage go into the turn's trace)."""
        return self._last

    @property
    def last_ttfb_ms(self) -> float | None:  # type: ignore[override]
        return self._last.last_ttfb_ms

    def bind(self, call: CallContext) -> None:
        """Both brains get the call; the secondary knows it stands in for a failed primary."""
        self.primary.bind(replace(call, as_fallback=False))
        if self.secondary is not None:
            self.secondary.bind(replace(call, as_fallback=True))

    def greeting(self) -> AsyncIterator[BrainOutput]:
        return self._guarded(lambda brain: brain.greeting(), None)

    def respond(self, event: BrainInput) -> AsyncIterator[BrainOutput]:
        return self._guarded(lambda brain: brain.respond(event), event)

    def heard(self, full_text: str, heard_text: str, interrupted: bool) -> None:
        self._last.heard(full_text, heard_text, interrupted)

    async def close(self) -> None:
        for brain in (self.primary, self.secondary):
            if brain is not None:
                try:
                    await brain.close()
                except Exception as exc:  # closing one must not stop closing the other
                    log.warning("closing %s failed: %r", brain.name, exc)

    async def _guarded(self, make, event: BrainInput | None) -> AsyncIterator[BrainOutput]:
        if not self.failures.gave_up:
            self._last = self.primary
            error = None
            spoke = ""
            async with contextlib.aclosing(make(self.primary)) as outputs:
                try:
                    async for out in self._in_time(outputs, self._filler_due(event)):
                        if isinstance(out, TextDelta) and out.text != self.filler:  # the model's own words
                            spoke = out.text or spoke
                        yield out
                except (ProviderError, TimeoutError) as exc:
                    what = f"stalled mid-reply for {self.first_output_s} s" if spoke else \
                        f"no reply within {self.first_output_s} s"
                    error = _as_error(exc, self.primary.name, what)
            if error is None:
                self.failures.succeeded()
                return
            self.failures.failed(error)
            # Said at once (the secondary may take a moment), as a sentence of its own after what was said so far.
            yield TextDelta(self.line if not spoke or spoke[-1].isspace() else " " + self.line)
        async for out in self._secondary(make, event):
            yield out

    def _filler_due(self, event: BrainInput | None) -> float | None:
        """When (`time.monotonic()`) the filler is due if the primary has said nothing by then; None: no filler."""
        stopped = event.caller_stopped_at if isinstance(event, UserTurn) else None
        if self.filler_after_s is None or stopped is None:
            return None
        return max(stopped + self.filler_after_s, time.monotonic() + FILLER_NOT_BEFORE_S)

    async def _in_time(self, outputs: AsyncIterator[BrainOutput],
                       filler_due: float | None = None) -> AsyncIterator[BrainOutput]:
        """The primary's outputs, each due within `first_output_s` of the one before (of the request, for the first):
        a stall before the first token and one in the middle of the answer cost the caller the same silence at most.
        `StillWorking` (the brain waits on a tool) extends the next deadline by its grace; it is not passed on.
        Nothing at all by `filler_due`: the filler, and the primary goes on to its deadline."""
        grace = 0.0
        while True:
            deadline = time.monotonic() + self.first_output_s + grace
            step = asyncio.ensure_future(anext(outputs))
            try:
                while not step.done():
                    until = deadline if filler_due is None else min(deadline, filler_due)
                    await asyncio.wait((step,), timeout=max(0.0, until - time.monotonic()))
                    if step.done():
                        break
                    if filler_due is not None and time.monotonic() < deadline:
                        filler_due = None
                        yield TextDelta(self.filler)
                    elif time.monotonic() >= deadline:
                        raise TimeoutError
            except BaseException:
                # A stall, or the reply cut (a barge-in closes this generator): the pending read ends before the
                # stream is closed (closing a generator that is still running fails).
                step.cancel()
                with contextlib.suppress(BaseException):
                    await step
                raise
            try:
                out = step.result()
            except StopAsyncIteration:
                return
            filler_due = None  # the answer has begun
            if isinstance(out, StillWorking):
                grace = out.grace_s
                continue
            grace = 0.0
            yield out

    async def _secondary(self, make, event: BrainInput | None) -> AsyncIterator[BrainOutput]:
        if self.secondary is None:
            yield EndCall("provider-failure")
            return
        self._last = self.secondary
        if not self._secondary_started:
            self._secondary_started = True
            if event is not None:
                # Mid-call, the secondary has never run: enter its start node silently (its opening lines would
                # be out of place now), then give it the caller's turn.
                async with contextlib.aclosing(self.secondary.greeting()) as opening:
                    async for _ in opening:
                        pass
        async with contextlib.aclosing(make(self.secondary)) as outputs:
            async for out in outputs:
                yield out

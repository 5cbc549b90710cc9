"""CallSession: one call's conversation — listening, deciding, speaking, being interrupted — and its record.

The session knows nothing of carriers: it receives decoded PCM, digits and played-marks, and sends through a
serializer it is handed. Everything on the per-frame path (`on_audio`) is synchronous and allocation-light; the
slow work (transcription, the brain, synthesis, database writes) runs in tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import enum
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from django.utils import timezone

from ..pipeline import recording, turns
from ..pipeline.observers import TurnTimer
from ..pipeline.playout import Playout, SentenceAudio, Utterance
from ..pipeline.ports import CallControl, MediaEncoder
from ..providers.base import (
    Brain,
    BrainInput,
    BrainOutput,
    Dtmf,
    EndCall,
    ProviderError,
    Silence,
    SpeechHint,
    STTStream,
    TextDelta,
    Transfer,
    TTSProvider,
    UserTurn,
    split_sentences,
)
from ..recorder import CallRecorder, TurnRecord

log = logging.getLogger("calls.session")

FALLBACK_LINE = "Sorry, I'm having a little trouble right now. Could you say that again?"
TIME_LIMIT_LINE = "We've reached the time limit for this call. Thank you for calling. Goodbye!"
# Said instead of the greeting when a dropped stream reconnects (calls.resume): the conversation goes on.
RESUME_LINE = "Sorry, we got cut off."


class State(enum.Enum):
    ACTIVE = "active"
    ENDING = "ending"  # saying goodbye; no new turns
    CLOSED = "closed"


@dataclass(slots=True)
class AgentSettings:
    """The slice of an Agent a session needs, read once at call start (no ORM on the call path)."""

    barge_in_enabled: bool = True
    barge_in_min_ms: int = 200
    end_of_turn_silence_ms: int = 300
    silence_timeout_s: float = 8.0
    max_reprompts: int = 2
    max_duration_s: float = 600.0
    min_speech_ms: int = 120
    speculate_ms: int = 100
    chunk_ms: int = 20
    lead_ms: int = 200
    mark_every_ms: int = 200


@dataclass
class Stats:
    turns: int = 0
    barge_ins: int = 0
    noise_turns: int = 0
    provider_failures: int = 0


class CallSession:
    def __init__(
        self,
        *,
        call_id: str,
        settings: AgentSettings,
        serializer: MediaEncoder,
        send: Callable[[str], Awaitable[None]],
        close: Callable[[], Awaitable[None]],
        stt: STTStream,
        tts: TTSProvider,
        brain: Brain,
        recorder: CallRecorder,
        sample_rate: int,
        control: CallControl | None = None,
        fallback_tts: TTSProvider | None = None,
        audio_recorder: recording.CallAudioRecorder | None = None,
        resumed: bool = False,
    ) -> None:
        self.call_id = call_id
        self.resumed = resumed
        self.cfg = settings
        self.stt, self.tts, self.brain = stt, tts, brain
        self.fallback_tts = fallback_tts
        self.recorder = recorder
        self.audio_recorder = audio_recorder
        self.control = control
        self._send_text = send
        self._close = close
        self.state = State.ACTIVE
        self.stats = Stats()
        self.detector = turns.TurnDetector(
            sample_rate, end_silence_ms=settings.end_of_turn_silence_ms, speculate_ms=settings.speculate_ms
        )
        self.playout = Playout(
            self._send, serializer, sample_rate,
            chunk_ms=settings.chunk_ms, lead_ms=settings.lead_ms, mark_every_ms=settings.mark_every_ms,
            on_sent=self._on_audio_sent if audio_recorder is not None else None,
        )
        self._caller_audio_start: int | None = None  # recording offsets (ms) of the current caller utterance
        self._reply_audio: list | None = None  # [start, end] in the recording of the reply being spoken
        self._rest = b""
        self._frame_bytes = self.detector.frame_bytes
        self._reply_task: asyncio.Task | None = None
        self._turn_task: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
        self._caller_started_at = timezone.now()
        self._reprompts = 0
        self._idle_since = time.monotonic()
        self._started = time.monotonic()
        self._closed = asyncio.Event()
        self.speech_started_at: float | None = None
        self.barge_in_latencies: list[float] = []

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self.stt.on_hint = self._on_stt_hint
        self.stt.on_partial = self._on_partial
        await asyncio.gather(self.stt.start(), self.tts.start())
        opening = _line(RESUME_LINE) if self.resumed else self.brain.greeting()
        self._reply_task = self._spawn(self._speak(opening, None), "greeting")
        self._spawn(self._watchdog(), "watchdog")

    async def _send(self, text: str) -> None:
        if self.state is not State.CLOSED:
            await self._send_text(text)

    def _spawn(self, coro, name: str) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro, name=f"{name}-{self.call_id}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.error("call %s: task %s failed: %r", self.call_id, task.get_name(), exc, exc_info=exc)
            self.recorder.event("error", {"task": task.get_name(), "error": repr(exc)[:300]})

    async def stop(self, reason: str = "stream-stopped") -> None:
        """The stream ended (carrier stop, socket closed): record what was heard and release everything."""
        if self.state is State.CLOSED:
            return
        if self.state is State.ACTIVE:
            self.recorder.update_call(end_reason=reason)
        self.state = State.CLOSED
        if self.playout.speaking:
            self._cut_recording()  # the carrier stops playing with the stream: audio still queued never played
        # Cancelling the reply task makes it record what the caller heard of it (its `finally`).
        # stop() may run inside one of our own tasks (the reply that hung up): never wait on that one.
        others = [t for t in self._tasks if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        for provider in (self.stt, self.tts, self.brain):
            try:
                await provider.close()
            except Exception as exc:  # closing must never lose the call record
                log.warning("call %s: closing %s failed: %r", self.call_id, provider.name, exc)
        if self.audio_recorder is not None:
            await recording.store(self.audio_recorder, self.recorder)
        self.recorder.update_call(status="completed", ended_at=timezone.now(), brain_state=_state_dict(self.brain))
        self._closed.set()

    # ------------------------------------------------------------------ inbound (hot path)

    def on_audio(self, pcm: bytes) -> None:
        if self.state is State.CLOSED:
            return
        fb = self._frame_bytes
        if self._rest:
            pcm = self._rest + pcm
            self._rest = b""
        if len(pcm) == fb:
            self._on_frame(pcm)
            return
        end = len(pcm) - len(pcm) % fb
        for off in range(0, end, fb):
            self._on_frame(pcm[off : off + fb])
        self._rest = pcm[end:]

    def _on_frame(self, frame: bytes) -> None:
        if self.audio_recorder is not None:
            self.audio_recorder.inbound(frame)
        outcome = self.detector.feed(frame)
        if outcome == turns.QUIET:
            return
        if outcome == turns.SPEECH_START:
            for early in self.detector.pop_preroll():
                self.stt.send_audio(early)
            self.stt.send_audio(frame)
            self._on_speech_start()
            return
        self.stt.send_audio(frame)
        if outcome == turns.SPEAKING:
            if self._agent_busy() and self.detector.voiced_ms >= self.cfg.barge_in_min_ms:
                self._barge_in()
        elif outcome == turns.PAUSE:
            # Transcribe during the end-of-turn silence; if the caller resumes, the result is simply not used.
            self._spawn(self._speculate(), "speculate")
        elif outcome == turns.END_OF_TURN:
            self._end_of_turn()

    def _agent_busy(self) -> bool:
        return self._reply_task is not None and not self._reply_task.done()

    def _on_speech_start(self) -> None:
        self.speech_started_at = time.monotonic()
        self._caller_started_at = timezone.now()
        self._reprompts = 0
        if self.audio_recorder is not None:
            # The VAD confirms speech some voiced frames in: the utterance began that much earlier.
            self._caller_audio_start = max(0, self.audio_recorder.position_ms - self.detector.tracker.voiced_ms)

    # ------------------------------------------------------------------ turn-taking

    async def _speculate(self) -> None:
        try:
            await self.stt.transcript()
        except ProviderError:
            pass  # the real request at end of turn will report it

    def _on_partial(self, text: str) -> None:
        """Interim transcripts go to the live view only; turns are stored from the final transcript."""
        if self.recorder.on_written is not None and text:
            self.recorder.on_written("partial", {"text": text})

    def _on_stt_hint(self, hint: SpeechHint) -> None:
        """Provider-side endpointing (e.g. Deepgram speech_final): end the turn without waiting for our VAD."""
        if hint.kind == "end_of_turn" and self.detector.tracker.speaking:
            self.detector.end_utterance()
            self._end_of_turn()

    def _end_of_turn(self) -> None:
        if self.state is not State.ACTIVE:
            return
        if self.detector.utterance_voiced_ms < self.cfg.min_speech_ms:
            self.stats.noise_turns += 1
            self.stt.commit()
            return
        timer = TurnTimer(last_voiced=self.detector.last_voiced_at)
        timer.mark("endpoint")
        started_at = self._caller_started_at
        previous = self._turn_task
        span = self._caller_audio_span()
        self._turn_task = self._spawn(self._caller_turn(timer, started_at, previous, span), "turn")

    def _caller_audio_span(self) -> tuple[int | None, int | None]:
        if self.audio_recorder is None or self._caller_audio_start is None:
            return None, None
        # The turn ends after its trailing silence: the speech itself ended that much earlier.
        end = self.audio_recorder.position_ms - self.detector.tracker.silence_ms
        return self._caller_audio_start, max(self._caller_audio_start, end)

    async def _caller_turn(self, timer: TurnTimer, started_at, previous: asyncio.Task | None,
                           audio_span: tuple[int | None, int | None] = (None, None)) -> None:
        if previous is not None and not previous.done():
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await previous
        timer.mark("stt_started")
        try:
            text = (await self.stt.transcript()).strip()
        except ProviderError as exc:
            self._provider_failed(exc, "stt")
            timer.mark("stt_final")
            self.stt.commit()
            # The caller spoke and nothing could transcribe it: ask them to repeat now, not after a silence.
            await self._reply(None, timer, outputs=_line(FALLBACK_LINE))
            return
        timer.mark("stt_final")
        self.stt.commit()
        if not text:
            self.stats.noise_turns += 1
            return
        self.stats.turns += 1
        self.recorder.turn(TurnRecord(role="caller", text=text, started_at=started_at, ended_at=timezone.now(),
                                      audio_start_ms=audio_span[0], audio_end_ms=audio_span[1]))
        await self._reply(UserTurn(text), timer)

    async def _reply(self, event: BrainInput | None, timer: TurnTimer | None,
                     outputs: AsyncIterator[BrainOutput] | None = None) -> None:
        """Start the agent's answer to `event` (or say `outputs`) once any uninterruptible speech still playing has
        finished."""
        current = self._reply_task
        if current is not None and not current.done():
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await current
        if self.state is not State.ACTIVE:
            return
        if timer is not None:
            timer.mark("brain_started")
        if outputs is None:
            outputs = self.brain.respond(event)
        self._reply_task = self._spawn(self._speak(outputs, timer), "reply")

    # ------------------------------------------------------------------ speaking

    async def _speak(self, outputs: AsyncIterator[BrainOutput], timer: TurnTimer | None) -> None:
        """Brain text → sentences → TTS (running ahead) → playout, then the actions (end, transfer)."""
        started_at = timezone.now()
        sentences: asyncio.Queue = asyncio.Queue()
        actions: list[EndCall | Transfer] = []
        spoken: list[Utterance] = []
        audio_span = self._reply_audio = [None, None]
        if timer is not None:
            self.playout.on_first_frame = lambda: timer.mark("first_frame_sent")
        producer = self._spawn(self._produce(outputs, sentences, actions, timer), "tts")
        synth: asyncio.Task | None = None
        try:
            while (item := await sentences.get()) is not None:
                text, uninterruptible, audio, synth = item
                # Played while it is still being synthesised: the first chunk goes out as soon as it exists.
                utt = self.playout.new_utterance(text, b"", uninterruptible, streaming=True)
                spoken.append(utt)
                audio.attach(utt)
                await self.playout.play(utt)  # an utterance that got no audio at all is retired by play
                await synth  # done by now (play returns once the audio is complete); surfaces its errors
            await producer
            await self.playout.wait_heard(timeout=self.playout.duration_s(spoken) + 3.0)
        except asyncio.CancelledError:
            producer.cancel()
            if synth is not None:
                synth.cancel()
            while not sentences.empty():
                if (item := sentences.get_nowait()) is not None:
                    item[3].cancel()
            raise
        finally:
            self._finish_reply(spoken, started_at, timer, audio_span)
        for action in actions:
            await self._act(action)
        self._idle_since = time.monotonic()

    async def _produce(self, outputs, sentences: asyncio.Queue, actions: list, timer: TurnTimer | None) -> None:
        pending = ""
        uninterruptible = False
        try:
            async for out in outputs:
                if isinstance(out, TextDelta):
                    if timer is not None:
                        timer.mark("brain_first_text")
                    if out.uninterruptible != uninterruptible and pending.strip():
                        self._queue_sentence(sentences, pending.strip(), uninterruptible, timer)
                        pending = ""
                    uninterruptible = out.uninterruptible
                    done, pending = split_sentences(pending + out.text)
                    for sentence in done:
                        self._queue_sentence(sentences, sentence, uninterruptible, timer)
                else:
                    actions.append(out)
        except ProviderError as exc:
            self._provider_failed(exc, "brain")
            pending = FALLBACK_LINE
        if pending.strip():
            self._queue_sentence(sentences, pending.strip(), uninterruptible, timer)
        sentences.put_nowait(None)

    def _queue_sentence(self, sentences: asyncio.Queue, text: str, uninterruptible: bool, timer) -> None:
        # Synthesis starts now, ahead of playout; its audio waits in `audio` until the sentence's turn to play.
        audio = SentenceAudio()
        synth = self._spawn(self._synthesize(text, timer, audio), "synth")
        sentences.put_nowait((text, uninterruptible, audio, synth))

    async def _synthesize(self, text: str, timer: TurnTimer | None, audio: SentenceAudio) -> None:
        if timer is not None:
            timer.mark("tts_started")
        dropped = False
        try:
            async for chunk in self.tts.synthesize(text):
                if timer is not None:
                    timer.mark("tts_first_audio")
                audio.feed(chunk)
        except ProviderError as exc:
            self._provider_failed(exc, "tts")
            # Once some of the sentence exists (it may already be playing) it is not said again by another voice.
            if not audio.fed and self.fallback_tts is not None and self.fallback_tts is not self.tts:
                async for chunk in self.fallback_tts.synthesize(text):
                    audio.feed(chunk)
        except asyncio.CancelledError:
            dropped = True  # a barge-in: the sentence stays incomplete, so its heard share is not overstated
            raise
        finally:
            if not dropped:
                audio.finish()  # also after an unexpected error: playout must never wait for audio that won't come

    def _finish_reply(
        self, spoken: list[Utterance], started_at, timer: TurnTimer | None, audio_span=(None, None)
    ) -> None:
        if not spoken:
            return
        full = " ".join(u.text for u in spoken)
        heard = " ".join(t for t in (u.heard_text() for u in spoken) if t)
        interrupted = any(not u.fully_heard for u in spoken)
        self.brain.heard(full, heard, interrupted)
        if timer is not None:
            timer.providers = self._provider_ttfb()
        self.recorder.turn(
            TurnRecord(
                role="agent", text=full, heard_text=heard, interrupted=interrupted,
                started_at=started_at, ended_at=timezone.now(),
                node=(getattr(self.brain, "state", None) and self.brain.state.node) or "",
                metrics=timer.as_metrics() if timer is not None else None,
                audio_start_ms=audio_span[0], audio_end_ms=audio_span[1],
                # A copy: the brain goes on changing its state while this write waits in the recorder's queue.
                brain_state=copy.deepcopy(_state_dict(self.brain)),
            )
        )
        if timer is not None:
            log.debug("call %s turn latency %s", self.call_id, timer.as_metrics())

    def _provider_ttfb(self) -> dict:
        """Each provider's time to first byte on this turn, under the name of the one that actually served."""
        out = {}
        for stage, provider in (("stt", self.stt), ("brain", self.brain), ("tts", self.tts)):
            ttfb = getattr(provider, "last_ttfb_ms", None)
            if ttfb is not None:
                out[stage] = {"provider": getattr(getattr(provider, "active", provider), "name", provider.name),
                              "ttfb_ms": round(ttfb, 1)}
        return out

    def _on_audio_sent(self, pcm: bytes) -> None:
        """Playout put a chunk on the wire: place it in the recording, and extend the reply's span there."""
        start = self.audio_recorder.outbound(pcm)
        span = self._reply_audio
        if span is not None:
            if span[0] is None:
                span[0] = start
            span[1] = self.audio_recorder.outbound_end_ms

    def _cut_recording(self) -> None:
        """A clear is coming: drop the agent audio not yet played, before the cut reply's turn is recorded (the
        cancelled reply records itself before the clear task runs)."""
        if self.audio_recorder is None:
            return
        end = self.audio_recorder.truncate_outbound()
        span = self._reply_audio
        if span is not None and span[0] is not None:
            span[1] = max(span[0], min(span[1], end))

    # ------------------------------------------------------------------ interruptions and input

    def _barge_in(self) -> None:
        if not self.cfg.barge_in_enabled or self.state is not State.ACTIVE:
            return
        if not self.playout.interruptible:
            return
        task = self._reply_task
        if task is None or task.done():
            return
        self.stats.barge_ins += 1
        self._cut_recording()
        task.cancel()
        self._spawn(self._clear(), "clear")
        detail = {"voiced_ms": self.detector.voiced_ms}
        if self.speech_started_at is not None:
            detail["onset_to_clear_ms"] = round((time.monotonic() - self.speech_started_at) * 1000, 1)
            self.barge_in_latencies.append(detail["onset_to_clear_ms"])
        self.recorder.event("barge_in", detail)

    async def _clear(self) -> None:
        await self.playout.clear()

    def on_dtmf(self, digit: str) -> None:
        if self.state is not State.ACTIVE:
            return
        self.recorder.event("dtmf", {"digit": digit})
        self._reprompts = 0
        if self._agent_busy() and self.playout.interruptible:
            self._cut_recording()
            self._reply_task.cancel()
            self._spawn(self._clear(), "clear")
        self._spawn(self._reply(Dtmf(digit), None), "dtmf")

    def on_mark(self, name: str) -> None:
        self.playout.on_mark(name)

    # ------------------------------------------------------------------ timers and ending

    async def _watchdog(self) -> None:
        """Silence re-prompts and the maximum call duration, checked four times a second."""
        while self.state is State.ACTIVE:
            await asyncio.sleep(0.25)
            now = time.monotonic()
            if now - self._started >= self.cfg.max_duration_s:
                self.recorder.event("info", {"limit": "max_duration", "seconds": self.cfg.max_duration_s})
                await self._say_goodbye(TIME_LIMIT_LINE, "max-duration")
                return
            busy = self._agent_busy() or (self._turn_task is not None and not self._turn_task.done())
            if busy or self.detector.tracker.speaking:
                self._idle_since = now
                continue
            if now - self._idle_since >= self.cfg.silence_timeout_s:
                self._idle_since = now
                # The brain re-prompts while fewer than max_reprompts were made, then says goodbye.
                if self._reprompts < self.cfg.max_reprompts:
                    self.recorder.event("reprompt", {"count": self._reprompts + 1})
                await self._reply(Silence(self._reprompts), None)
                self._reprompts += 1

    async def _say_goodbye(self, line: str, reason: str) -> None:
        if self._reply_task is not None and not self._reply_task.done():
            self._cut_recording()
            self._reply_task.cancel()
            await self._clear()

        async def goodbye():
            yield TextDelta(line, uninterruptible=True)
            yield EndCall(reason)

        self._reply_task = self._spawn(self._speak(goodbye(), None), "goodbye")

    async def _act(self, action: EndCall | Transfer) -> None:
        if isinstance(action, EndCall):
            await self._hang_up(action.reason)
        elif isinstance(action, Transfer):
            self.recorder.event("transfer", {"target": action.target, "summary": action.summary,
                                             "via": "carrier" if self.control else "none (no credentials)"})
            if self.control is not None:
                try:
                    # Flow transfers also say how (warm/cold) and what the other side is told (SIP headers).
                    options = getattr(action, "options", None)
                    await self.control.transfer(self.call_id, action.target, action.summary,
                                                **({"options": options} if options is not None else {}))
                except ProviderError as exc:
                    self._provider_failed(exc, "carrier")
            await self._hang_up("transferred", hang_up=False)

    async def _hang_up(self, reason: str, hang_up: bool = True) -> None:
        """End the call after the goodbye was heard: over REST when we can, else by closing the stream."""
        if self.state is State.CLOSED:
            return
        self.state = State.ENDING
        self.recorder.update_call(end_reason=reason)
        if hang_up and self.control is not None:
            try:
                await self.control.hang_up(self.call_id)
            except ProviderError as exc:
                self._provider_failed(exc, "carrier")
        await self._close()

    def _provider_failed(self, exc: ProviderError, stage: str) -> None:
        self.stats.provider_failures += 1
        log.warning("call %s: %s provider %s failed: %s", self.call_id, stage, exc.provider, exc)
        self.recorder.event("provider_failure", {"stage": stage, "provider": exc.provider, "error": str(exc)[:300]})

    async def wait_closed(self) -> None:
        await self._closed.wait()


async def _line(text: str) -> AsyncIterator[BrainOutput]:
    yield TextDelta(text)


def _state_dict(brain: Brain) -> dict:
    state = getattr(brain, "state", None)
    if state is None:
        return {}
    return {"node": state.node, "variables": state.variables}


"""The reply speaker: brain outputs -> sentences -> TTS (running ahead of playout) -> playout, then the reply's
actions (end the call, transfer).

One reply is said at a time (`say`); a new one waits for the current one (`finish`), which matters for
uninterruptible sentences that a barge-in cannot cut. Each sentence is synthesised as soon as the brain completes
it and played while it is still being synthesised. If the brain fails the caller hears `FALLBACK_LINE`; if the TTS
fails before a sentence has any audio, the fallback voice says it. When a reply ends (said, cut or cancelled) the
turn log records what the caller heard of it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from ..pipeline.observers import TurnTimer
from ..pipeline.playout import Playout, SentenceAudio, Utterance
from ..providers.base import (
    BrainOutput,
    EndCall,
    ProviderError,
    TextDelta,
    ToolUsed,
    Transfer,
    TTSProvider,
    split_sentences,
)
from .lines import FALLBACK_LINE
from .turn_log import TurnLog

#: spawn(coroutine, name) -> a task the session tracks (and cancels when the call stops).
Spawn = Callable[..., asyncio.Task]
#: A half sentence is sent to TTS once the brain has said nothing more for this long (a stalled stream).
FLUSH_AFTER_S = 0.3


class Speaker:
    def __init__(
        self,
        *,
        playout: Playout,
        tts: TTSProvider,
        turn_log: TurnLog,
        spawn: Spawn,
        act: Callable[[EndCall | Transfer], Awaitable[None]],
        provider_failed: Callable[[ProviderError, str], None],
        on_idle: Callable[[], None],
        fallback_tts: TTSProvider | None = None,
        language: str = "en",
    ) -> None:
        """`act` carries out a reply's actions once it was heard; `provider_failed(error, stage)` reports a brain
        or TTS failure; `on_idle` is called when a reply and its actions are done; `language` (the agent's tag)
        picks the sentence splitter's rules."""
        self.language = language
        self.playout = playout
        self.tts = tts
        self.fallback_tts = fallback_tts
        self.turn_log = turn_log
        self._spawn = spawn
        self._act = act
        self._provider_failed = provider_failed
        self._on_idle = on_idle
        self.task: asyncio.Task | None = None  # the reply being said
        self._frames_at_start = 0  # playout's frames sent when the reply being said began
        self.flush_after_s = FLUSH_AFTER_S

    @property
    def busy(self) -> bool:
        """A reply is being said (or its actions carried out)."""
        return self.task is not None and not self.task.done()

    @property
    def audible(self) -> bool:
        """A reply is being said and some of its audio has gone to the carrier (the caller can hear the agent;
        before that, caller speech is no talking over the agent)."""
        return self.busy and self.playout.frames_sent > self._frames_at_start

    @property
    def heard_ms(self) -> int:
        """About how much of the reply being said the caller has heard by now: what was sent of it, less what
        playout keeps queued ahead at the carrier (0 when nothing is being said)."""
        if not self.busy:
            return 0
        sent = (self.playout.frames_sent - self._frames_at_start) * self.playout.chunk_ms
        return max(0, sent - self.playout.lead_ms)

    def say(self, outputs: AsyncIterator[BrainOutput], timer: TurnTimer | None = None,
            name: str = "reply") -> asyncio.Task:
        """Start saying `outputs` now (the caller makes sure nothing else is being said)."""
        self._frames_at_start = self.playout.frames_sent
        self.task = self._spawn(self._speak(outputs, timer), name)
        return self.task

    async def finish(self) -> None:
        """Wait until the reply being said has ended, however it ends."""
        current = self.task
        if current is not None and not current.done():
            # Shielded: cancelling the waiter must not cancel the reply. Unshielded, a turn waiting here for the
            # goodbye, cancelled by the goodbye's own hang-up (`CallSession.stop`, which awaits it), cancelled the
            # goodbye in turn, which cancelled the gather, and so on: a RecursionError, and the call never closed.
            try:
                await asyncio.shield(current)
            except asyncio.CancelledError:
                if not current.done():
                    raise  # the waiter itself is cancelled
            except Exception:
                pass

    def cut(self) -> bool:
        """Stop the reply now, before the carrier is told to drop its audio: the unplayed audio leaves the recording
        first, then the cancelled reply records what was heard. False if nothing was being said."""
        task = self.task
        if task is None or task.done():
            return False
        self.turn_log.cut_recording()
        task.cancel()
        return True

    def interrupt(self) -> None:
        """Cut the reply and clear the carrier's buffer without waiting for it (a barge-in, a key press)."""
        if self.cut():
            self._spawn(self.playout.clear(), "clear")

    async def stop_talking(self) -> None:
        """Cut the reply and clear the carrier's buffer before going on (the goodbye must not be cleared too)."""
        if self.cut():
            await self.playout.clear()

    # ------------------------------------------------------------------ saying a reply

    async def _speak(self, outputs: AsyncIterator[BrainOutput], timer: TurnTimer | None) -> None:
        reply = self.turn_log.begin_reply()
        sentences: asyncio.Queue = asyncio.Queue()
        actions: list[EndCall | Transfer] = []
        spoken: list[Utterance] = []
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
            self.turn_log.agent_turn(reply, spoken, timer)
        for action in actions:
            await self._act(action)
        self._on_idle()

    async def _produce(self, outputs, sentences: asyncio.Queue, actions: list, timer: TurnTimer | None) -> None:
        """Brain outputs -> sentences (each starting its synthesis at once) and actions. A half sentence is said
        once the brain has been quiet for `flush_after_s`: a stream that stalls is spoken as far as it got."""
        text = _Unfinished(lambda t, u: self._queue_sentence(sentences, t, u, timer), self.flush_after_s,
                           self.language)
        try:
            async for out in outputs:
                if isinstance(out, TextDelta):
                    if timer is not None:
                        timer.mark("brain_first_text")
                    text.add(out.text, out.uninterruptible)
                elif isinstance(out, EndCall | Transfer):
                    actions.append(out)
                elif isinstance(out, ToolUsed):
                    self.turn_log.recorder.event("tool_call", {"name": out.name, "arguments": out.arguments})
        except ProviderError as exc:
            self._provider_failed(exc, "brain")
            text.text = FALLBACK_LINE  # instead of a half sentence cut by the error (not flushed by a pause first)
        finally:
            text.stop_waiting()
        text.flush()
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


class _Unfinished:
    """The reply's text not yet sent to TTS: complete sentences go at once (`add`); what is left of one goes when
    the interruptibility changes, when the reply ends (`flush`), or after `idle_s` without more text."""

    def __init__(self, say: Callable[[str, bool], None], idle_s: float, language: str = "en") -> None:
        self._say = say
        self._language = language
        self._idle_s = idle_s
        self.text = ""
        self.uninterruptible = False
        self._timer: asyncio.TimerHandle | None = None

    def add(self, text: str, uninterruptible: bool) -> None:
        self.stop_waiting()
        if uninterruptible != self.uninterruptible:
            self.flush()
            self.uninterruptible = uninterruptible
        done, self.text = split_sentences(self.text + text, self._language)
        for sentence in done:
            self._say(sentence, uninterruptible)
        if self.text.strip():
            self._timer = asyncio.get_running_loop().call_later(self._idle_s, self.flush)

    def flush(self) -> None:
        self.stop_waiting()
        if self.text.strip():
            self._say(self.text.strip(), self.uninterruptible)
        self.text = ""

    def stop_waiting(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

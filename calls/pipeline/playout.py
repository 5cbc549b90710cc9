"""Speech out: paces reply audio to the carrier, drops it on barge-in, and learns from marks what was heard.

Audio is sent a little ahead of real time (`lead_ms`) so the carrier never starves, but not far ahead, so a
`clear` has little to drop. A mark follows every `mark_every_ms` of audio; the carrier echoes it once the audio
before it has played. Marks echoed after our `clear` only mean "dropped", so they are ignored.

An utterance's audio may still be arriving while it plays (a streaming TTS): `Utterance.feed` adds to it,
`finish` says there is no more, and `play` sends what it has and waits for the rest, so the caller hears the first
words as soon as the TTS's first chunk exists rather than once the whole sentence is synthesised.

Pause and resume (the caller may only be saying "uh-huh"): `pause` stops sending and has the carrier drop its
buffer (`clear`), so the agent goes quiet at once; it rewinds each utterance to where the carrier had got in
playing it — what was sent minus what the pacing says is still queued there (`_play_end - now`), less a small
`resume_overlap_ms` for the carrier's jitter, never before what a mark confirmed. `resume` re-sends from there,
so the caller hears the whole answer; marks of the dropped audio are ignored, and new ones confirm the rest.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from .ports import MediaEncoder

#: Speech rate used to guess how long a sentence's audio will be while it is still being synthesised (brisk TTS).
MS_PER_CHAR = 60


@dataclass(eq=False)
class Utterance:
    """One sentence of a reply, with its audio and how much of it the caller has heard."""

    text: str
    pcm: bytes
    uninterruptible: bool = False
    id: int = 0
    sent_bytes: int = 0
    heard_bytes: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)  # set when fully heard or dropped
    complete: bool = True  # False while a streaming TTS is still adding audio (see `feed`, `finish`)
    expected_bytes: int = 0  # a guess of the whole sentence's audio while it is incomplete
    grew: asyncio.Event = field(default_factory=asyncio.Event)  # set by `feed` and `finish`

    def feed(self, chunk: bytes) -> None:
        if chunk:
            self.pcm += chunk
            self.grew.set()

    def finish(self) -> None:
        self.complete = True
        self.grew.set()

    @property
    def fully_heard(self) -> bool:
        return self.complete and self.heard_bytes >= len(self.pcm)

    def heard_text(self) -> str:
        """The words of `text` the caller heard, by the share of audio played, cut at a word boundary."""
        if self.fully_heard or (self.complete and not self.pcm):
            return self.text
        if self.heard_bytes <= 0:
            return ""
        total = len(self.pcm) if self.complete else max(len(self.pcm), self.expected_bytes)
        words = self.text.split()
        keep = int(len(words) * self.heard_bytes / total)
        return " ".join(words[:keep])


class Playout:
    """Sends utterances to the carrier in order; one per call."""

    def __init__(
        self,
        send: Callable[[str], Awaitable[None]],
        serializer: MediaEncoder,
        sample_rate: int,
        chunk_ms: int = 20,
        lead_ms: int = 200,
        mark_every_ms: int = 200,
        on_first_frame: Callable[[], None] | None = None,
        on_sent: Callable[[bytes], None] | None = None,
        resume_overlap_ms: int = 40,
    ) -> None:
        self._send = send
        self._serializer = serializer
        self._bytes_per_ms = sample_rate * 2 // 1000
        self._chunk = max(1, chunk_ms) * self._bytes_per_ms
        self.chunk_ms = max(1, chunk_ms)
        self.lead_ms = lead_ms
        self._lead_s = lead_ms / 1000
        self._mark_every = max(chunk_ms, mark_every_ms) * self._bytes_per_ms
        self._ids = itertools.count(1)
        self._marks: dict[str, tuple[Utterance, int]] = {}
        self._play_end = 0.0  # when the carrier will have played everything we sent (estimate)
        self.on_first_frame = on_first_frame
        self.on_sent = on_sent  # each PCM chunk once it is on the wire (the call recording places it)
        self.frames_sent = 0
        self.frames_after_clear = 0
        self.cleared = False
        self.active: list[Utterance] = []
        self._overlap = resume_overlap_ms * self._bytes_per_ms
        self._playing: Utterance | None = None  # the utterance `play` is sending
        self._epoch = 0  # bumped by pause and clear: a send that straddles one was dropped by the carrier
        self._resumed = asyncio.Event()  # clear while paused: `play` waits on it
        self._resumed.set()
        self.paused = False
        self._paused_at = 0.0
        self._held_s = 0.0  # time spent paused, in all (waiting for marks does not count it)
        self.pauses = 0
        self.rewound_bytes = 0  # audio a pause took back (its clear dropped it at the carrier; resume sends it again)

    @property
    def speaking(self) -> bool:
        """Audio is on its way or still playing at the caller."""
        return bool(self.active)

    @property
    def interruptible(self) -> bool:
        return not any(u.uninterruptible for u in self.active)

    def new_utterance(self, text: str, pcm: bytes, uninterruptible: bool = False, streaming: bool = False) -> Utterance:
        """A sentence about to be played, counted as active (speaking) from now. With `streaming`, its audio comes
        later through `feed` / `finish`."""
        utt = Utterance(text=text, pcm=pcm, uninterruptible=uninterruptible, id=next(self._ids), complete=not streaming,
                        expected_bytes=len(text) * MS_PER_CHAR * self._bytes_per_ms)
        self.active.append(utt)
        self.cleared = False
        return utt

    async def play(self, utt: Utterance) -> None:
        """Send all of `utt`, paced, waiting for audio still being synthesised (and while paused); returns when
        sent (not yet heard). Cancel it to stop sending at once."""
        self._playing = utt
        try:
            await self._play(utt)
        finally:
            if self._playing is utt:
                self._playing = None

    async def _play(self, utt: Utterance) -> None:
        chunk = self._chunk
        seen = -1
        while True:
            if seen != self._epoch:
                # At the start, and after a pause rewound this utterance and dropped its marks: mark from here.
                seen = self._epoch
                next_mark, marked = utt.sent_bytes + self._mark_every, utt.heard_bytes
            if utt.sent_bytes >= len(utt.pcm):
                if utt.complete:
                    break
                utt.grew.clear()
                await utt.grew.wait()
                continue
            if not self._resumed.is_set():
                await self._resumed.wait()
                continue
            now = time.monotonic()
            ahead = self._play_end - now
            if ahead > self._lead_s:
                # Wake once per half lead, then send half a lead's worth: fewer wake-ups than one per frame.
                await asyncio.sleep(ahead - self._lead_s / 2)
                continue
            if self.cleared:
                return
            epoch = self._epoch
            await self._send_piece(utt, chunk)
            if self._epoch != epoch:
                continue  # paused (or cleared) while it was on its way: the carrier dropped it, the pause rewound
            if utt.sent_bytes >= next_mark:
                await self._mark(utt, utt.sent_bytes)
                marked, next_mark = utt.sent_bytes, utt.sent_bytes + self._mark_every
        if not utt.pcm or utt.fully_heard:
            # (fully heard already: a streamed sentence whose last mark came back before it was `finish`ed)
            utt.done.set()
            self._retire(utt)
        elif marked < len(utt.pcm) and not self.cleared and self._resumed.is_set():
            await self._mark(utt, len(utt.pcm))  # the end of the sentence: it tells when all of it was heard
        # (paused: `resume` re-sends this sentence's dropped tail, and its end mark, before `play` goes on.)

    async def _send_piece(self, utt: Utterance, size: int) -> None:
        now = time.monotonic()
        piece = utt.pcm[utt.sent_bytes : utt.sent_bytes + size]
        utt.sent_bytes += len(piece)
        self._play_end = max(self._play_end, now) + len(piece) / self._bytes_per_ms / 1000
        epoch = self._epoch
        await self._send(self._serializer.encode_audio(piece))
        self.frames_sent += 1
        if self._epoch != epoch:
            return  # dropped by the clear that followed it: not in the recording, no mark for it
        if self.on_sent is not None:
            self.on_sent(piece)
        if self.on_first_frame is not None:
            self.on_first_frame()
            self.on_first_frame = None

    async def _mark(self, utt: Utterance, position: int) -> None:
        name = f"{utt.id}:{position}"
        self._marks[name] = (utt, position)
        await self._send(self._serializer.encode_mark(name))

    def on_mark(self, name: str) -> None:
        entry = self._marks.pop(name, None)
        if entry is None:
            return  # dropped by a clear, or not ours
        utt, position = entry
        utt.heard_bytes = max(utt.heard_bytes, position)
        if utt.fully_heard:
            utt.done.set()
            self._retire(utt)

    def _retire(self, utt: Utterance) -> None:
        if utt in self.active:
            self.active.remove(utt)

    async def clear(self) -> list[Utterance]:
        """Barge-in: tell the carrier to drop what it buffered; return the utterances cut short."""
        cut = list(self.active)
        self.cleared = True
        self._end_pause()
        self._epoch += 1
        self._marks.clear()
        self._play_end = 0.0
        for utt in cut:
            utt.done.set()
        self.active.clear()
        await self._send(self._serializer.encode_clear())
        return cut

    # ------------------------------------------------------------------ pause / resume

    def pause(self) -> bool:
        """Stop sending now and rewind every utterance to where the carrier had got in playing it; the caller
        then `send_clear`s (False, and nothing changes, if nothing is being said or it is paused already)."""
        if self.paused or not self.active:
            return False
        now = time.monotonic()
        queued = int(max(0.0, self._play_end - now) * 1000 * self._bytes_per_ms) + self._overlap
        for utt in reversed(self.active):
            if queued <= 0:
                break
            back = min(queued, utt.sent_bytes - utt.heard_bytes)
            if back > 0:
                position = utt.sent_bytes - back
                position -= position % 2
                queued -= utt.sent_bytes - position
                self.rewound_bytes += utt.sent_bytes - position
                utt.sent_bytes = position
        self.paused = True
        self._paused_at = now
        self.pauses += 1
        self._epoch += 1
        self._resumed.clear()
        self._marks.clear()  # the clear drops what they mark; their echoes say nothing of what was heard
        self._play_end = 0.0
        return True

    async def send_clear(self) -> None:
        await self._send(self._serializer.encode_clear())

    async def resume(self) -> None:
        """Go on from where the caller stopped hearing: first the dropped tails of sentences `play` had already
        sent (at most the lead's worth of audio, so at once), then `play` carries on."""
        if not self.paused:
            return
        epoch = self._epoch
        for utt in list(self.active):
            if utt is self._playing:
                break
            while utt.sent_bytes < len(utt.pcm):
                await self._send_piece(utt, self._chunk)
                if self._epoch != epoch:
                    return  # paused again, or cleared, while resuming: that one decides
            if utt.heard_bytes < len(utt.pcm):
                await self._mark(utt, len(utt.pcm))
        if self._epoch == epoch:
            self._end_pause()

    def _end_pause(self) -> None:
        if self.paused:
            self._held_s += time.monotonic() - self._paused_at
            self.paused = False
        self._resumed.set()

    @property
    def held_s(self) -> float:
        """Seconds spent paused so far."""
        return self._held_s + (time.monotonic() - self._paused_at if self.paused else 0.0)

    def duration_s(self, utterances: list[Utterance]) -> float:
        return sum(len(u.pcm) for u in utterances) / self._bytes_per_ms / 1000

    async def wait_heard(self, timeout: float) -> bool:
        """Wait until everything sent so far has been played (marks confirmed); time spent paused does not count
        against `timeout`."""
        waiters = [asyncio.ensure_future(u.done.wait()) for u in self.active]
        if not waiters:
            return True
        loop = asyncio.get_running_loop()
        deadline, held = loop.time() + timeout, self.held_s
        try:
            while True:
                left = deadline + (self.held_s - held) - loop.time()
                if left <= 0:
                    return False
                _, pending = await asyncio.wait(waiters, timeout=left)
                if not pending:
                    return True
        finally:
            for waiter in waiters:
                waiter.cancel()


class SentenceAudio:
    """A sentence's synthesised audio on its way to playout: chunks wait here until the sentence's turn comes
    (`attach`), then flow straight into its Utterance as they arrive."""

    __slots__ = ("_chunks", "_utt", "_finished", "fed")

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._utt: Utterance | None = None
        self._finished = False
        self.fed = False

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.fed = True
        if self._utt is not None:
            self._utt.feed(chunk)
        else:
            self._chunks.append(chunk)

    def finish(self) -> None:
        self._finished = True
        if self._utt is not None:
            self._utt.finish()

    def attach(self, utt: Utterance) -> None:
        self._utt = utt
        for chunk in self._chunks:
            utt.feed(chunk)
        self._chunks = []
        if self._finished:
            utt.finish()

"""RealtimeCallSession: a call whose brain is a speech-to-speech model (the OpenAI Realtime API).

The caller's audio goes to the model as it arrives (`AudioBridge`: μ-law straight through on 8 kHz PCMU calls);
the model's audio goes to the caller through the same `Playout` as the cascaded pipeline's, with marks, so we know
what was heard. Turn-taking: the model's server VAD ends the caller's turns (or, with turn_detection "ours", the
agent's end-of-turn strategy does and we commit the audio); whether caller speech over the agent is an interruption
is the agent's own interruption strategy's call, because the model's VAD cannot tell "uh-huh" from "stop":

- voiced time (or never): decided on our VAD alone, as in the cascaded pipeline;
- words (`decides_on_words`, the agents' default): there is no STT here, and the model transcribes the caller only
  once its VAD has ended their turn. So the agent is held — paused, the carrier told to `clear`, the model's audio
  kept — `hold_ms` into the caller's speech, and the model's transcript of that speech decides: a backchannel
  ("uh-huh", "okay") or no words resumes the agent from where it was heard and the item is deleted from the model's
  conversation (no turn to answer); real words cut it (cancel, truncate) and are answered. Such a session asks for
  each response itself (`create_response` off): the server would otherwise answer the "uh-huh". Held with no
  transcript `decide_ms` after the server could have ended the turn, the agent resumes (a late transcript with
  real words still cuts it); `max_hold_ms` held in all cuts it.

A barge-in: `clear` to the carrier, `response.cancel`, then `conversation.item.truncate` of every item cut short at
the milliseconds its confirmed marks say were heard — so the model's context holds only what the caller heard,
the promise the cascaded pipeline keeps.

No dead air: if the socket does not open, drops, or a response brings no audio within the agent's first-audio
deadline, the call goes on in a cascaded `CallSession` on the agent's fallback providers, with the conversation so
far (a `realtime_fallback` CallEvent says why). From then on this object only forwards to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from django.utils import timezone

from ..costs import REALTIME_PARTS
from ..pipeline import recording
from ..pipeline.observers import TurnTimer
from ..pipeline.playout import Playout, Utterance
from ..pipeline.ports import CallControl, MediaEncoder
from ..pipeline.turns import END_OF_TURN, SPEAKING, SPEECH_START
from ..providers.base import EndCall, ProviderError, Transfer
from ..providers.llm.conversation import INTERRUPTED
from ..providers.realtime import events as ev
from ..providers.realtime.audio import AudioBridge, heard_ms
from ..providers.realtime.brain import RealtimeBrain
from ..providers.realtime.link import PROVIDER
from ..recorder import CallRecorder, TurnRecord
from .call_session import CallSession, State
from .lines import TIME_LIMIT_LINE
from .settings import AgentSettings
from .tasks import CallTasks
from .turn_taking import HOLD, INTERRUPT, NOT_AN_INTERRUPTION, end_of_turn_for, interruption_for
from .watchdog import Watchdog

log = logging.getLogger("calls.session")

#: Builds the cascaded session a failed realtime call continues in: (conversation so far as chat messages,
#: whether the caller was greeted already) -> a CallSession not yet started (awaited: it may read the database).
CascadeFactory = Callable[[list[dict], bool], Awaitable[CallSession]]


@dataclass(eq=False)
class ModelItem:
    """One assistant audio item of the model's, as it is played."""

    item_id: str
    content_index: int
    utt: Utterance
    timer: TurnTimer | None = None  # the reply's, when it answers a caller turn
    words: list[str] = field(default_factory=list)  # transcript deltas so far
    received_bytes: int = 0  # PCM16 at the call's rate


@dataclass(eq=False)
class Response:
    """One model response: its items, what started it (for latency), what it asked to do at its end."""

    id: str
    timer: TurnTimer | None
    started_at: object = field(default_factory=timezone.now)
    items: list[ModelItem] = field(default_factory=list)
    action: EndCall | Transfer | None = None
    tools: list[asyncio.Task] = field(default_factory=list)
    cancelled: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)
    recorded: asyncio.Event = field(default_factory=asyncio.Event)  # its agent turn is in the history


@dataclass
class RealtimeStats:
    responses: int = 0
    barge_ins: int = 0
    truncates: int = 0
    tool_calls: int = 0
    turns: int = 0
    usage: Counter = field(default_factory=Counter)


class RealtimeCallSession:
    """The consumer drives it like a CallSession: start, on_audio / on_mark / on_dtmf, stop, wait_closed."""

    action_timeout_s = 3.0

    def __init__(
        self,
        *,
        call_id: str,
        settings: AgentSettings,
        brain: RealtimeBrain,
        serializer: MediaEncoder,
        send: Callable[[str], Awaitable[None]],
        close: Callable[[], Awaitable[None]],
        recorder: CallRecorder,
        sample_rate: int,
        codec: str,
        cascade: CascadeFactory,
        control: CallControl | None = None,
        audio_recorder: recording.CallAudioRecorder | None = None,
        resumed: bool = False,
    ) -> None:
        self.call_id = call_id
        self.cfg = settings
        self.brain = brain
        self.config = brain.config
        self.recorder = recorder
        self.control = control
        self.audio_recorder = audio_recorder
        self.resumed = resumed
        self._send_text = send
        self._close = close
        self._cascade_factory = cascade
        self.cascade: CallSession | None = None  # set once the call fell back
        self.state = State.ACTIVE
        self.stats = RealtimeStats()
        self.bridge = AudioBridge(sample_rate, codec)
        self.reader = ev.EventReader()
        self.link = brain.link()
        # Our VAD: it times the caller's speech (turn latency, barge-in onset) and, with turn_detection "ours", ends
        # the turns. Plain silence endpointing: there is no STT here to hint or to peek at.
        self.listener = end_of_turn_for(dataclasses.replace(settings, end_of_turn="silence"), sample_rate)
        # The agent's own strategy; one that decides on words holds the agent until the model's transcript.
        self.interruption = interruption_for(settings)
        self._on_words = self.interruption.decides_on_words
        self._held_at: float | None = None  # the agent is paused for caller speech over it (words strategy)
        self._hold_info: dict = {}  # what holding cost, for the backchannel / barge_in event
        self._overlap = False  # caller speech over the agent awaits the verdict on its transcript
        self._frame_bytes = self.listener.frame_bytes
        self._rest = b""
        self.playout = Playout(
            self._send, serializer, sample_rate, chunk_ms=settings.chunk_ms, lead_ms=settings.lead_ms,
            mark_every_ms=settings.mark_every_ms,
            on_sent=audio_recorder.outbound if audio_recorder is not None else None,
        )
        self.watchdog = Watchdog(
            silence_timeout_s=settings.silence_timeout_s, max_reprompts=settings.max_reprompts,
            max_duration_s=settings.max_duration_s, active=self._active, engaged=self._engaged,
            on_silence=self._on_silence, on_time_up=self._on_time_up, event=recorder.event,
        )
        self.history: list[dict] = []  # the conversation as chat messages (what the cascade continues from)
        self._connected = False
        self._greeted = resumed  # the caller heard the agent already (the cascade says "cut off", not the greeting)
        self._responses: dict[str, Response] = {}
        self._current: Response | None = None  # the response the model is producing
        self._items: dict[str, tuple[Response, ModelItem]] = {}
        self._queue: asyncio.Queue[ModelItem] = asyncio.Queue()  # items to play, in the order they began
        # Caller audio for the model, in order: one sender drains it (a task per frame could reorder frames).
        self._outbox: deque[bytes] = deque()
        self._outbox_ready = asyncio.Event()
        self._falling = False
        self._started_at = time.monotonic()
        self._fell_back_after_s: float | None = None  # seconds into the call (the cascade's STT and TTS bill after)
        self._next_timer: TurnTimer | None = None  # the caller turn the next response answers
        # An ask whose response ends the call once heard (a goodbye), until its response is created: its tag (our
        # responses carry one; the server VAD's do not), instructions and action. The server VAD may make a response
        # of its own just before ours (a caller's turn ended as the goodbye was asked for): that one must not take
        # the hang-up, and ours is refused while it is active (one response at a time).
        self._ending_ask: tuple[str, str, EndCall] | None = None
        self._ending_retries = 0
        # A polite goodbye (time limit, shutdown) has begun: its line and reason. Nothing cuts it, and a cascade
        # the call falls back to meanwhile says it.
        self._goodbye: tuple[str, str] | None = None
        # A response was asked for and has not yet brought audio: its deadline's token (None: nothing awaited).
        # Tokens only ever grow: a deadline left over from an earlier ask must never match a later one.
        self._awaiting: int | None = None
        self._asks = 0
        self._asks_to_end = 0
        self._speech_started_at: object = None
        self._onset_at = 0.0
        self.barge_in_latencies: list[float] = []  # onset -> clear, ms
        self._call_tasks = CallTasks(call_id, recorder)
        self._tasks = self._call_tasks.running
        self._closed = asyncio.Event()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._spawn(self._run(), "realtime")
        self._spawn(self._player(), "player")
        self._spawn(self._sender(), "sender")
        self._spawn(self.watchdog.run(), "watchdog")

    async def _run(self) -> None:
        """Open the socket, configure the session, greet, then read the model's events until the call ends."""
        try:
            tools = await self.brain.tools.schemas()
            await self.link.open(self.config.session(self.bridge.format, tools, respond_on_turn_end=not self._on_words))
            self._connected = True
            if not self.resumed and self.config.greeting:
                self._next_timer = None
                await self._ask(f'Greet the caller by saying exactly: "{self.config.greeting}"')
            async for raw in self.link.messages():
                event = self.reader.read(raw)
                if event is not None:
                    await self._on_event(event)
        except ProviderError as exc:
            await self._fall_back("socket-failed" if self._connected else "no-socket", exc)

    def _spawn(self, coro, name: str) -> asyncio.Task:
        return self._call_tasks.spawn(coro, name)

    async def _send(self, text: str) -> None:
        if self.state is not State.CLOSED:
            await self._send_text(text)

    async def stop(self, reason: str = "stream-stopped") -> None:
        if self.state is State.CLOSED:
            return
        if self.cascade is not None:
            self.state = State.CLOSED
            await self.cascade.stop(reason)
            await self._release()
            self._closed.set()
            return
        if self.state is State.ACTIVE:
            self.recorder.update_call(end_reason=reason)
        self.state = State.CLOSED
        await self._release()
        for response in list(self._responses.values()):
            self._record_reply(response)  # what the caller heard of a reply the stream ended
        if self.audio_recorder is not None:
            await recording.store(self.audio_recorder, self.recorder)
        self.recorder.update_call(status="completed", ended_at=timezone.now())
        self._closed.set()

    async def _release(self) -> None:
        """Stop every task, close the socket and the tools, and store the usage and anything skipped."""
        others = [t for t in self._tasks if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        await self.link.close()
        with contextlib.suppress(Exception):  # closing must never lose the call record
            await self.brain.close()
        if self.stats.usage:
            self.recorder.event("usage", {"provider": PROVIDER, "model": self.config.model,
                                          "responses": self.stats.responses, **self.stats.usage})
        # The tokens into the call's usage, priced by the post-call work with the rest (automation/usage.py).
        self.recorder.update_call(usage={"realtime": {
            "provider": PROVIDER, "model": self.config.model, "responses": self.stats.responses,
            "fell_back_after_s": self._fell_back_after_s,
            **{f"{part}_tokens": self.stats.usage[f"{part}_tokens"] for part in REALTIME_PARTS}}})
        if self.reader.skipped:
            self.recorder.event("bad_input", {"source": PROVIDER, **self.reader.skipped})

    async def wait_closed(self) -> None:
        await self._closed.wait()

    # ------------------------------------------------------------------ inbound (hot path)

    def on_audio(self, pcm: bytes) -> None:
        if self.cascade is not None:
            self.cascade.on_audio(pcm)
            return
        if self.state is State.CLOSED:
            return
        # Once a goodbye is asked for the model hears no more: its server VAD would take words over the goodbye for
        # a turn and answer it, and that answer would play after the goodbye while the hang-up goes out.
        if self._connected and self._goodbye is None:
            self._outbox.append(self.bridge.model_audio(pcm))
            self._outbox_ready.set()
        fb = self._frame_bytes
        if self._rest:
            pcm, self._rest = self._rest + pcm, b""
        end = len(pcm) - len(pcm) % fb
        for off in range(0, end, fb):
            self._on_frame(pcm[off : off + fb])
        self._rest = pcm[end:]

    async def _sender(self) -> None:
        """Each frame goes out as it comes; frames that queued up meanwhile (a busy process, a slow socket) go as
        one append — no later than one by one, and one send (a syscall, ~100 µs loaded) instead of several."""
        outbox, ready, encode = self._outbox, self._outbox_ready, self.bridge.for_append
        try:
            while True:
                await ready.wait()
                ready.clear()
                while outbox:
                    audio = outbox.popleft() if len(outbox) == 1 else b"".join(outbox)
                    outbox.clear()
                    await self.link.append(encode(audio))
        except ProviderError as exc:
            await self._fall_back("socket-failed", exc)

    def _on_frame(self, frame: bytes) -> None:
        if self.audio_recorder is not None:
            self.audio_recorder.inbound(frame)
        listener = self.listener
        outcome = listener.feed(frame)
        if outcome == SPEECH_START:
            self._speech_started_at = timezone.now()
            self._onset_at = time.monotonic() - listener.voiced_ms / 1000
            self.interruption.caller_started()
            self.watchdog.caller_spoke()
        elif outcome == SPEAKING:
            if self.playout.speaking and self._interruptible:
                verdict = self.interruption.on_speech(listener.voiced_ms)
                if verdict == INTERRUPT:
                    self._barge_in()
                elif verdict == HOLD:
                    self._hold()
        elif outcome == END_OF_TURN:
            self._caller_turn_ended()
            if self.config.turn_detection == "ours" and self._connected:
                self._spawn(self._end_turn(), "end-turn")

    def _caller_turn_ended(self) -> None:
        """The caller's turn ended (our VAD, or the server's): the next response answers it, timed from its last
        voiced frame."""
        if self._next_timer is None or self._next_timer.last_voiced != self.listener.last_voiced_at:
            self._next_timer = TurnTimer(last_voiced=self.listener.last_voiced_at)
            self._next_timer.mark("endpoint")

    async def _end_turn(self) -> None:
        """Turn detection "ours": the caller's turn ended by the agent's strategy — commit it and ask for an answer
        (speech over the agent that was no interruption is dropped, not answered)."""
        try:
            if self._current is not None or self.playout.speaking or self._goodbye is not None:
                if self._overlap:
                    await self.link.commit()  # over the agent, to be judged on its words (`_judge_overlap`)
                else:
                    await self.link.clear_input()
                return
            self._overlap = False  # the agent is done: whatever the caller said is a turn, answered now
            await self.link.commit()
            await self._ask()
        except ProviderError as exc:
            await self._fall_back("socket-failed", exc)

    def on_mark(self, name: str) -> None:
        if self.cascade is not None:
            self.cascade.on_mark(name)
            return
        self.playout.on_mark(name)

    def on_dtmf(self, digit: str) -> None:
        if self.cascade is not None:
            self.cascade.on_dtmf(digit)
            return
        if self.state is not State.ACTIVE:
            return
        self.recorder.event("dtmf", {"digit": digit})
        self.watchdog.caller_spoke()
        if self._goodbye is not None:
            return  # recorded; the goodbye is the last thing the model is asked for
        if self.playout.speaking and self._interruptible:
            self._barge_in()
        self._spawn(self._tell(f"[The caller pressed {digit} on the keypad.]"), "dtmf")

    async def _tell(self, text: str) -> None:
        try:
            await self.link.user_text(text)
            await self._ask()
        except ProviderError as exc:
            await self._fall_back("socket-failed", exc)

    # ------------------------------------------------------------------ the model's events

    async def _on_event(self, event: ev.Event) -> None:
        kind = type(event)
        if kind is ev.AudioDelta:
            self._on_audio_delta(event)
        elif kind is ev.AudioDone:
            entry = self._items.get(event.item_id)
            if entry is not None:
                entry[1].utt.finish()
        elif kind is ev.AgentTranscriptDelta:
            entry = self._items.get(event.item_id)
            if entry is not None:
                entry[1].words.append(event.delta)
                entry[1].utt.text = "".join(entry[1].words).strip()
        elif kind is ev.AgentTranscript:
            entry = self._items.get(event.item_id)
            if entry is not None:
                entry[1].utt.text = event.transcript.strip()
        elif kind is ev.ResponseCreated:
            action = None
            if self._ending_ask is not None and event.tag == self._ending_ask[0]:
                action, self._ending_ask = self._ending_ask[2], None
            response = Response(event.response_id, self._next_timer, action=action)
            self._next_timer = None
            if self._goodbye is not None and action is None:
                response.cancelled = True  # not the goodbye: never played (the refused goodbye cancels it)
            if response.timer is not None:
                response.timer.mark("brain_started")
            self._responses[response.id] = self._current = response
            self.stats.responses += 1
            self._spawn(self._finish_reply(response), "reply")
        elif kind is ev.ResponseDone:
            self._on_response_done(event)
        elif kind is ev.CallerTranscript:
            if self._overlap:
                self._judge_overlap(event.item_id, event.transcript.strip())
            else:
                self._on_caller_words(event.transcript.strip())
        elif kind is ev.SpeechStopped:
            if self.config.turn_detection == "server" and self._current is None and not self.playout.speaking:
                self._caller_turn_ended()
                self._overlap = False  # the agent is done: whatever the caller said is a turn, answered now
                if self._on_words:
                    await self._ask_or_fall_back()  # the server ends the turn; we ask (see the module's doc)
                else:
                    self._expect_audio()  # the server VAD ends the turn and creates the response itself
        elif kind is ev.FunctionCall:
            self._awaiting = None  # the model answered, with a call rather than audio
            response = self._responses.get(event.response_id)
            task = self._spawn(self._run_tool(event, response), "tool")
            if response is not None:
                response.tools.append(task)
        elif kind is ev.ServerError:
            # Most are about one client event (a cancel with nothing to cancel): recorded, the call goes on.
            self.recorder.event("provider_failure", {"stage": "realtime", "provider": PROVIDER,
                                                     "error": f"{event.code}: {event.message}"[:300]})
            if event.code == "conversation_already_has_active_response" and self._ending_ask is not None:
                refused, self._ending_ask = self._ending_ask, None
                self._spawn(self._ask_again_to_end(refused[1], refused[2]), "goodbye")
        elif kind is ev.CallerTranscriptFailed:
            self.recorder.event("unanswered", {"reason": "transcription-failed", "provider": PROVIDER})
            if self._overlap:
                self._judge_overlap(event.item_id, "")

    def _on_audio_delta(self, event: ev.AudioDelta) -> None:
        response = self._responses.get(event.response_id)
        if response is None or response.cancelled:
            return  # the tail of a response we cancelled (or never saw begin): never played
        try:
            pcm = self.bridge.from_model(event.delta)
        except ValueError:
            self.reader.skipped["malformed:audio"] += 1
            return
        self._awaiting = None
        entry = self._items.get(event.item_id)
        if entry is None:
            utt = self.playout.new_utterance("", b"", streaming=True)
            item = ModelItem(event.item_id, event.content_index, utt, response.timer)
            response.items.append(item)
            self._items[event.item_id] = (response, item)
            self._queue.put_nowait(item)
            if response.timer is not None:
                response.timer.mark("tts_first_audio")  # the model's first audio of the reply
        else:
            item = entry[1]
        item.received_bytes += len(pcm)
        item.utt.feed(pcm)

    def _on_response_done(self, event: ev.ResponseDone) -> None:
        response = self._responses.get(event.response_id)
        self.stats.usage.update(billed_tokens(event.usage))
        if response is None:
            return
        for item in response.items:
            item.utt.finish()
        if self._current is response:
            self._current = None
        if event.status == "failed":
            self.recorder.event("provider_failure", {"stage": "realtime", "provider": PROVIDER,
                                                     "error": "response failed"})
        response.done.set()

    def _on_caller_words(self, text: str) -> None:
        if not text:
            return
        self.stats.turns += 1
        self.history.append({"role": "user", "content": text})
        now = timezone.now()
        self.recorder.turn(TurnRecord(role="caller", text=text, started_at=self._speech_started_at or now,
                                      ended_at=now))

    # ------------------------------------------------------------------ replies

    async def _player(self) -> None:
        """Plays the model's items one after another, in the order they began."""
        while True:
            item = await self._queue.get()
            if item.utt.done.is_set():
                continue  # cut before its turn came
            if item.timer is not None:
                self.playout.on_first_frame = lambda t=item.timer: t.mark("first_frame_sent")
            await self.playout.play(item.utt)

    async def _finish_reply(self, response: Response) -> None:
        """Once the response is over and its audio heard (or cut), record the agent's turn and do its action."""
        await response.done.wait()
        await asyncio.gather(*response.tools, return_exceptions=True)
        await asyncio.gather(*(item.utt.done.wait() for item in response.items))
        self._responses.pop(response.id, None)
        self._record_reply(response)
        self.watchdog.touch()
        # A cut reply's action is not done: the caller stopped the goodbye (or the transfer) to say more.
        if response.action is not None and not response.cancelled and self.state is State.ACTIVE:
            await self._act(response.action)
        elif response.tools and not response.cancelled and self.state is State.ACTIVE:
            # The tools' results are in the conversation: the model goes on with them.
            await self._ask_or_fall_back()

    def _record_reply(self, response: Response) -> None:
        response.recorded.set()
        spoken = [item.utt for item in response.items]
        for item in response.items:
            self._items.pop(item.item_id, None)
        if not spoken:
            return
        full = " ".join(u.text for u in spoken if u.text)
        heard = " ".join(t for t in (u.heard_text() for u in spoken) if t)
        interrupted = any(not u.fully_heard for u in spoken)
        self.history.append({"role": "assistant", "content": f"{heard} {INTERRUPTED}" if interrupted else full})
        self._greeted = self._greeted or bool(heard)  # a cascade taking over greets only a caller who heard nothing
        timer = response.timer
        if timer is not None:
            timer.providers = {"brain": {"provider": PROVIDER,
                                         "ttfb_ms": timer.as_metrics()["tts_first_audio_ms"]}}
        self.recorder.turn(TurnRecord(
            role="agent", text=full, heard_text=heard, interrupted=interrupted, started_at=response.started_at,
            ended_at=timezone.now(), node="realtime", metrics=timer.as_metrics() if timer is not None else None))

    async def _ask(self, instructions: str | None = None, ending: EndCall | None = None) -> None:
        """Ask the model for a response now, with the first-audio deadline running; `ending`: the response ends the
        call once heard."""
        tag = None
        if ending is not None:
            self._asks_to_end += 1
            tag = f"end-{self._asks_to_end}"
            self._ending_ask = (tag, instructions or "", ending)
        await self.link.create_response(instructions, tag=tag)
        self._expect_audio()

    async def _ask_or_fall_back(self, instructions: str | None = None, ending: EndCall | None = None) -> None:
        try:
            await self._ask(instructions, ending)
        except ProviderError as exc:
            await self._fall_back("socket-failed", exc)

    async def _ask_again_to_end(self, instructions: str, ending: EndCall) -> None:
        """The ask that ends the call was refused: a response the server VAD made for the caller's last words is
        active. A goodbye cancels that one (never played) and is asked for again; the silence's goodbye is dropped
        (the caller spoke: that turn is answered)."""
        if self._goodbye is None or self.state is not State.ACTIVE or self._falling:
            return
        self._ending_retries += 1
        if self._ending_retries > 3:
            await self._fall_back("goodbye-refused", ProviderError("the goodbye was refused 3 times", provider=PROVIDER))
            return
        try:
            await self.link.cancel()
        except ProviderError as exc:
            await self._fall_back("socket-failed", exc)
            return
        await self._ask_or_fall_back(instructions, ending)

    def _expect_audio(self) -> None:
        self._asks += 1
        self._awaiting = self._asks
        self._spawn(self._first_audio_deadline(self._asks), "first-audio")

    async def _first_audio_deadline(self, token: int) -> None:
        await asyncio.sleep(self.config.first_audio_s)
        if self._awaiting == token:
            await self._fall_back("first-audio-deadline", ProviderError(
                f"no audio within {self.config.first_audio_s:.1f} s", provider=PROVIDER))

    async def _run_tool(self, call: ev.FunctionCall, response: Response | None) -> None:
        self.stats.tool_calls += 1
        result = await self.brain.tools.run(call.name, call.arguments)
        if result.output.startswith('{"error"'):
            self.recorder.event("action_failed", {"action": "tool", "tool": call.name, "error": result.output[:300]})
        if response is not None and result.action is not None and response.action is None:
            response.action = result.action
        try:
            await self.link.function_output(call.call_id, result.output)
        except ProviderError as exc:
            await self._fall_back("socket-failed", exc)
            return
        if response is None and result.action is None:
            await self._ask_or_fall_back()  # a call outside any response we track: answer it at once

    # ------------------------------------------------------------------ barge-in

    @property
    def _interruptible(self) -> bool:
        """The caller may cut or pause what the agent is saying now. Never a polite goodbye, from the moment it is
        asked for: a cut goodbye's hang-up is dropped (the caller stopped it to say more), and the time limit's
        watchdog has stopped by then, so a goodbye cut by a cough would have left the call open."""
        return self.state is State.ACTIVE and self._goodbye is None and self.playout.interruptible

    def _barge_in(self, answer: str | None = None) -> None:
        """Cut the agent off; `answer`: the words the caller cut in with, a turn already committed at the model —
        recorded after the cut reply (the conversation in the order it was heard) and answered."""
        if not self._interruptible:
            return
        self.stats.barge_ins += 1
        self._overlap = False
        self._spawn(self._cut(self._onset_at, answer), "barge-in")

    def _hold(self) -> None:
        """Words strategy: pause the agent for the caller's speech over it (quiet at once, resumable)."""
        if self._held_at is not None or not self._interruptible or not self.playout.pause():
            return
        now = time.monotonic()
        self._held_at, self._overlap = now, True
        quiet = round(max(0.0, now - self._onset_at) * 1000, 1)
        self.barge_in_latencies.append(quiet)  # the caller hears the agent stop now, whatever the words decide
        self._hold_info = {"onset_to_pause_ms": quiet}
        self._spawn(self.playout.send_clear(), "pause")
        self._spawn(self._watch_hold(now), "hold")

    def _resume_held(self) -> None:
        """The speech over the agent was no interruption: the agent goes on from where it was heard."""
        if self._held_at is None:
            return
        self._hold_info["paused_ms"] = round((time.monotonic() - self._held_at) * 1000, 1)
        self._held_at = None
        if self.playout.paused:
            self._spawn(self.playout.resume(), "resume")

    async def _watch_hold(self, held_at: float) -> None:
        """A held agent is never left waiting: with no transcript `decide_ms` after the caller went quiet (and the
        server VAD's silence, before which no transcript can come) it resumes; `max_hold_ms` held cuts it."""
        strategy = self.interruption
        wait_s = (strategy.decide_ms + (self.config.silence_duration_ms if self.config.turn_detection == "server"
                                        else 0)) / 1000
        while self._held_at == held_at and self.state is State.ACTIVE:
            await asyncio.sleep(0.05)
            if self._held_at != held_at:
                return
            now = time.monotonic()
            if now - held_at >= strategy.max_hold_ms / 1000:
                self._barge_in()  # (quiet since the pause: `_cut` reports that, not the time held)
                return
            listener = self.listener
            talking = listener.speaking and listener.silence_ms == 0
            if not talking and now - listener.last_voiced_at >= wait_s:
                strategy.on_timeout()
                self._hold_info["reason"] = "no_words_in_time"
                self._resume_held()  # the transcript, when it comes, may still cut the agent (`_judge_overlap`)
                return

    def _judge_overlap(self, item_id: str, text: str) -> None:
        """The model's transcript of the caller's speech over the agent: a turn (cut the agent, answer it) or not
        (the agent goes on; the item leaves the model's conversation, as it never was a turn)."""
        self._overlap = False
        verdict = self.interruption.on_transcript(text, final=True)
        if verdict == NOT_AN_INTERRUPTION:
            self._resume_held()
            self.recorder.event("backchannel", {"words": text, "reason": self.interruption.reason or "backchannel",
                                                **self._hold_info})
            self._hold_info = {}
            self._spawn(self._forget_item(item_id), "forget")
            return
        if self.playout.speaking or self._current is not None:
            self._barge_in(answer=text)
            return
        self._on_caller_words(text)
        if self._on_words:
            self._spawn(self._ask_or_fall_back(), "answer")  # the agent had finished meanwhile: answer it

    async def _forget_item(self, item_id: str) -> None:
        try:
            await self.link.delete_item(item_id)
        except ProviderError as exc:
            await self._fall_back("socket-failed", exc)

    async def _cut(self, onset_at: float | None, answer: str | None = None) -> None:
        """`clear` first (the caller must hear the agent stop), then cancel the response and truncate each item cut
        short at what its confirmed marks say was heard. A held agent went quiet at its pause already.
        `onset_at` None: the session cuts the agent itself (for a goodbye), not the caller."""
        held = self._held_at is not None
        self._held_at = None
        cut = await self.playout.clear()
        quiet_ms = None
        if held:
            quiet_ms = self._hold_info.get("onset_to_pause_ms", 0.0)
        elif onset_at is not None:
            quiet_ms = round(max(0.0, time.monotonic() - onset_at) * 1000, 1)
            self.barge_in_latencies.append(quiet_ms)
        hold, self._hold_info = self._hold_info, {}
        truncated = []
        cut_responses = []
        current = self._current
        if current is not None:
            current.cancelled = True
        try:
            if current is not None:
                await self.link.cancel()
            for utt in cut:
                found = next((entry for entry in self._items.values() if entry[1].utt is utt), None)
                if found is None:
                    continue
                response, item = found
                cut_responses.append(response)
                response.cancelled = True
                item.utt.finish()
                received_ms = item.received_bytes // self.bridge.bytes_per_ms
                end_ms = heard_ms(utt.heard_bytes, self.bridge.bytes_per_ms, received_ms)
                await self.link.truncate(item.item_id, item.content_index, end_ms)
                self.stats.truncates += 1
                truncated.append({"item_id": item.item_id, "audio_end_ms": end_ms, "received_ms": received_ms})
        except ProviderError as exc:
            await self._fall_back("socket-failed", exc)
        if onset_at is not None:
            self.recorder.event("barge_in", {"onset_to_clear_ms": quiet_ms, "voiced_ms": self.listener.voiced_ms,
                                             "truncated": truncated, **hold})
        if current is not None:
            current.done.set()  # no response.done may follow a cancel that raced its end: do not wait for it
            if self._current is current:
                self._current = None
        if answer is not None and self.state is State.ACTIVE and not self._falling:
            with contextlib.suppress(TimeoutError):  # its tools may still run: the caller's turn does not wait
                await asyncio.wait_for(asyncio.gather(*(r.recorded.wait() for r in cut_responses)), 1.0)
            self._on_caller_words(answer)
            self._caller_turn_ended()
            await self._ask_or_fall_back()

    # ------------------------------------------------------------------ actions and the watchdog

    async def _act(self, action: EndCall | Transfer) -> None:
        if isinstance(action, Transfer):
            self.recorder.event("transfer", {"target": action.target, "summary": action.summary,
                                             "via": "carrier" if self.control else "none (no credentials)"})
            if self.control is not None:
                try:
                    await asyncio.wait_for(self.control.transfer(self.call_id, action.target, action.summary),
                                           self.action_timeout_s)
                except Exception as exc:  # a port: whatever it raises, the caller must not be left in dead air
                    self.recorder.event("action_failed", {"action": "transfer", "target": action.target,
                                                          "error": (str(exc) or type(exc).__name__)[:300]})
                    await self._tell("[The transfer failed; the caller is still on the line. Tell them.]")
                    return
            await self._hang_up("transferred", hang_up=False)
            return
        await self._hang_up(action.reason)

    async def _hang_up(self, reason: str, hang_up: bool = True) -> None:
        if self.state is State.CLOSED:
            return
        self.state = State.ENDING
        self.recorder.update_call(end_reason=reason)
        if hang_up and self.control is not None:
            try:
                await asyncio.wait_for(self.control.hang_up(self.call_id), self.action_timeout_s)
            except Exception as exc:  # the stream is closed below in any case: the carrier ends the call with it
                self.recorder.event("action_failed", {"action": "hang_up", "error": (str(exc) or "failed")[:300]})
        await self._close()

    def _active(self) -> bool:
        return self.state is State.ACTIVE and self.cascade is None

    def _engaged(self) -> bool:
        return self.playout.speaking or self._current is not None or self.listener.speaking

    async def _on_silence(self, count: int) -> None:
        self._next_timer = None
        if count >= self.cfg.max_reprompts:
            await self._ask_or_fall_back("The caller has been silent for a long time: say goodbye briefly.",
                                         EndCall("silence"))
        else:
            await self._ask_or_fall_back("The caller has been silent for a while: briefly check they are there.")

    async def _on_time_up(self) -> None:
        await self._say_goodbye(TIME_LIMIT_LINE, "max-duration")

    async def end_politely(self, line: str, reason: str) -> bool:
        """Have the model say `line`, then hang up, as at the time limit (the server is shutting down). False:
        already ending."""
        if self.cascade is not None:
            return await self.cascade.end_politely(line, reason)
        if self.state is not State.ACTIVE or self._goodbye is not None:
            return False
        await self._say_goodbye(line, reason)
        return True

    async def _say_goodbye(self, line: str, reason: str) -> None:
        """Have the model say `line`, which nothing cuts, then hang up (`reason`). What the agent is saying is cut
        first, its cancel sent before the goodbye is asked for: a cancel sent after would cancel the goodbye."""
        self._goodbye = (line, reason)
        if not self._falling and (self.playout.speaking or self._current is not None or self._held_at is not None):
            await self._cut(None)
        if self._falling or self.state is not State.ACTIVE:
            return  # falling back (the socket was lost, maybe by the cut): the cascade says it once started
        self._next_timer = None
        await self._ask_or_fall_back(f'The call must end now: say goodbye by saying exactly: "{line}"',
                                     EndCall(reason))

    async def end_now(self, reason: str) -> bool:
        """Hang up at once, without (the rest of) a goodbye: the server is stopping. False: closed already."""
        if self.cascade is not None:
            return await self.cascade.end_now(reason)
        if self.state is State.CLOSED:
            return False
        await self._hang_up(reason)
        return True

    # ------------------------------------------------------------------ fallback

    async def _fall_back(self, reason: str, exc: ProviderError) -> None:
        """Continue the call on the cascaded providers, with the conversation so far."""
        if self._falling or self.state is not State.ACTIVE:
            return
        self._falling = True
        self._fell_back_after_s = round(time.monotonic() - self._started_at, 1)
        log.warning("call %s: realtime %s (%s): continuing on the cascaded providers", self.call_id, reason, exc)
        self.recorder.event("realtime_fallback", {"reason": reason, "provider": PROVIDER, "error": str(exc)[:300],
                                                  "turns_so_far": len(self.history)})
        if self.playout.speaking:
            for utt in await self.playout.clear():
                utt.finish()
        for response in list(self._responses.values()):
            response.done.set()
            self._responses.pop(response.id, None)
            self._record_reply(response)
        self._current = None
        # Our tasks end here (this one included, by returning): the cascade owns the call from now on.
        for task in [t for t in self._tasks if t is not asyncio.current_task()]:
            task.cancel()
        await self.link.close()
        try:
            cascade = await self._cascade_factory(list(self.history), self._greeted)
        except Exception as exc:  # the agent's cascade cannot be built (its configuration): end the call, not hang
            log.error("call %s: no cascade to fall back to: %r", self.call_id, exc)
            self.recorder.event("error", {"stage": "realtime-fallback", "error": repr(exc)[:300]})
            await self._hang_up("realtime-failed")
            return
        self.cascade = cascade
        cascade.watchdog.started = self.watchdog.started  # the time limit counts from the call's start, not this
        cascade.watchdog.reprompts = self.watchdog.reprompts  # a caller silent through re-prompts gets no fresh ones
        # The caller may be talking right now: the cascade's noise gate starts from what ours knows of the line.
        cascade.end_of_turn.learn_line_from(self.listener)
        await cascade.start()
        if self._goodbye is not None:  # the model failed the goodbye, or before it: the cascade says it
            await cascade.end_politely(*self._goodbye)


def billed_tokens(usage: dict) -> Counter:
    """A `response.done` usage (`RealtimeResponseUsage`) as the token kinds `calls.costs` prices: input audio and
    text with their cached share apart (`cached_tokens_details`), output audio and text. Missing or ill-typed
    fields count as nothing."""

    def count(parent: object, key: str) -> int:
        value = parent.get(key) if isinstance(parent, dict) else None
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0

    tokens: Counter = Counter()
    given, made = usage.get("input_token_details"), usage.get("output_token_details")
    cached = given.get("cached_tokens_details") if isinstance(given, dict) else None
    for kind in ("audio", "text"):
        in_cache = count(cached, f"{kind}_tokens")
        tokens[f"{kind}_input_tokens"] += max(0, count(given, f"{kind}_tokens") - in_cache)
        tokens[f"{kind}_cached_input_tokens"] += in_cache
        tokens[f"{kind}_output_tokens"] += count(made, f"{kind}_tokens")
    return +tokens

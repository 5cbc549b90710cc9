"""The reply speaker alone: a word-counting TTS, a real Playout writing to a fake carrier, a fake turn log."""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio

from calls.pipeline.observers import TurnTimer
from calls.pipeline.playout import Playout
from calls.providers.base import (
    EndCall,
    ProviderError,
    StillWorking,
    TextDelta,
    ToolUsed,
    Transfer,
    TTSProvider,
)
from calls.session.lines import FALLBACK_LINE
from calls.session.speaker import Speaker
from calls.session.turn_log import ReplyTrack
from tests.session.helpers import (
    BYTES_PER_MS,
    RATE,
    Carrier,
    TextSerializer,
    WordTTS,
    until,
)
from voicebot.testing.in_process import KeepingRecorder


class FakeTurnLog:
    def __init__(self) -> None:
        self.replies: list[ReplyTrack] = []
        self.recorded: list[list] = []  # the utterances of each reply, as the speaker handed them over
        self.cuts = 0
        self.recorder = KeepingRecorder()

    def begin_reply(self) -> ReplyTrack:
        self.replies.append(ReplyTrack(started_at=None))
        return self.replies[-1]

    def agent_turn(self, reply, spoken, timer) -> None:
        assert reply is self.replies[-1]
        self.recorded.append(list(spoken))

    def cut_recording(self) -> None:
        self.cuts += 1


class FailingTTS(TTSProvider):
    """Fails at once, or after `chunks_first` chunks."""

    name = "failing"

    def __init__(self, chunks_first: int = 0) -> None:
        super().__init__(RATE)
        self.chunks_first = chunks_first

    async def synthesize(self, text: str):
        for _ in range(self.chunks_first):
            yield b"\x10\x00" * (RATE * 60 // 1000)
        raise ProviderError("synthesis failed", provider=self.name)


class Rig:
    def __init__(self, tts: TTSProvider | None = None, fallback_tts: TTSProvider | None = None,
                 plays: bool = True) -> None:
        self.carrier = Carrier(plays=plays)
        self.playout = Playout(self.carrier.send, TextSerializer(), RATE, chunk_ms=20, lead_ms=100, mark_every_ms=100)
        self.carrier.playout = self.playout
        self.log = FakeTurnLog()
        self.tts = tts or WordTTS()
        self.tasks: list[asyncio.Task] = []
        self.actions: list = []
        self.failures: list[tuple[str, ProviderError]] = []
        self.idle = 0
        self.speaker = Speaker(playout=self.playout, tts=self.tts, fallback_tts=fallback_tts, turn_log=self.log,
                               spawn=self.spawn, act=self.act, provider_failed=self.failed, on_idle=self.on_idle)

    def spawn(self, coro, name: str) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.append(task)
        return task

    async def act(self, action) -> None:
        assert self.log.recorded, "actions come after the reply is recorded"
        self.actions.append(action)

    def failed(self, exc: ProviderError, stage: str) -> None:
        self.failures.append((stage, exc))

    def on_idle(self) -> None:
        self.idle += 1


async def outputs(*items):
    for item in items:
        if isinstance(item, Exception):
            raise item
        await asyncio.sleep(0)
        yield item


@pytest_asyncio.fixture
async def rig_factory():
    made: list[Rig] = []

    def make(**kwargs) -> Rig:
        made.append(Rig(**kwargs))
        return made[-1]

    yield make
    for rig in made:
        for task in rig.tasks:
            task.cancel()
        await asyncio.gather(*rig.tasks, return_exceptions=True)


@pytest.mark.asyncio
async def test_a_reply_is_said_sentence_by_sentence_then_recorded_then_its_actions_run(rig_factory):
    rig = rig_factory()
    timer = TurnTimer(last_voiced=0.0)
    task = rig.speaker.say(outputs(TextDelta("Hello there. How are"), TextDelta(" you today?"), EndCall("done")),
                           timer)
    assert rig.speaker.busy
    await asyncio.wait_for(task, 5)
    assert not rig.speaker.busy
    assert rig.tts.said == ["Hello there.", "How are you today?"]
    assert rig.carrier.audio_bytes() == 6 * 60 * BYTES_PER_MS  # every word's audio, once
    (spoken,) = rig.log.recorded
    assert [u.text for u in spoken] == rig.tts.said and all(u.fully_heard for u in spoken)
    assert rig.actions == [EndCall("done")] and rig.idle == 1
    assert None not in (timer.brain_first_text, timer.tts_started, timer.tts_first_audio, timer.first_frame_sent)


@pytest.mark.asyncio
async def test_a_change_of_interruptibility_ends_a_sentence(rig_factory):
    rig = rig_factory()
    interruptible_while_playing = []
    original_play = rig.playout.play

    async def play(utt):
        interruptible_while_playing.append(rig.playout.interruptible)
        await original_play(utt)

    rig.playout.play = play
    await asyncio.wait_for(rig.speaker.say(outputs(
        TextDelta("Please hold", uninterruptible=True), TextDelta(" on. Thanks."))), 5)
    (spoken,) = rig.log.recorded
    assert [(u.text, u.uninterruptible) for u in spoken] == [("Please hold", True), (" on.", False),
                                                            ("Thanks.", False)]
    assert interruptible_while_playing[0] is False


@pytest.mark.asyncio
async def test_a_failing_brain_is_answered_with_the_fallback_line(rig_factory):
    rig = rig_factory()
    await asyncio.wait_for(rig.speaker.say(outputs(TextDelta("Let me check"),
                                                   ProviderError("timeout", provider="llm"))), 5)
    assert rig.tts.said == [FALLBACK_LINE]
    assert [(stage, exc.provider) for stage, exc in rig.failures] == [("brain", "llm")]


@pytest.mark.asyncio
async def test_a_sentence_the_tts_could_not_start_is_said_by_the_fallback_voice(rig_factory):
    backup = WordTTS()
    rig = rig_factory(tts=FailingTTS(), fallback_tts=backup)
    await asyncio.wait_for(rig.speaker.say(outputs(TextDelta("One two three."))), 5)
    assert backup.said == ["One two three."]
    assert rig.carrier.audio_bytes() == 3 * 60 * BYTES_PER_MS
    assert [stage for stage, _ in rig.failures] == ["tts"]
    assert rig.log.recorded[0][0].fully_heard


@pytest.mark.asyncio
async def test_a_sentence_already_partly_synthesised_is_not_said_again_by_another_voice(rig_factory):
    backup = WordTTS()
    rig = rig_factory(tts=FailingTTS(chunks_first=1), fallback_tts=backup)
    await asyncio.wait_for(rig.speaker.say(outputs(TextDelta("One two three."))), 5)
    assert backup.said == [] and [stage for stage, _ in rig.failures] == ["tts"]
    assert rig.carrier.audio_bytes() == 60 * BYTES_PER_MS  # what existed was played, and the sentence ended


@pytest.mark.asyncio
async def test_an_interrupted_reply_is_cut_cleared_and_recorded_without_its_actions(rig_factory):
    rig = rig_factory(plays=False)  # nothing is heard back: the reply is still going when the caller barges in
    task = rig.speaker.say(outputs(TextDelta("This is a rather long sentence about nothing at all."),
                                   Transfer("+15550100")))
    await until(lambda: rig.carrier.audio_bytes() > 0)
    rig.speaker.interrupt()
    assert rig.log.cuts == 1  # the recording is cut before the cancelled reply records itself
    await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled() and not rig.speaker.busy
    await until(lambda: "clear" in rig.carrier.sent)
    (spoken,) = rig.log.recorded
    assert not spoken[0].fully_heard and spoken[0].heard_text() == ""
    assert rig.actions == [] and rig.idle == 0


@pytest.mark.asyncio
async def test_cutting_with_nothing_said_does_nothing(rig_factory):
    rig = rig_factory()
    assert rig.speaker.cut() is False
    rig.speaker.interrupt()
    await rig.speaker.stop_talking()
    assert rig.log.cuts == 0 and rig.carrier.sent == []


@pytest.mark.asyncio
async def test_stop_talking_has_cleared_the_carrier_when_it_returns(rig_factory):
    rig = rig_factory(plays=False)
    task = rig.speaker.say(outputs(TextDelta("Another long sentence that will not be finished today.")))
    await until(lambda: rig.carrier.audio_bytes() > 0)
    await rig.speaker.stop_talking()
    assert rig.carrier.sent[-1] == "clear" and rig.log.cuts == 1
    await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()


@pytest.mark.asyncio
async def test_finish_waits_for_the_reply_being_said(rig_factory):
    rig = rig_factory()
    rig.speaker.say(outputs(TextDelta("First things first.")))
    await rig.speaker.finish()
    assert len(rig.log.recorded) == 1 and not rig.speaker.busy
    await rig.speaker.finish()  # nothing being said: returns at once
    rig.speaker.say(outputs(TextDelta("Second.")))
    await asyncio.wait_for(rig.speaker.finish(), 5)
    assert [[u.text for u in spoken] for spoken in rig.log.recorded] == [["First things first."], ["Second."]]
    assert len(rig.log.replies) == 2


async def stalling(*items, stall_s: float = 30.0):
    for item in items:
        await asyncio.sleep(0)
        yield item
    await asyncio.sleep(stall_s)  # a brain whose stream stops mid-sentence (cancelled by the test's teardown)


@pytest.mark.asyncio
async def test_a_half_sentence_is_said_once_the_brain_goes_quiet(rig_factory):
    rig = rig_factory()
    began = asyncio.get_running_loop().time()
    rig.speaker.say(stalling(TextDelta("Sure. Let "), TextDelta("me see")))
    await until(lambda: rig.tts.said == ["Sure.", "Let me see"], timeout=2)
    waited = asyncio.get_running_loop().time() - began
    assert rig.speaker.flush_after_s <= waited < rig.speaker.flush_after_s + 0.25
    await until(lambda: rig.carrier.audio_bytes() == 4 * 60 * BYTES_PER_MS)  # and played, while the brain stalls
    assert rig.speaker.busy


@pytest.mark.asyncio
async def test_text_that_keeps_coming_is_not_cut_and_still_working_is_not_an_action(rig_factory):
    rig = rig_factory()

    async def steady():
        for word in ["One ", "two ", "three ", "four."]:
            await asyncio.sleep(rig.speaker.flush_after_s / 3)
            yield TextDelta(word)
            yield StillWorking(0.0)

    await asyncio.wait_for(rig.speaker.say(steady()), 5)
    assert rig.tts.said == ["One two three four."] and rig.actions == []


@pytest.mark.asyncio
async def test_a_tool_the_brain_used_is_recorded_as_a_call_event_not_said(rig_factory):
    rig = rig_factory()

    async def booking():
        yield ToolUsed("book_slot", {"day": "friday"})
        yield TextDelta("Booked.")

    await asyncio.wait_for(rig.speaker.say(booking()), 5)
    assert rig.log.recorder.events == [("tool_call", {"name": "book_slot", "arguments": {"day": "friday"}})]
    assert rig.tts.said == ["Booked."] and rig.actions == []

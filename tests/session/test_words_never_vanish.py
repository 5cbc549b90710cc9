"""Words never vanish: a caller who goes on after a pause, while their turn is still being transcribed, gets one turn
with all their words and one answer; under load (a slow STT, a CPU hog thread slowing the event loop) the words
said after a barge-in are stored and answered.

The real session and the real `WhisperSTT` (its buffer, its speculative cache, its commit), with the model replaced
by `TaggedEngine`: every word is a distinct stretch of speech-like audio, and the "transcription" of a buffer is
the words most of whose frames it holds, after `delay_s` (a busy machine). So a commit that drops frames drops
words, exactly as Whisper would.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Self

import pytest

from calls.providers.base import EndCall, TextDelta, UserTurn
from calls.providers.stt.whisper_engine import Transcription
from calls.providers.stt.whisper_local import WhisperSTT
from voicebot.testing.in_process import FRAME_BYTES, RATE
from tests.session.helpers import ScriptBrain, silence, until, voiced
from tests.session.test_interruptions import ANSWER, AnswerBrain, Call, answer_playing

WORD_MS = 200


class TaggedEngine:
    """Stands in for `WhisperEngine`: knows the frames of each word it was asked to `say`."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.frames: dict[bytes, tuple[str, int]] = {}  # frame -> (word, index of the spoken word)
        self.lengths: dict[int, int] = {}
        self._busy = threading.Lock()
        self.calls = 0
        self._spoken = 0

    def say(self, text: str) -> bytes:
        """Audio of `text`, one WORD_MS stretch per word, each word's frames unlike any other's."""
        out = b""
        for word in text.split():
            self._spoken += 1
            pcm = voiced(WORD_MS, RATE, f0=90.0 + 3.0 * self._spoken)
            chunks = [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES)]
            for chunk in chunks:
                self.frames[chunk] = (word, self._spoken)
            self.lengths[self._spoken] = len(chunks)
            out += pcm
        return out

    def transcribe_scored(self, pcm: bytes, sample_rate: int, **options) -> Transcription | None:
        text = self.transcribe(pcm, sample_rate, **options)
        return None if text is None else Transcription(text, -0.1)

    def transcribe(self, pcm: bytes, sample_rate: int, *, wait: bool = True, beam_size=None,
                   prompt=None, language=None) -> str | None:
        if not self._busy.acquire(blocking=wait):
            return None
        try:
            self.calls += 1
            time.sleep(self.delay_s)
            seen: dict[int, int] = {}
            words: dict[int, str] = {}
            for off in range(0, len(pcm) - FRAME_BYTES + 1, FRAME_BYTES):
                hit = self.frames.get(pcm[off : off + FRAME_BYTES])
                if hit is not None:
                    seen[hit[1]] = seen.get(hit[1], 0) + 1
                    words[hit[1]] = hit[0]
            return " ".join(words[i] for i in sorted(words) if seen[i] * 2 >= self.lengths[i])
        finally:
            self._busy.release()


def whisper(delay_s: float) -> tuple[WhisperSTT, TaggedEngine]:
    stt = WhisperSTT(RATE)
    stt.engine = TaggedEngine(delay_s)  # type: ignore[assignment]
    return stt, stt.engine  # type: ignore[return-value]


class CpuHog:
    """A thread that keeps the interpreter busy (holding the GIL in turns with the event loop), for a while."""

    def __init__(self, seconds: float) -> None:
        self.until = time.monotonic() + seconds
        self.thread = threading.Thread(target=self._spin, daemon=True)

    def _spin(self) -> None:
        x = 0
        while time.monotonic() < self.until:
            for i in range(20000):
                x += i * i

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.until = 0.0
        self.thread.join()


class SlowBrain(ScriptBrain):
    """Takes `think_s` before it answers (an LLM's first token): the reply is being prepared, not yet heard."""

    def __init__(self, think_s: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.think_s = think_s

    async def respond(self, event):
        await asyncio.sleep(self.think_s)
        async for out in super().respond(event):
            yield out


def settled(call: Call, replies: int):
    agent = call.agent_turns
    return lambda: len(agent()) >= replies and not call.session.speaker.busy and (
        call.session._turn_task is None or call.session._turn_task.done())


@pytest.mark.asyncio
async def test_the_caller_goes_on_after_a_pause_while_the_turn_is_transcribed_one_turn_with_all_words():
    stt, engine = whisper(delay_s=0.8)
    first = "I moved recently my new address is forty two Maple Avenue"
    rest = "apartment six"
    brain = ScriptBrain(greeting="Hello.", answer="Thanks, noted.")
    async with Call(stt, brain) as call:
        await until(settled(call, 1), timeout=5)
        # The turn ends 300 ms into the pause; "apartment six" comes while it is still being transcribed.
        await call.speak(engine.say(first) + silence(700) + engine.say(rest) + silence(1500))
        await until(settled(call, 2), timeout=8)
        await asyncio.sleep(0.3)
        whole = f"{first} {rest}"
        assert call.caller_turns() == [whole]
        assert [e.text for e in brain.events if isinstance(e, UserTurn)] == [whole]
        replies = [t.text for t in call.agent_turns()]
        assert replies == ["Hello.", "Thanks, noted."]
        assert call.session.stats.continued == 1
        assert not call.events("unanswered")


@pytest.mark.asyncio
async def test_a_pause_after_the_answer_began_is_a_new_turn_and_keeps_every_word():
    """The caller goes on only once the transcript is in (the reply is being prepared, not yet heard): the words
    are not lost either — a turn of their own, answered, never a "backchannel" over an agent nobody could hear."""
    stt, engine = whisper(delay_s=0.05)
    brain = SlowBrain(0.8, greeting="Hello.", answer="Thanks, noted.")
    # The words check off: it would keep "my number is five five five" waiting for "two" (one turn); here the
    # first half is answered, as a sentence that reads finished would be.
    async with Call(stt, brain, turn_taking_options={"unfinished_words": False}) as call:
        await until(settled(call, 1), timeout=5)
        await call.speak(engine.say("my number is five five five") + silence(440) + engine.say("two") + silence(1200))
        await until(lambda: len(call.caller_turns()) >= 2, timeout=8)
        await until(settled(call, 3), timeout=8)
        said = " ".join(call.caller_turns())
        assert said == "my number is five five five two"
        assert len([e for e in brain.events if isinstance(e, UserTurn)]) == 2
        assert not call.events("backchannel")


# ANSWER plays for 1.9 s: on a loaded machine the late words could come after it ended (then no barge-in is due).
LONG_ANSWER = (ANSWER + " Parking is free behind the building, and the entrance is on the left side. Please bring "
               "your insurance card and a photo ID, and arrive ten minutes early on your first visit. If you need "
               "to cancel, call us at least a day before your appointment.")


@pytest.mark.asyncio
async def test_words_after_a_barge_in_on_a_slowed_loop_are_stored_and_answered():
    stt, engine = whisper(delay_s=1.0)
    brain = AnswerBrain(first=LONG_ANSWER)
    async with Call(stt, brain) as call:
        await until(settled(call, 1), timeout=5)
        await call.speak(engine.say("what are your opening hours") + silence(500))
        await answer_playing(call, 0.6)
        with CpuHog(6.0):
            await call.speak(engine.say("sorry actually") + silence(500) + engine.say("I meant Tuesday")
                             + silence(1500))
            await until(settled(call, 3), timeout=12)
        await asyncio.sleep(0.3)
        assert call.events("barge_in"), (call.recorder.events, call.caller_turns(), call.session.stats)
        said = call.caller_turns()
        assert said[0] == "what are your opening hours"
        assert " ".join(said[1:]) == "sorry actually I meant Tuesday"
        asked = [e.text for e in brain.events if isinstance(e, UserTurn)]
        assert asked[1:] == said[1:]
        agent = [t for t in call.agent_turns()]
        # (the stored text ends with the last sentence that was being spoken when the caller cut in)
        assert LONG_ANSWER.startswith(agent[1].text) and agent[1].text.startswith("We are open")
        assert agent[1].interrupted
        assert agent[-1].text == "Sure."
        assert not call.events("unanswered")


@pytest.mark.asyncio
async def test_one_word_after_a_pause_as_the_reply_begins_is_the_rest_of_the_sentence_not_a_backchannel():
    """The reply to "my number is five five five" is already playing when the caller adds "two": one word over the
    agent, which the words strategy would take for a backchannel. It is a turn, it cuts the reply to the half
    sentence, and it is answered."""
    stt, engine = whisper(delay_s=0.05)
    brain = ScriptBrain(greeting="Hello.",
                        answer="Thanks, I have noted your number, is there anything else I can help you with today?")
    async with Call(stt, brain, turn_taking_options={"unfinished_words": False}) as call:  # as above
        await until(settled(call, 1), timeout=5)
        await call.speak(engine.say("my number is five five five") + silence(440) + engine.say("two") + silence(1200))
        await until(lambda: len(call.caller_turns()) >= 2, timeout=8)
        await until(settled(call, 3), timeout=8)
        assert call.caller_turns() == ["my number is five five five", "two"]
        assert [e.text for e in brain.events if isinstance(e, UserTurn)] == call.caller_turns()
        assert call.agent_turns()[1].interrupted
        assert not call.events("backchannel")
        assert not call.events("unanswered")


@pytest.mark.asyncio
async def test_the_last_words_before_the_caller_hangs_up_are_stored_with_why_they_got_no_answer():
    """The stream stops while the caller's turn is still being transcribed (a slow machine): the turn is stored
    all the same, with an `unanswered` event; words under way when it stops are stored too."""
    stt, engine = whisper(delay_s=0.6)
    async with Call(stt, ScriptBrain(greeting="Hello.")) as call:
        await until(settled(call, 1), timeout=5)
        await call.speak(engine.say("please cancel my booking") + silence(320))
        assert call.session._turn_task is not None and not call.session._turn_task.done()
        await call.session.stop("stream-stopped")
        assert call.caller_turns() == ["please cancel my booking"]
        assert [d["reason"] for d in call.events("unanswered")] == ["call-ending"]

    stt, engine = whisper(delay_s=0.1)
    async with Call(stt, ScriptBrain(greeting="Hello.")) as call:
        await until(settled(call, 1), timeout=5)
        await call.speak(engine.say("and one more thing"))  # no silence: they are still talking when it stops
        await call.session.stop("stream-stopped")
        assert call.caller_turns() == ["and one more thing"]
        assert [d["reason"] for d in call.events("unanswered")] == ["call-ending"]


class SlowHangUp:
    """The carrier takes `delay_s` to hang up (the call is ending meanwhile)."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s

    async def hang_up(self, call_id: str) -> None:
        await asyncio.sleep(self.delay_s)

    async def transfer(self, call_id: str, target: str, summary: str = "", options=None) -> None:
        pass


class GoodbyeBrain(ScriptBrain):
    async def respond(self, event):
        self.events.append(event)
        yield TextDelta("Goodbye.")
        yield EndCall("caller-done")


@pytest.mark.asyncio
async def test_words_said_while_the_call_is_ending_are_stored_with_why_they_got_no_answer():
    stt, engine = whisper(delay_s=0.05)
    brain = GoodbyeBrain(greeting="Hello.")
    async with Call(stt, brain) as call:
        call.session.control = SlowHangUp(2.5)
        await until(settled(call, 1), timeout=5)
        await call.speak(engine.say("that is all") + silence(400))
        await until(lambda: call.session.state.value == "ending", timeout=5)
        await call.speak(engine.say("oh wait one more thing") + silence(400))
        await until(lambda: call.events("unanswered"), timeout=3)
        assert call.caller_turns() == ["that is all", "oh wait one more thing"]
        assert [d["reason"] for d in call.events("unanswered")] == ["call-ending"]


@pytest.mark.asyncio
async def test_noise_that_keeps_starting_after_a_turn_defers_it_once_and_it_is_answered():
    """A room behind the caller (babble, a TV) starts "utterance" after "utterance" while their turn is being
    transcribed: each looks like the caller going on. The first defers the turn (it might be words); one that added
    no word does not defer it again: the caller is answered, not left waiting on the room."""
    stt, engine = whisper(delay_s=0.8)
    sentence = "what time do you open on saturday"
    brain = ScriptBrain(greeting="Hello.", answer="We open at nine.")
    async with Call(stt, brain) as call:
        await until(settled(call, 1), timeout=5)
        noise = b"".join(voiced(400, RATE, f0=300.0 + 7 * i) + silence(500) for i in range(6))  # never words
        await call.speak(engine.say(sentence) + silence(500) + noise)
        # Answered while the room was still at it (5.4 s of it): before, each burst deferred the turn again and the
        # answer waited for the noise to stop.
        assert [t.text for t in call.agent_turns()] == ["Hello.", "We open at nine."]
        await call.speak(silence(1500))
        await until(settled(call, 2), timeout=10)
        assert call.caller_turns() == [sentence]

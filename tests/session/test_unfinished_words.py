"""A turn whose words read unfinished ("my number is five five five") waits for the caller to go on before it is
answered; a complete sentence does not wait (`calls.session.completeness`, `CallSession._goes_on`).

The real session and `WhisperSTT` with the tagged stand-in model of test_words_never_vanish (a quick one: the
transcript is in long before the caller's 800 ms pause is over, so without the check the agent would answer into
the pause).
"""

from __future__ import annotations

import asyncio

import pytest

from calls.providers.base import UserTurn
from calls.session.completeness import short_answer, unfinished
from tests.session.helpers import ScriptBrain, silence, until
from tests.session.test_interruptions import Call
from tests.session.test_words_never_vanish import settled, whisper


@pytest.mark.parametrize(("text", "why"), [
    ("My number is five five five", "number under way"), ("My number is 555.", "number under way"),
    ("I would like to book an", "ends with 'an'"), ("So I was wondering if", "ends with 'if'"),
    ("Wait,", "opener"), ("Wait.", "opener"), ("five five five...", "trailing punctuation"),
    ("I need, um", "ends with 'um'"),
])
def test_unfinished_sentences_are_recognised(text, why):
    assert unfinished(text) == why


@pytest.mark.parametrize("text", [
    "I would like to book an appointment for tomorrow morning.", "Do you accept insurance from Blue Cross?",
    "Please transfer me to the front desk.", "Who am I speaking to?", "I think so.", "That's all I need.",
    "My number is 555-213-4567.", "My number is five five five two one three four.", "Thank you.", "",
])
def test_finished_sentences_and_questions_are_not(text):
    assert unfinished(text) is None


def test_other_languages_only_go_by_punctuation():
    assert unfinished("Quiero reservar una", "es") is None
    assert unfinished("Quiero reservar,", "es") == "trailing punctuation"


async def paused_call(first: str = "my number is five five five", then: str = "two one three four",
                      counter: str = "unfinished", **settings) -> tuple[list[str], list[str], int]:
    """The caller says `first`, pauses 800 ms and says `then`: (caller turns, what the brain was told, the session's
    `counter`: how many turns waited)."""
    stt, engine = whisper(delay_s=0.05)
    brain = ScriptBrain(greeting="Hello.", answer="Thanks.")
    async with Call(stt, brain, **settings) as call:
        await until(settled(call, 1), timeout=5)
        await call.speak(engine.say(first) + silence(800) + engine.say(then) + silence(1500))
        await until(settled(call, 2), timeout=8)
        await asyncio.sleep(0.3)
        told = [e.text for e in brain.events if isinstance(e, UserTurn)]
        return call.caller_turns(), told, getattr(call.session.stats, counter)


@pytest.mark.asyncio
async def test_a_number_said_with_a_pause_is_one_turn_and_one_answer():
    turns, told, waits = await paused_call()
    whole = "my number is five five five two one three four"
    assert turns == [whole] and told == [whole]
    assert waits == 1


@pytest.mark.asyncio
async def test_without_the_check_the_agent_answers_into_the_pause():
    # The same call with the check switched off: the first half is answered on its own (what the check prevents).
    turns, told, waits = await paused_call(turn_taking_options={"unfinished_words": False})
    assert told[0] == "my number is five five five" and len(turns) == 2
    assert waits == 0


@pytest.mark.asyncio
async def test_an_unfinished_sentence_nobody_finishes_is_answered_after_the_maximum_silence():
    stt, engine = whisper(delay_s=0.05)
    brain = ScriptBrain(greeting="Hello.", answer="Thanks.")
    async with Call(stt, brain, end_of_turn_max_silence_ms=900) as call:
        await until(settled(call, 1), timeout=5)
        await call.speak(engine.say("so I was wondering if") + silence(700))
        # The turn ended 300 ms into the silence and its transcript is in: it reads unfinished, so no answer yet.
        assert call.session.stats.unfinished == 1
        assert not [e for e in brain.events if isinstance(e, UserTurn)]
        await call.speak(silence(800))
        await until(settled(call, 2), timeout=5)  # ... but answered: never left without a reply
        assert call.caller_turns() == ["so I was wondering if"]


@pytest.mark.parametrize(("text", "short"), [("Yes.", True), ("No,", True), ("Okay, sure.", True), ("Yes?", False),
                                             ("Yes, that's right.", False), ("", False)])
def test_a_short_answer_is_two_words_at_most_and_no_question(text, short):
    from calls.session.completeness import short_answer

    assert short_answer(text) is short


def test_a_short_answer_with_a_trailing_comma_is_no_unfinished_sentence():
    # Whisper, prompted with the call's glossary (a comma-separated list), writes "Tomorrow," for a lone "Tomorrow":
    # it is answered after the short-answer hold, not after the longest wait. Openers and long sentences still wait.
    assert unfinished("Tomorrow,") is None and short_answer("Tomorrow,")
    assert unfinished("Yes,") is None
    assert unfinished("Quiero reservar,", "es") == "trailing punctuation"  # two words: may be a sentence under way
    assert unfinished("Wait,") == "opener"
    assert unfinished("my number is five five five,") == "trailing punctuation"


def test_only_a_short_transcript_decides_a_pause_by_its_words():
    from calls.session.completeness import words_decide

    assert words_decide("Tomorrow.") and words_decide("No thanks, goodbye.")
    assert not words_decide("I would like to book it.")  # tiny.en's reading of a half sentence in noise
    assert not words_decide("")


@pytest.mark.parametrize(("text", "before", "deferrals", "new"), [
    # Whisper joins digits said one by one: the number going on is more words, though the word count stays the same.
    ("My number is 555.", "My number is 5.", 5, True), ("My number is 555-2134.", "My number is 555.", 5, True),
    ("My number is five five.", "My number is five.", 5, True),
    # Re-read with no more words (tiny.en repeated a digit it heard half of, or has not heard the next yet): once
    # more, then no longer.
    ("My number is 555.", "My number is 5, 5, 5, 5, 5", 1, True),
    ("My number is 555.", "My number is 5, 5, 5, 5, 5", 2, False),
    ("My number is 5", "My number is 5.", 1, True),
    # Spelt or punctuated differently, the same words are no more words (babble starting utterance after utterance).
    ("My number is 5.", "My number is 5", 2, False), ("So I was wondering if...", "So I was wondering, if", 2, False),
    ("Anything", None, 9, True),
])
def test_a_deferred_turn_is_deferred_again_only_for_more_words(text, before, deferrals, new):
    from calls.session.call_session import _new_words

    assert _new_words(text, before, deferrals) is new


# ------------------------------------------------------------------------------------ a room that talks


async def room_call(monkeypatch, talks: bool, **settings) -> tuple[list[str], list[str], int]:
    """The caller says a sentence whose first half reads finished ("I would like to book it"), pauses 800 ms and
    goes on, with the room behind them talking (the noise gate hears voice between their utterances) or quiet."""
    from calls.pipeline.voice_gate import LevelGatedVAD

    monkeypatch.setattr(LevelGatedVAD, "room_talks", property(lambda self: talks))
    return await paused_call("i would like to book it", "for friday", counter="room_waits", **settings)


@pytest.mark.asyncio
async def test_in_a_talking_room_a_pause_after_words_that_read_finished_is_waited_out(monkeypatch):
    turns, told, waits = await room_call(monkeypatch, talks=True)
    assert turns == ["i would like to book it for friday"] and told == turns
    assert waits == 2  # the first half, then the whole (answered after the longest wait)


@pytest.mark.asyncio
async def test_in_a_quiet_room_words_that_read_finished_are_answered_at_once(monkeypatch):
    turns, told, waits = await room_call(monkeypatch, talks=False)
    assert told[0] == "i would like to book it" and len(turns) == 2 and waits == 0


@pytest.mark.asyncio
async def test_the_talking_room_wait_is_an_option(monkeypatch):
    turns, told, waits = await room_call(monkeypatch, talks=True, turn_taking_options={"talking_room_waits": False})
    assert told[0] == "i would like to book it" and waits == 0


@pytest.mark.asyncio
async def test_in_a_talking_room_a_finished_sentence_is_answered_after_the_maximum_silence(monkeypatch):
    from calls.pipeline.voice_gate import LevelGatedVAD

    monkeypatch.setattr(LevelGatedVAD, "room_talks", property(lambda self: True))
    stt, engine = whisper(delay_s=0.05)
    brain = ScriptBrain(greeting="Hello.", answer="Thanks.")
    async with Call(stt, brain, end_of_turn_max_silence_ms=900) as call:
        await until(settled(call, 1), timeout=5)
        await call.speak(engine.say("please transfer me to the front desk") + silence(700))
        assert not [e for e in brain.events if isinstance(e, UserTurn)]  # 700 ms into the silence: still waiting
        await call.speak(silence(800))
        await until(settled(call, 2), timeout=5)
        assert call.caller_turns() == ["please transfer me to the front desk"]

"""`WordsInterruption` and its lexicon alone: what the caller says over the agent decides, not how long they talk."""

from __future__ import annotations

import pytest

from calls.session.lexicon import Lexicon, tokens
from calls.session.settings import AgentSettings
from calls.session.turn_taking import (
    HOLD,
    INTERRUPT,
    KEEP_LISTENING,
    NOT_AN_INTERRUPTION,
    VoicedTimeInterruption,
    WordsInterruption,
    interruption_for,
)

EN = Lexicon.for_language("en")


def speech(strategy, up_to_ms: int, start_ms: int = 80) -> list[int]:
    """Verdicts for voiced frames from `start_ms` to `up_to_ms` (20 ms apart), as the session asks them."""
    return [strategy.on_speech(ms) for ms in range(start_ms, up_to_ms + 1, 20)]


# ---------------------------------------------------------------------------------------------- the lexicon


@pytest.mark.parametrize("text", ["Uh-huh.", "uh huh", "Mm-hmm.", "mhm", "Okay.", "OK", "Yeah.", "Right.", "Sure.",
                                  "I see.", "Got it.", "Yeah, okay.", "Mm-hmm, yeah, okay.", "That's right.",
                                  "No problem.", "Uh-uh.", "um", "Thank you."])
def test_backchannels_are_heard_as_backchannels(text):
    heard = EN.hear(text)
    assert heard.backchannel and heard.content == () and heard.stops == (), heard


@pytest.mark.parametrize("text, stop", [("Wait.", "wait"), ("stop", "stop"), ("No.", "no"), ("No, I meant Monday.", "no"),
                                        ("So hold on", "hold on"), ("Sorry, actually I meant Tuesday", "sorry"),
                                        ("yeah but", "but"), ("Okay, wait.", "wait")])
def test_stop_words_are_found_even_among_backchannels(text, stop):
    heard = EN.hear(text)
    assert stop in heard.stops and not heard.backchannel


def test_content_words_are_what_is_left_after_backchannels_and_hesitations():
    assert EN.hear("okay so um I wanted").content == ("so", "i", "wanted")
    assert EN.hear("Tuesday").content == ("tuesday",)
    assert EN.hear("").words == 0 and not EN.hear("").backchannel


@pytest.mark.parametrize("text", ["And the Mm-hmm.", "and then", "A M M E", "M-H-M", "a M-H-M"])
def test_what_a_recogniser_makes_of_a_hum_has_no_content_words(text):
    # Articles, "and"/"then" and stray letters: Whisper tiny.en's filling around a hum (measured on Piper and Kokoro).
    assert EN.hear(text).content == ()


def test_weak_words_still_leave_real_content_and_stops_counted():
    assert EN.hear("And the other clinic").content == ("other", "clinic")
    assert EN.hear("I need a person").content == ("i", "need", "person")
    assert EN.hear("And wait").stops == ("wait",)
    assert Lexicon.for_language("es").hear("y el").content == ()


def test_each_language_primes_the_recogniser_with_its_backchannels_unless_the_agent_says_otherwise():
    assert "Mm-hmm" in EN.prompt and "Uh-huh" in EN.prompt
    assert Lexicon.for_language("fr").prompt != EN.prompt
    assert Lexicon.for_language("en", prompt="").prompt == ""
    assert WordsInterruption(EN).expected == EN.prompt
    words = interruption_for(AgentSettings(interruption="words", turn_taking_options={"words": {"prompt": ""}}))
    assert words.expected is None
    assert VoicedTimeInterruption(200).expected is None  # decides on voice alone: nothing to prime


def test_tokens_fold_case_accents_and_hyphens():
    assert tokens("Uh-huh, SÍ… d’accord!") == ["uh", "huh", "si", "d'accord"]


def test_each_language_has_its_own_table_and_others_get_only_the_universal_hums():
    assert Lexicon.for_language("es-419").hear("Sí, claro.").backchannel
    assert Lexicon.for_language("es").hear("Espere, por favor").stops == ("espere",)
    assert Lexicon.for_language("fr-FR").hear("D'accord, je vois.").backchannel
    assert Lexicon.for_language("de").hear("Ähm, warte mal").stops == ("warte",)
    assert Lexicon.for_language("it-IT").hear("Sì, va bene.").backchannel
    assert Lexicon.for_language("pt-BR").hear("Espera, na verdade").stops == ("espera", "na verdade")
    other = Lexicon.for_language("fi-FI")
    assert other.hear("uh-huh").backchannel and other.hear("mhm").backchannel
    # No English words in a language of its own: "yeah right" is content there, and nothing primes the recogniser.
    assert other.hear("yeah right").content == ("yeah", "right") and other.prompt == ""
    # Spanish "no" stops as the English one does; German "ja" is only a backchannel in German.
    assert not Lexicon.for_language("en").hear("ja").backchannel


# ---------------------------------------------------------------------------------------------- the strategy


def test_voice_over_the_agent_holds_it_after_hold_ms_and_never_interrupts_it_alone():
    strategy = WordsInterruption(hold_ms=100, fallback_ms=1200)
    verdicts = speech(strategy, 1000, start_ms=60)
    assert verdicts[:2] == [KEEP_LISTENING, KEEP_LISTENING]  # 60, 80 ms
    assert set(verdicts[2:]) == {HOLD}  # from 100 ms on: paused, waiting for words


def test_a_backchannel_is_not_an_interruption_and_says_why():
    strategy = WordsInterruption()
    assert HOLD in speech(strategy, 400)
    assert strategy.on_partial("Uh-huh") == KEEP_LISTENING  # a partial never resumes: they may go on talking
    assert strategy.on_transcript("Uh-huh.") == NOT_AN_INTERRUPTION and strategy.reason == "backchannel"
    assert strategy.heard.text == "Uh-huh."


def test_too_few_words_and_no_words_are_not_interruptions_either():
    strategy = WordsInterruption(min_words=2)
    speech(strategy, 500)
    assert strategy.on_transcript("Tuesday") == NOT_AN_INTERRUPTION and strategy.reason == "too_few_words"
    strategy.caller_started()
    speech(strategy, 250)  # a cough
    assert strategy.on_transcript("") == NOT_AN_INTERRUPTION and strategy.reason == "no_words"


def test_enough_content_words_interrupt_in_a_partial_or_a_transcript():
    strategy = WordsInterruption(min_words=2)
    speech(strategy, 300)
    assert strategy.on_partial("I would") == INTERRUPT
    assert strategy.on_speech(320) == INTERRUPT  # decided: it stays decided for this utterance
    other = WordsInterruption(min_words=3)
    speech(other, 300)
    assert other.on_transcript("Monday at") == NOT_AN_INTERRUPTION
    other.caller_started()
    speech(other, 300)
    assert other.on_transcript("Monday at three") == INTERRUPT


@pytest.mark.parametrize("text", ["wait", "Stop!", "No.", "hold on", "Sorry?"])
def test_a_stop_word_interrupts_at_once(text):
    strategy = WordsInterruption(min_words=5)
    speech(strategy, 200)
    assert strategy.on_partial(text) == INTERRUPT


def test_after_a_resume_more_speech_holds_again_only_after_hold_ms_more():
    strategy = WordsInterruption(hold_ms=100)
    speech(strategy, 400)
    assert strategy.on_transcript("okay") == NOT_AN_INTERRUPTION
    # The same utterance goes on ("okay ... and what about Sunday"): a short blip does not hold again.
    assert strategy.on_speech(420) == KEEP_LISTENING and strategy.on_speech(480) == KEEP_LISTENING
    assert strategy.on_speech(500) == HOLD
    assert strategy.on_transcript("okay and what about Sunday") == INTERRUPT


def test_without_any_words_long_speech_falls_back_to_voiced_time():
    strategy = WordsInterruption(hold_ms=100, fallback_ms=600)
    verdicts = speech(strategy, 800)
    assert verdicts[verdicts.index(INTERRUPT) - 1] == HOLD
    assert (80 + 20 * verdicts.index(INTERRUPT)) == 600


def test_words_that_keep_coming_postpone_the_voiced_time_fallback():
    strategy = WordsInterruption(hold_ms=100, fallback_ms=600)
    speech(strategy, 500)
    strategy.on_partial("yeah")  # the STT is hearing it: the words decide, not the clock
    assert set(speech(strategy, 1000, start_ms=520)) == {HOLD}
    assert strategy.on_speech(1100) == INTERRUPT  # 600 ms of voice since the STT last said anything


def test_a_timeout_resumes_and_a_final_transcript_judges_without_keeping_state():
    strategy = WordsInterruption()
    speech(strategy, 300)
    assert strategy.on_timeout() == NOT_AN_INTERRUPTION and strategy.reason == "no_words_in_time"
    # The utterance's final transcript, judged after the caller has begun another utterance:
    strategy.caller_started()
    assert strategy.on_transcript("no I meant Monday", final=True) == INTERRUPT
    assert strategy.on_speech(120) == HOLD  # the new utterance was not marked interrupted by it
    assert strategy.heard is None


def test_a_timeout_after_speech_too_long_for_a_backchannel_keeps_the_agent_held_for_the_words():
    """Whisper late under load: no verdict `decide_ms` after the caller went quiet, but they spoke `fallback_ms` or
    more (a sentence, not an "uh-huh"): resuming would talk over them; the words or the hold limit decide."""
    strategy = WordsInterruption(hold_ms=100, fallback_ms=600, silero=False)
    speech(strategy, 400)
    strategy.on_partial("yeah")  # a peek heard something early: the voiced-time fallback starts over
    assert set(speech(strategy, 900, start_ms=420)) == {HOLD}
    assert strategy.on_timeout() == HOLD
    assert strategy.on_transcript("I would like to book an appointment") == INTERRUPT
    # Words later still than the hold limit: cut there, not resumed over the reply to come.
    late = WordsInterruption(hold_ms=100, fallback_ms=600, silero=False)
    speech(late, 400)
    late.on_partial("yeah")
    speech(late, 900, start_ms=420)
    assert late.on_timeout() == HOLD and late.on_hold_limit() == INTERRUPT
    # The same utterance 100 ms shorter than `fallback_ms`: resumed, as before.
    short = WordsInterruption(hold_ms=100, fallback_ms=600, silero=False)
    speech(short, 480)
    assert short.on_timeout() == NOT_AN_INTERRUPTION and short.reason == "no_words_in_time"


def test_the_words_strategy_is_built_from_the_agents_options():
    settings = AgentSettings(interruption="words", language="es-ES", turn_taking_options={
        "words": {"min_words": 3, "hold_ms": 80, "fallback_ms": 1500, "decide_ms": 500, "max_hold_ms": 3000}})
    strategy = interruption_for(settings)
    assert isinstance(strategy, WordsInterruption)
    assert (strategy.min_words, strategy.hold_ms, strategy.fallback_ms, strategy.decide_ms, strategy.max_hold_ms) == (
        3, 80, 1500, 500, 3000)
    assert strategy.lexicon.hear("vale").backchannel and not strategy.lexicon.hear("okay dokey").backchannel


def test_bad_option_values_are_clamped_or_ignored_never_fatal():
    strategy = interruption_for(AgentSettings(interruption="words", turn_taking_options={
        "words": {"min_words": "lots", "hold_ms": 0, "fallback_ms": 10, "language": "en",
                  "backchannels": ["yo"], "stop_words": ["halt"]}}))
    assert strategy.min_words == 2 and strategy.hold_ms == 20 and strategy.fallback_ms == 20
    assert strategy.lexicon.hear("yo").backchannel and not strategy.lexicon.hear("okay").backchannel
    assert strategy.lexicon.hear("halt").stops == ("halt",) and not strategy.lexicon.hear("wait").stops
    assert isinstance(interruption_for(AgentSettings(interruption="words", turn_taking_options={"words": 3})),
                      WordsInterruption)


def test_the_older_strategies_have_no_opinion_on_words():
    strategy = VoicedTimeInterruption(min_ms=200)
    assert strategy.on_transcript("uh-huh", final=True) == KEEP_LISTENING  # still a turn, as before


# ---------------------------------------------------------------------------------------------- per agent


def test_an_agent_gets_the_words_strategy_unless_it_names_another():
    from calls.models import Agent
    from calls.session.factory import agent_settings

    plain = agent_settings(Agent(provider_options={"stt": {"language": "fr-FR"}}))
    assert plain.interruption == "words" and plain.language == "fr-FR"
    strategy = interruption_for(plain)
    assert isinstance(strategy, WordsInterruption) and strategy.lexicon.hear("d'accord").backchannel
    named = agent_settings(Agent(provider_options={"turn_taking": {"interruption": "voiced-time"}},
                                 barge_in_min_ms=300))
    assert named.interruption == "voiced-time" and named.language == "en-US"
    spanish = agent_settings(Agent(language="es-MX"))
    assert spanish.language == "es-MX" and interruption_for(spanish).lexicon.hear("Sí, claro.").backchannel
    assert interruption_for(named).min_ms == 300
    tuned = agent_settings(Agent(provider_options={"turn_taking": {"words": {"min_words": 4}}}))
    assert interruption_for(tuned).min_words == 4
    off = agent_settings(Agent(barge_in_enabled=False))
    assert type(interruption_for(off)).__name__ == "NoInterruption"


# ---------------------------------------------------------------------------------------------- how sure, how long


def sure_of(scores: dict[str, float]):
    """An STT's `confidence`: the mean log-probability it gave each text (None for a text it did not give)."""
    return lambda text: scores.get(text)


def test_content_words_the_stt_made_up_from_a_hum_do_not_count():
    strategy = WordsInterruption(min_logprob=-0.4)
    strategy.bind(lambda: None, confidence=sure_of({"And then make it.": -0.51, "I made it.": -0.7,
                                                   "What about Sunday?": -0.15}))
    speech(strategy, 700)
    assert strategy.on_partial("And then make it.") == KEEP_LISTENING
    assert strategy.on_transcript("And then make it.") == NOT_AN_INTERRUPTION and strategy.reason == "unsure_words"
    assert strategy.heard.unsure == ("make", "it") and not strategy.heard.backchannel
    assert strategy.on_transcript("I made it.", final=True) == NOT_AN_INTERRUPTION
    strategy.caller_started()
    speech(strategy, 700)
    assert strategy.on_transcript("What about Sunday?") == INTERRUPT  # the same words, heard with confidence


def test_unsure_words_still_interrupt_with_a_stop_word_or_when_too_long_for_a_backchannel():
    scores = {"No, I meant the honor clearly.": -0.65, "I'm actually in the same way.": -1.55,
              "Can I talk clappers": -0.8}
    strategy = WordsInterruption(min_logprob=-0.4, max_backchannel_ms=1500)
    strategy.bind(lambda: None, confidence=sure_of(scores))
    speech(strategy, 600)
    assert strategy.on_transcript("No, I meant the honor clearly.") == INTERRUPT  # "no": a stop word
    strategy.caller_started()
    speech(strategy, 1000)
    assert strategy.on_transcript("Can I talk clappers") == NOT_AN_INTERRUPTION
    speech(strategy, 1600, start_ms=1020)
    assert strategy.on_transcript("Can I talk clappers", final=True) == INTERRUPT  # 1.6 s: no backchannel


def test_without_a_confidence_from_the_stt_every_word_counts():
    strategy = WordsInterruption(min_logprob=-0.4)  # unbound: the STT says nothing about how sure it was (Deepgram)
    speech(strategy, 500)
    assert strategy.on_partial("And then make it") == INTERRUPT


def test_with_min_logprob_off_how_sure_the_stt_was_does_not_matter():
    strategy = WordsInterruption(min_logprob=None)
    strategy.bind(lambda: None, confidence=sure_of({"Welcome out Sunday.": -0.8}))
    speech(strategy, 700)
    assert strategy.on_transcript("Welcome out Sunday.") == INTERRUPT


def test_the_hold_limit_resumes_the_agent_unless_words_that_count_were_heard():
    strategy = WordsInterruption(silero=False)
    speech(strategy, 1500)
    strategy.on_partial("yeah okay yeah")
    assert strategy.on_hold_limit() == NOT_AN_INTERRUPTION and strategy.reason == "no_words_at_hold_limit"
    strategy.caller_started()
    speech(strategy, 1500)
    assert strategy.on_hold_limit() == NOT_AN_INTERRUPTION  # no words at all: the VAD heard the room
    strategy.caller_started()
    speech(strategy, 1500)
    strategy.on_partial("yeah Tuesday")  # one content word, fewer than min_words
    assert strategy.on_hold_limit() == INTERRUPT


def test_after_the_hold_limit_the_vad_alone_never_pauses_the_agent_again():
    strategy = WordsInterruption(silero=False, fallback_ms=10_000)
    speech(strategy, 1500)
    assert strategy.on_hold_limit() == NOT_AN_INTERRUPTION
    assert set(speech(strategy, 4000, start_ms=1520)) == {KEEP_LISTENING}
    assert strategy.on_partial("no wait") == INTERRUPT  # words still can


def test_the_older_strategies_interrupt_at_the_hold_limit_as_before():
    assert VoicedTimeInterruption(min_ms=200).on_hold_limit() == INTERRUPT


def test_min_logprob_and_silero_come_from_the_agents_options():
    strategy = interruption_for(AgentSettings(interruption="words", turn_taking_options={
        "words": {"min_logprob": -0.8, "silero": False}}))
    assert strategy.min_logprob == -0.8 and strategy.silero is False
    default = interruption_for(AgentSettings(interruption="words"))
    assert default.min_logprob == -0.4 and default.silero is True
    bad = interruption_for(AgentSettings(interruption="words", turn_taking_options={"words": {"min_logprob": "x"}}))
    assert bad.min_logprob == -0.4
    off = interruption_for(AgentSettings(interruption="words", turn_taking_options={"words": {"min_logprob": None}}))
    assert off.min_logprob is None

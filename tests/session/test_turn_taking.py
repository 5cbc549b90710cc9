"""The turn-taking strategies alone: synthetic caller audio and STT hints in, their decisions out."""

from __future__ import annotations

import logging

import pytest

from calls.pipeline.turns import END_OF_TURN, PAUSE, QUIET, SPEAKING, SPEECH_START
from calls.providers.base import SpeechHint
from calls.session import turn_taking
from calls.session.settings import AgentSettings
from calls.session.turn_taking import (
    INTERRUPT,
    KEEP_LISTENING,
    NOT_AN_INTERRUPTION,
    EndOfTurnStrategy,
    InterruptionStrategy,
    NoInterruption,
    ProviderEndOfTurn,
    SilenceEndOfTurn,
    SilenceOrProviderEndOfTurn,
    VoicedTimeInterruption,
    end_of_turn_for,
    interruption_for,
)
from tests.session.helpers import RATE, frames, gate_hears_line, silence, voiced


def feed_all(strategy: EndOfTurnStrategy, pcm: bytes) -> list[int]:
    return [strategy.feed(f) for f in frames(pcm, strategy.frame_bytes)]


# ---------------------------------------------------------------------------------------------- end of turn


def test_silence_ends_the_turn_after_the_configured_silence():
    eot = SilenceEndOfTurn(RATE, end_silence_ms=300, speculate_ms=100)
    outcomes = feed_all(eot, silence(100) + voiced(600) + silence(400))
    assert outcomes.count(SPEECH_START) == 1 and outcomes.count(END_OF_TURN) == 1 and outcomes.count(PAUSE) == 1
    start, pause, end = outcomes.index(SPEECH_START), outcomes.index(PAUSE), outcomes.index(END_OF_TURN)
    assert all(o == QUIET for o in outcomes[:start])
    assert all(o == SPEAKING for o in outcomes[start + 1 : pause])
    # The speech ends at frame 35 (100 ms silence + 600 ms voice): the pause comes 100 ms in, the end 300 ms in.
    assert (pause, end) == (35 + 4, 35 + 14)
    assert all(o == QUIET for o in outcomes[end + 1 :])
    assert eot.utterance_voiced_ms == 600 and not eot.speaking and eot.voiced_ms == 0


def test_a_longer_configured_silence_ends_the_turn_later():
    short = feed_all(SilenceEndOfTurn(RATE, end_silence_ms=300), voiced(400) + silence(800))
    long = feed_all(SilenceEndOfTurn(RATE, end_silence_ms=600), voiced(400) + silence(800))
    assert long.index(END_OF_TURN) - short.index(END_OF_TURN) == 15  # 300 ms more, in 20 ms frames


def test_a_pause_shorter_than_the_end_silence_does_not_end_the_turn():
    outcomes = feed_all(SilenceEndOfTurn(RATE, end_silence_ms=300), voiced(300) + silence(200) + voiced(300))
    assert END_OF_TURN not in outcomes and outcomes[-1] == SPEAKING


def test_the_preroll_holds_the_frames_before_speech_was_confirmed():
    eot = SilenceEndOfTurn(RATE)
    outcomes = feed_all(eot, silence(100) + voiced(200))
    assert SPEECH_START in outcomes
    preroll = eot.pop_preroll()
    assert len(preroll) == outcomes.index(SPEECH_START)  # every quiet frame before it (well under 300 ms)
    assert eot.pop_preroll() == []


def test_readouts_describe_the_utterance_under_way():
    eot = SilenceEndOfTurn(RATE, end_silence_ms=300)
    feed_all(eot, voiced(400) + silence(100))
    assert eot.speaking and eot.voiced_ms == 400 and eot.silence_ms == 100
    assert eot.last_voiced_at > 0


def test_plain_silence_ignores_the_providers_endpointing():
    eot = SilenceEndOfTurn(RATE)
    feed_all(eot, voiced(400))
    assert eot.on_hint(SpeechHint("end_of_turn")) is False
    assert eot.speaking


def test_the_default_ends_the_turn_on_the_providers_endpointing():
    eot = SilenceOrProviderEndOfTurn(RATE)
    feed_all(eot, voiced(400))
    assert eot.on_hint(SpeechHint("speech_started")) is False and eot.speaking
    assert eot.on_hint(SpeechHint("end_of_turn")) is True
    assert not eot.speaking and eot.utterance_voiced_ms == 400
    # Closed already: a second hint, or one between utterances, is not another turn.
    assert eot.on_hint(SpeechHint("end_of_turn")) is False
    assert feed_all(eot, silence(400)) == [QUIET] * 20


def test_a_turn_closed_by_the_provider_still_counts_its_silence_from_the_last_voiced_frame():
    eot = SilenceOrProviderEndOfTurn(RATE)
    feed_all(eot, voiced(400) + silence(160))
    assert eot.on_hint(SpeechHint("end_of_turn")) is True
    assert eot.silence_ms == 160  # where the caller's audio ended: 160 ms ago, not now
    feed_all(eot, silence(40))
    assert eot.silence_ms == 200 and not eot.speaking


def test_provider_endpointing_decides_with_our_silence_only_as_a_late_backstop():
    settings = AgentSettings(end_of_turn="provider", end_of_turn_silence_ms=300, end_of_turn_max_silence_ms=1500)
    eot = end_of_turn_for(settings, RATE)
    assert type(eot) is ProviderEndOfTurn and eot.tracker.stop_ms == 1500
    gate_hears_line(eot)
    outcomes = feed_all(eot, voiced(400) + silence(1000))
    assert END_OF_TURN not in outcomes and eot.speaking  # a second of silence: still the provider's call
    assert eot.on_hint(SpeechHint("end_of_turn")) is True and not eot.speaking
    # With no hint at all (local Whisper), the backstop ends the turn.
    backstop_eot = end_of_turn_for(settings, RATE)
    gate_hears_line(backstop_eot)
    backstop = feed_all(backstop_eot, voiced(400) + silence(1600))
    assert backstop.index(END_OF_TURN) == 20 + 75 - 1


def test_partials_end_no_turn_by_default():
    eot = SilenceOrProviderEndOfTurn(RATE)
    feed_all(eot, voiced(400))
    assert eot.on_partial("I would like") is False and eot.speaking


def test_end_of_turn_is_chosen_by_name_from_the_settings():
    default = end_of_turn_for(AgentSettings(end_of_turn_silence_ms=500, speculate_ms=80), RATE)
    assert type(default) is SilenceOrProviderEndOfTurn
    assert default.tracker.stop_ms == 500 and default.speculate_ms == 80 and default.frame_bytes == 320
    assert type(end_of_turn_for(AgentSettings(end_of_turn="silence"), 16000)) is SilenceEndOfTurn
    assert end_of_turn_for(AgentSettings(end_of_turn="silence"), 16000).frame_bytes == 640


def test_an_unknown_end_of_turn_name_falls_back_to_the_default(caplog):
    with caplog.at_level(logging.WARNING, logger="calls.session"):
        strategy = end_of_turn_for(AgentSettings(end_of_turn="no-such-thing"), RATE)
    assert type(strategy) is SilenceOrProviderEndOfTurn
    assert "no-such-thing" in caplog.text


class EndsOnTheWordOver(SilenceEndOfTurn):
    """A strategy from outside this module: the turn also ends when the caller says "over"."""

    def on_partial(self, text: str) -> bool:
        if self.speaking and text.endswith("over"):
            self.end_utterance()
            return True
        return False


def test_a_registered_end_of_turn_strategy_is_built_from_its_name(monkeypatch):
    monkeypatch.setattr(turn_taking, "END_OF_TURN_STRATEGIES", dict(turn_taking.END_OF_TURN_STRATEGIES))
    seen = {}

    def build(settings, rate):
        seen["options"] = settings.turn_taking_options
        return EndsOnTheWordOver(rate, end_silence_ms=settings.end_of_turn_silence_ms)

    turn_taking.register_end_of_turn("radio", build)
    settings = AgentSettings(end_of_turn="radio", turn_taking_options={"radio": {"word": "over"}})
    strategy = end_of_turn_for(settings, RATE)
    assert isinstance(strategy, EndsOnTheWordOver) and seen["options"] == {"radio": {"word": "over"}}
    feed_all(strategy, voiced(300))
    assert strategy.on_partial("ready over") is True and not strategy.speaking


def test_bind_hands_a_strategy_the_way_to_end_the_turn_later():
    ended = []
    eot = SilenceEndOfTurn(RATE)
    eot._end_turn()  # unbound: harmless
    eot.bind(lambda: ended.append(True))
    eot._end_turn()
    assert ended == [True]


# ---------------------------------------------------------------------------------------------- interruption


def test_voiced_time_interrupts_once_the_caller_spoke_long_enough():
    strategy = VoicedTimeInterruption(min_ms=200)
    assert [strategy.on_speech(ms) for ms in (60, 180, 200, 240)] == [KEEP_LISTENING, KEEP_LISTENING, INTERRUPT,
                                                                      INTERRUPT]
    assert strategy.on_partial("uh huh") == KEEP_LISTENING


def test_no_interruption_never_interrupts():
    strategy = NoInterruption()
    assert {strategy.on_speech(ms) for ms in (60, 200, 5000)} == {NOT_AN_INTERRUPTION}


def test_interruption_is_chosen_from_the_settings():
    strategy = interruption_for(AgentSettings(barge_in_min_ms=350))
    assert isinstance(strategy, VoicedTimeInterruption) and strategy.min_ms == 350
    assert isinstance(interruption_for(AgentSettings(interruption="never")), NoInterruption)


def test_barge_in_switched_off_wins_over_the_named_strategy():
    assert isinstance(interruption_for(AgentSettings(barge_in_enabled=False, interruption="voiced-time")),
                      NoInterruption)


def test_an_unknown_interruption_name_falls_back_to_the_default(caplog):
    with caplog.at_level(logging.WARNING, logger="calls.session"):
        strategy = interruption_for(AgentSettings(interruption="psychic"))
    assert isinstance(strategy, VoicedTimeInterruption) and "psychic" in caplog.text


def test_the_strategy_interfaces_require_their_decision():
    with pytest.raises(TypeError):
        EndOfTurnStrategy()
    with pytest.raises(TypeError):
        InterruptionStrategy()

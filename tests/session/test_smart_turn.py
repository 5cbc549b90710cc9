"""The smart-turn end-of-turn strategy with a fake model: when it asks, what it hands the model, and what each
verdict does to the turn (the real model on real speech: tests/turn/)."""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from calls.pipeline.turns import END_OF_TURN, SPEECH_START
from calls.providers.turn import smart_turn as model
from calls.session import smart_turn
from calls.session.settings import AgentSettings
from calls.session.smart_turn import SmartTurnEndOfTurn
from calls.session.turn_taking import SilenceEndOfTurn, end_of_turn_for
from tests.session.helpers import RATE, frames, gate_hears_line, silence, voiced

BYTES_PER_MS = RATE * 2 // 1000


class FakeModel:
    """Answers the probabilities it is given, in order (the last one from then on); keeps what it was asked.
    With `hold`, each answer waits until the test releases it."""

    def __init__(self, *answers: float, hold: bool = False, error: Exception | None = None) -> None:
        self.answers = list(answers)
        self.asked: list[tuple[bytes, int]] = []
        self.error = error
        self.release = threading.Event()
        if not hold:
            self.release.set()

    def __call__(self, pcm: bytes, rate: int) -> float:
        self.asked.append((pcm, rate))
        self.release.wait(5)
        if self.error is not None:
            raise self.error
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@pytest.fixture
def pool():
    executor = ThreadPoolExecutor(max_workers=2)
    yield executor
    executor.shutdown(wait=False, cancel_futures=True)


class Caller:
    """Feeds a strategy frame by frame and notes when the turn ended: by a verdict (the bound callback) or by the
    silence rule (an END_OF_TURN outcome), in ms of audio fed."""

    def __init__(self, strategy: SmartTurnEndOfTurn) -> None:
        self.strategy = strategy
        self.fed_ms = 0
        self.ended_by_verdict: list[int] = []
        self.ended_by_silence: list[int] = []
        strategy.bind(lambda: self.ended_by_verdict.append(self.fed_ms))

    async def say(self, pcm: bytes) -> None:
        """Each frame, then, if it made the strategy ask, the verdict before the next frame (a model that answers
        within a frame)."""
        for frame in frames(pcm, self.strategy.frame_bytes):
            asks = self.strategy.asks
            self.fed_ms += 20
            if self.strategy.feed(frame) == END_OF_TURN:
                self.ended_by_silence.append(self.fed_ms)
            if self.strategy.asks != asks:
                await self.verdict()

    async def verdict(self) -> None:
        for _ in range(500):
            if not self.strategy._pending:
                return
            await asyncio.sleep(0.002)
        raise AssertionError("no verdict")


def strategy(predict, pool, **kwargs) -> SmartTurnEndOfTurn:
    kwargs.setdefault("ask_after_ms", 120)
    kwargs.setdefault("max_silence_ms", 1200)
    built = SmartTurnEndOfTurn(RATE, predict=predict, executor=pool, **kwargs)
    gate_hears_line(built)
    return built


@pytest.mark.asyncio
async def test_a_complete_turn_ends_as_soon_as_the_model_says_so(pool):
    fake = FakeModel(0.9)
    caller = Caller(strategy(fake, pool))
    await caller.say(silence(100) + voiced(600) + silence(1500))
    # Asked once, after 120 ms of silence; the turn ended right then, long before the silence rule would have.
    assert caller.ended_by_verdict == [100 + 600 + 120] and caller.ended_by_silence == []
    eot = caller.strategy
    assert len(fake.asked) == 1 and eot.last_probability == 0.9 and not eot.speaking
    assert eot.utterance_voiced_ms == 600
    assert eot.silence_ms >= 120  # still counted from the last voiced frame: the turn's audio ends there


@pytest.mark.asyncio
async def test_the_model_hears_the_utterance_from_its_preroll_to_the_pause(pool):
    fake = FakeModel(0.9)
    caller = Caller(strategy(fake, pool))
    lead = silence(100)
    speech = voiced(600)
    await caller.say(lead + speech + silence(200))
    pcm, rate = fake.asked[0]
    assert rate == RATE
    # The pre-roll keeps the frames before the VAD was sure (all 100 ms of lead here), then the speech, then the
    # 120 ms of silence that made the strategy ask.
    assert pcm == lead + speech + silence(120)


@pytest.mark.asyncio
async def test_only_the_last_8_seconds_are_heard(pool):
    fake = FakeModel(0.9)
    caller = Caller(strategy(fake, pool))
    speech = voiced(10_000, f0=150.0)
    await caller.say(speech + silence(200))
    pcm, _ = fake.asked[0]
    assert len(pcm) == 8000 * BYTES_PER_MS
    assert pcm == (speech + silence(120))[-len(pcm):]


@pytest.mark.asyncio
async def test_an_incomplete_turn_waits_for_the_maximum_silence(pool):
    fake = FakeModel(0.1)
    caller = Caller(strategy(fake, pool, max_silence_ms=1200))
    await caller.say(voiced(600) + silence(1500))
    assert caller.ended_by_verdict == []
    assert caller.ended_by_silence == [600 + 1200]  # the maximum silence, not the 300 ms rule
    assert len(fake.asked) == 1 and caller.strategy.last_probability == 0.1


@pytest.mark.asyncio
@pytest.mark.parametrize("verdict_first", [True, False])
async def test_words_that_read_finished_cap_the_models_wait_at_the_silence_rule(pool, verdict_first):
    """"Tomorrow", said as an answer, sounds unfinished to the model (it hears no question); the pause's transcript
    reads finished, so the turn ends on the 300 ms silence rule, not the 1200 ms maximum — whether the words come
    after the verdict (it is lowered then) or before it (the verdict is capped when it comes)."""
    fake = FakeModel(0.1, hold=not verdict_first)
    caller = Caller(strategy(fake, pool, max_silence_ms=1200, fallback_silence_ms=300))
    if verdict_first:
        await caller.say(voiced(600) + silence(200))  # asked at 120 ms of silence, answered at once
    else:  # the model still thinking when the words come
        for frame in frames(voiced(600) + silence(200), caller.strategy.frame_bytes):
            caller.fed_ms += 20
            assert caller.strategy.feed(frame) != END_OF_TURN
        assert caller.strategy._pending
    caller.strategy.words_read_finished()
    if not verdict_first:
        fake.release.set()
        await caller.verdict()
    await caller.say(silence(1300))
    assert caller.ended_by_silence + caller.ended_by_verdict == [600 + 300]
    assert caller.strategy.words_capped == 1


@pytest.mark.asyncio
async def test_words_that_read_finished_are_forgotten_when_the_caller_goes_on(pool):
    fake = FakeModel(0.1)
    caller = Caller(strategy(fake, pool, max_silence_ms=1200, fallback_silence_ms=300))
    await caller.say(voiced(600) + silence(200))
    caller.strategy.words_read_finished()
    await caller.say(voiced(400) + silence(1500))  # they went on: the new pause is judged afresh (the maximum)
    assert caller.ended_by_silence == [600 + 200 + 400 + 1200] and caller.ended_by_verdict == []


@pytest.mark.asyncio
async def test_an_incomplete_turn_can_be_asked_again_on_further_silence(pool):
    fake = FakeModel(0.1, 0.2, 0.95)
    caller = Caller(strategy(fake, pool, reask_every_ms=300))
    await caller.say(voiced(600) + silence(1500))
    # Asked at 120, 420 and 720 ms of silence; the third said complete.
    assert len(fake.asked) == 3 and caller.ended_by_verdict == [600 + 720] and caller.ended_by_silence == []


@pytest.mark.asyncio
async def test_an_unsure_verdict_ends_the_turn_after_the_unsure_wait(pool):
    fake = FakeModel(0.65)  # complete, but not confidently: a half sentence in noise may sound like this
    caller = Caller(strategy(fake, pool, unsure_silence_ms=700, max_silence_ms=1200))
    await caller.say(voiced(600) + silence(1500))
    assert caller.ended_by_verdict == [] and caller.ended_by_silence == [600 + 700]


@pytest.mark.asyncio
async def test_a_likely_verdict_ends_the_turn_after_a_gap_longer_than_those_inside_a_sentence(pool):
    # 0.87 is what the model said 60 ms into a 60 ms gap inside "Do you accept insurance from Blue Cross?".
    fake = FakeModel(0.87)
    caller = Caller(strategy(fake, pool, ask_after_ms=60, max_silence_ms=1200))
    await caller.say(voiced(600) + silence(100) + voiced(400) + silence(1000))
    assert len(fake.asked) == 2  # the gap inside the sentence too ...
    assert caller.ended_by_silence == [600 + 100 + 400 + 160]  # ... but only the real pause ended the turn


@pytest.mark.asyncio
async def test_a_verdict_already_past_its_wait_ends_the_turn_at_once(pool):
    fake = FakeModel(0.6)
    caller = Caller(strategy(fake, pool, ask_after_ms=400, unsure_silence_ms=300))
    await caller.say(voiced(600) + silence(800))
    assert caller.ended_by_verdict == [600 + 400] and caller.ended_by_silence == []


@pytest.mark.asyncio
async def test_speaking_again_after_an_unsure_verdict_puts_the_longest_wait_back(pool):
    fake = FakeModel(0.65, 0.1)
    caller = Caller(strategy(fake, pool, unsure_silence_ms=700, max_silence_ms=1200))
    # A pause of 300 ms (asked: unsure), the caller goes on, then stops mid-sentence (asked: incomplete).
    await caller.say(voiced(600) + silence(300) + voiced(400) + silence(1500))
    assert len(fake.asked) == 2 and caller.ended_by_verdict == []
    assert caller.ended_by_silence == [600 + 300 + 400 + 1200]
    # The next utterance starts from the longest wait too.
    assert caller.strategy.tracker.stop_ms == 1200


@pytest.mark.parametrize(("p", "wait"), [(0.97, 0), (0.9, 0), (0.89, 160), (0.7, 160), (0.69, 700), (0.5, 700), (0.49, 1200),
                                          (0.0, 1200)])
def test_the_bands_map_confidence_to_the_wait(p, wait):
    assert smart_turn.EndOfTurnBands().wait_ms(p, 1200) == wait
    assert smart_turn.EndOfTurnBands(unsure_silence_ms=2000).wait_ms(0.6, 1200) == 1200  # never past the maximum


@pytest.mark.parametrize(("p", "wait"), [(0.97, 0), (0.9, 0), (0.89, 700), (0.7, 700), (0.69, 1200), (0.5, 1200),
                                          (0.49, 1200)])
def test_on_a_noisy_line_a_verdict_short_of_sure_waits_one_band_longer(p, wait):
    assert smart_turn.EndOfTurnBands().wait_ms(p, 1200, noisy_line=True) == wait


@pytest.mark.asyncio
@pytest.mark.parametrize("noisy", [False, True], ids=["quiet line", "noisy line"])
async def test_a_likely_verdict_waits_the_unsure_band_on_a_noisy_line(pool, monkeypatch, noisy):
    """"I would like to book an", 600 ms pause, in pink or babble: Smart Turn said 0.72-0.83 and the pause was
    answered 160 ms in; on a noisy line the likely band waits as the unsure one (700 ms) and the caller goes on."""
    fake = FakeModel(0.8)
    built = strategy(fake, pool, unsure_silence_ms=700, likely_silence_ms=160)
    monkeypatch.setattr(type(built.gate), "line_noisy", property(lambda self: noisy))
    caller = Caller(built)
    await caller.say(silence(100) + voiced(600) + silence(1500))
    assert len(fake.asked) == 1 and list(built.verdicts) == [(120, 0.8, noisy)]  # asked 120 ms in (its verdict kept)
    assert caller.ended_by_verdict + caller.ended_by_silence == [100 + 600 + (700 if noisy else 160)]


@pytest.mark.asyncio
async def test_a_caller_who_speaks_again_before_the_verdict_keeps_the_turn(pool):
    fake = FakeModel(0.95, hold=True)
    caller = Caller(strategy(fake, pool))
    eot = caller.strategy
    for frame in frames(voiced(600) + silence(140) + voiced(300), eot.frame_bytes):
        eot.feed(frame)  # the model is still thinking while the caller goes on
    assert eot.asks == 1 and eot.speaking
    fake.release.set()
    await asyncio.sleep(0.05)  # the verdict arrives: "complete", about audio that is no longer the end of the turn
    assert caller.ended_by_verdict == [] and eot.speaking and eot.last_probability is None
    # The next pause asks afresh, about the whole utterance so far.
    await caller.say(silence(200))
    assert len(fake.asked) == 2 and len(fake.asked[1][0]) > len(fake.asked[0][0])
    assert caller.ended_by_verdict and not eot.speaking


@pytest.mark.asyncio
async def test_a_short_pause_does_not_ask(pool):
    fake = FakeModel(0.9)
    caller = Caller(strategy(fake, pool))
    await caller.say(voiced(400) + silence(100) + voiced(400) + silence(60))
    assert fake.asked == [] and caller.strategy.speaking


@pytest.mark.asyncio
async def test_a_model_that_fails_leaves_the_silence_rule(pool, caplog):
    fake = FakeModel(0.9, error=RuntimeError("onnx exploded"))
    caller = Caller(strategy(fake, pool, fallback_silence_ms=300))
    with caplog.at_level(logging.WARNING, logger="calls.session"):
        await caller.say(voiced(600) + silence(600))
    assert caller.ended_by_verdict == [] and caller.ended_by_silence == [600 + 300]
    assert not caller.strategy.model_in_use and "onnx exploded" in caplog.text
    await caller.say(voiced(400) + silence(400))  # the next turn: silence alone, no more asking
    assert len(fake.asked) == 1 and caller.ended_by_silence == [900, 1200 + 400 + 300]


def test_without_an_event_loop_the_strategy_is_the_silence_rule_at_its_maximum(pool):
    fake = FakeModel(0.9)
    eot = strategy(fake, pool, max_silence_ms=600)
    outcomes = [eot.feed(f) for f in frames(voiced(400) + silence(700), eot.frame_bytes)]
    assert fake.asked == [] and outcomes.count(SPEECH_START) == 1 and outcomes.index(END_OF_TURN) == 20 + 30 - 1


# ---------------------------------------------------------------------------------------------- from the settings


@pytest.fixture
def no_model(monkeypatch, tmp_path):
    monkeypatch.setenv("SMART_TURN_MODEL", str(tmp_path / "missing.onnx"))
    monkeypatch.setattr(smart_turn, "_said", set())
    model._reset_for_tests()
    yield
    model._reset_for_tests()


def test_without_the_model_file_smart_turn_is_the_silence_rule_said_once(no_model, caplog):
    settings = AgentSettings(end_of_turn="smart-turn", end_of_turn_silence_ms=350)
    with caplog.at_level(logging.WARNING, logger="calls.session"):
        first = end_of_turn_for(settings, RATE)
        second = end_of_turn_for(settings, RATE)
    assert type(first) is SilenceEndOfTurn and type(second) is SilenceEndOfTurn
    assert first.tracker.stop_ms == 350
    assert caplog.text.count("no model at") == 1 and "missing.onnx" in caplog.text


def test_a_model_that_cannot_load_is_reported_and_not_retried(no_model, tmp_path, monkeypatch):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    monkeypatch.setenv("SMART_TURN_MODEL", str(broken))
    assert model.available()
    with pytest.raises(model.ProviderError, match="cannot load"):
        model.probability(silence(200), RATE)
    assert not model.available()  # every later call starts on the silence rule
    assert type(end_of_turn_for(AgentSettings(end_of_turn="smart-turn"), RATE)) is SilenceEndOfTurn


def test_smart_turn_is_built_from_the_agents_settings(monkeypatch):
    monkeypatch.setattr(model, "available", lambda: True)
    settings = AgentSettings(end_of_turn="smart-turn", end_of_turn_silence_ms=280, end_of_turn_max_silence_ms=1500,
                             smart_turn_silence_ms=140,
                             turn_taking_options={"smart-turn": {"threshold": 0.7, "reask_every_ms": 400}})
    eot = end_of_turn_for(settings, 16000)
    assert isinstance(eot, SmartTurnEndOfTurn) and eot.model_in_use
    assert (eot.ask_after_ms, eot.max_silence_ms, eot.fallback_silence_ms) == (140, 1500, 280)
    assert eot.tracker.stop_ms == 1500 and eot.threshold == 0.7 and eot.reask_every_ms == 400
    assert eot.frame_bytes == 640 and eot.sample_rate == 16000
    assert eot.bands == smart_turn.EndOfTurnBands(complete_at=0.9, threshold=0.7, unsure_silence_ms=700)


def test_smart_turn_options_are_clamped_and_a_bad_one_is_ignored(monkeypatch):
    monkeypatch.setattr(model, "available", lambda: True)
    settings = AgentSettings(end_of_turn="smart-turn", turn_taking_options={
        "smart-turn": {"complete_at": "sure", "unsure_silence_ms": 900, "threshold": 7}})
    eot = end_of_turn_for(settings, 8000)
    assert eot.bands == smart_turn.EndOfTurnBands(complete_at=1.0, threshold=1.0, unsure_silence_ms=900, likely_at=1.0)


def test_new_agents_end_turns_on_silence_and_smart_turn_asks_after_60_ms():
    from calls.models import Agent
    from calls.session.factory import agent_settings

    settings = agent_settings(Agent())
    assert (settings.end_of_turn, settings.smart_turn_silence_ms) == ("silence+provider", 60)
    assert agent_settings(Agent(end_of_turn="")).end_of_turn == "silence+provider"
    assert agent_settings(Agent(end_of_turn="smart-turn")).end_of_turn == "smart-turn"


def test_the_agents_field_names_the_strategy_and_provider_options_only_one_it_cannot_name():
    from calls.models import Agent
    from calls.session.factory import agent_settings

    agent = Agent(end_of_turn="smart-turn", end_of_turn_max_silence_ms=1400, smart_turn_silence_ms=100,
                  provider_options={"turn_taking": {"end_of_turn": "silence", "smart-turn": {"threshold": 0.6}}})
    settings = agent_settings(agent)
    assert settings.end_of_turn == "smart-turn"  # the dashboard's choice wins over a stale option
    assert (settings.end_of_turn_max_silence_ms, settings.smart_turn_silence_ms) == (1400, 100)
    assert settings.turn_taking_options == {"smart-turn": {"threshold": 0.6}}
    agent.provider_options = {"turn_taking": {"end_of_turn": "radio", "radio": {"word": "over"}}}
    assert agent_settings(agent).end_of_turn == "radio"  # a strategy registered in code, named in the options


@pytest.mark.asyncio
async def test_over_the_agent_the_model_is_not_asked_and_silence_ends_the_turn(pool):
    fake = FakeModel(0.1)
    caller = Caller(strategy(fake, pool, fallback_silence_ms=300, max_silence_ms=1200))
    eot = caller.strategy
    await caller.say(voiced(100))  # the utterance began (speech start) ...
    eot.caller_over_agent(True)  # ... over the agent's speech, the session says
    await caller.say(voiced(500) + silence(600))
    assert fake.asked == [] and caller.ended_by_silence == [600 + 300]
    eot.caller_over_agent(False)  # the next one is not: asked again, the longest wait again
    await caller.say(voiced(600) + silence(1500))
    assert len(fake.asked) == 1 and caller.ended_by_silence == [900, 1200 + 600 + 1200]

"""The coordinator with strategies it has never heard of: a new turn-taking strategy plugs in without touching
CallSession. Fake providers, a keeping recorder, a fake carrier."""

from __future__ import annotations

import asyncio

import pytest

from calls.pipeline.turns import PAUSE
from calls.providers.base import UserTurn
from calls.session.call_session import CallSession
from calls.session.settings import AgentSettings
from calls.session.turn_taking import (
    INTERRUPT,
    KEEP_LISTENING,
    InterruptionStrategy,
    NoInterruption,
    SilenceEndOfTurn,
    SilenceOrProviderEndOfTurn,
    VoicedTimeInterruption,
)
from tests.pipeline_fakes import ScriptedSTT
from tests.session.helpers import (
    RATE,
    Carrier,
    KeepingRecorder,
    ScriptBrain,
    TextSerializer,
    WordTTS,
    line_from_the_start,
    silence,
    until,
    voiced,
)


class LaterVerdict(SilenceEndOfTurn):
    """Like a turn model that answers off the frame path: at the first pause it decides, a little later, that the
    turn is over (long before the silence would have ended it)."""

    def feed(self, frame: bytes) -> int:
        outcome = super().feed(frame)
        if outcome == PAUSE:
            asyncio.get_running_loop().call_later(0.01, self._verdict)
        return outcome

    def _verdict(self) -> None:
        if self.speaking:
            self.end_utterance()
            self._end_turn()


class StopWord(InterruptionStrategy):
    """Voice alone never interrupts; the word "stop" in a partial transcript does."""

    def __init__(self) -> None:
        self.started = 0

    def caller_started(self) -> None:
        self.started += 1

    def on_speech(self, voiced_ms: int) -> int:
        return KEEP_LISTENING

    def on_partial(self, text: str) -> int:
        return INTERRUPT if "stop" in text.split() else KEEP_LISTENING


def session_with(carrier: Carrier, recorder: KeepingRecorder, brain: ScriptBrain, stt=None, **kwargs) -> CallSession:
    async def close() -> None:
        pass

    session = CallSession(call_id="CA1", settings=kwargs.pop("settings", AgentSettings(end_of_turn_silence_ms=2000)),
                          serializer=TextSerializer(), send=carrier.send, close=close,
                          stt=stt or ScriptedSTT(RATE), tts=WordTTS(), brain=brain, recorder=recorder,
                          sample_rate=RATE, **kwargs)
    carrier.playout = session.playout
    return session


def test_without_strategies_the_session_uses_the_ones_its_settings_name():
    session = session_with(Carrier(), KeepingRecorder(), ScriptBrain(), settings=AgentSettings(barge_in_min_ms=300))
    assert type(session.end_of_turn) is SilenceOrProviderEndOfTurn
    assert isinstance(session.interruption, VoicedTimeInterruption) and session.interruption.min_ms == 300
    off = session_with(Carrier(), KeepingRecorder(), ScriptBrain(), settings=AgentSettings(barge_in_enabled=False))
    assert isinstance(off.interruption, NoInterruption)


@pytest.mark.asyncio
async def test_an_end_of_turn_verdict_delivered_later_ends_the_turn():
    carrier, recorder, brain = Carrier(), KeepingRecorder(), ScriptBrain(greeting="Hi.", answer="Sure.")
    stt = ScriptedSTT(RATE)
    stt.script = ["a table for two"]
    session = session_with(carrier, recorder, brain, stt=stt, end_of_turn=LaterVerdict(RATE, end_silence_ms=2000))
    await session.start()
    line_from_the_start(session)
    try:
        await until(lambda: any(t.role == "agent" for t in recorder.turns))  # the greeting was said
        session.on_audio(voiced(600) + silence(200))  # 200 ms of silence: far from the 2 s the silence rule wants
        await until(lambda: brain.events == [UserTurn("a table for two")])
        await until(lambda: [t.text for t in recorder.turns] == ["Hi.", "a table for two", "Sure."])
        assert session.stats.turns == 1
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_an_interruption_strategy_can_decide_on_what_the_caller_says():
    carrier = Carrier(plays=False)  # nothing is heard back: the greeting goes on until it is cut
    recorder = KeepingRecorder()
    brain = ScriptBrain(greeting="Welcome to the restaurant, let me tell you about every dish on today's menu.")
    strategy = StopWord()
    stt = ScriptedSTT(RATE)
    session = session_with(carrier, recorder, brain, stt=stt, interruption=strategy)
    await session.start()
    line_from_the_start(session)
    try:
        await until(lambda: carrier.audio_bytes() > 0)
        session.on_audio(voiced(600))  # plenty of voice over the agent: this strategy does not care
        await asyncio.sleep(0.05)
        assert "barge_in" not in recorder.kinds() and session.speaker.busy and strategy.started == 1
        stt.on_partial("please stop")
        assert session.stats.barge_ins == 1 and "barge_in" in recorder.kinds()
        await until(lambda: "clear" in carrier.sent)
        await until(lambda: any(t.role == "agent" and t.interrupted for t in recorder.turns))
    finally:
        await session.stop()

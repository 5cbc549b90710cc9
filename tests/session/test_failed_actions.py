"""The session when an action it carries out for the brain fails: a transfer the carrier refuses (or never answers)
is owned up to in one line and the brain is told, the call goes on; a hang-up the carrier refuses still ends the
call; a caller turn that gets no reply leaves a CallEvent saying why. Fake providers, a failing CallControl."""

from __future__ import annotations

import asyncio

import pytest

from calls.pipeline.ports import CallControl
from calls.providers.base import ActionFailed, Brain, BrainState, EndCall, TextDelta, Transfer, UserTurn
from calls.session.call_session import CallSession, State
from calls.session.lines import TRANSFER_FAILED_LINE
from calls.session.settings import AgentSettings
from tests.pipeline_fakes import ScriptedSTT
from tests.session.helpers import (
    RATE,
    Carrier,
    KeepingRecorder,
    TextSerializer,
    WordTTS,
    line_from_the_start,
    silence,
    until,
    voiced,
)

pytestmark = pytest.mark.asyncio


class FailingControl(CallControl):
    """The carrier's REST API, unreachable (raises what requests raises), or hanging with `hang=True`."""

    def __init__(self, hang: bool = False) -> None:
        self.hang = hang
        self.calls: list[str] = []

    async def _fail(self, what: str) -> None:
        self.calls.append(what)
        if self.hang:
            await asyncio.sleep(3600)
        raise ConnectionError("Connection refused")

    async def hang_up(self, call_id: str) -> None:
        await self._fail("hang_up")

    async def transfer(self, call_id: str, target: str, summary: str = "", options=None) -> None:
        await self._fail("transfer")


class DeskBrain(Brain):
    """Transfers on "human", hangs up on "bye", answers anything else; says `event.line` when told an action
    failed (unless `mute_on_failure`)."""

    name = "desk"

    def __init__(self, mute_on_failure: bool = False) -> None:
        self.state = BrainState(node="start", variables={})
        self.events: list = []
        self.mute_on_failure = mute_on_failure

    async def greeting(self):
        yield TextDelta("Hi.")

    async def respond(self, event):
        self.events.append(event)
        if isinstance(event, ActionFailed):
            if not self.mute_on_failure:
                yield TextDelta(event.line)
        elif "human" in event.text:
            yield TextDelta("Connecting you now.")
            yield Transfer("+15550100999", "wants a person")
        elif "bye" in event.text:
            yield TextDelta("Goodbye.")
            yield EndCall("completed")
        elif event.text != "mumble":
            yield TextDelta("Okay.")


class Rig:
    def __init__(self, script: list[str], control: CallControl, brain: Brain | None = None) -> None:
        self.carrier, self.recorder = Carrier(), KeepingRecorder()
        self.brain = brain or DeskBrain()
        self.stt = ScriptedSTT(RATE)
        self.stt.script = script
        self.tts = WordTTS()
        self.closed = 0
        self.session = CallSession(
            call_id="CA1", settings=AgentSettings(end_of_turn_silence_ms=200), serializer=TextSerializer(),
            send=self.carrier.send, close=self._close, stt=self.stt, tts=self.tts, brain=self.brain,
            recorder=self.recorder, sample_rate=RATE, control=control)
        self.carrier.playout = self.session.playout

    async def _close(self) -> None:
        self.closed += 1

    async def say(self) -> None:
        """One caller turn (once the agent has finished speaking)."""
        await until(lambda: not self.session.speaker.busy)
        self.session.on_audio(voiced(400) + silence(300))

    def agent_lines(self) -> list[str]:
        return [t.text for t in self.recorder.turns if t.role == "agent"]

    def events(self, kind: str) -> list[dict]:
        return [detail for k, detail in self.recorder.events if k == kind]


async def test_a_failed_transfer_is_apologised_for_the_brain_is_told_and_the_call_goes_on():
    control = FailingControl()
    rig = Rig(["a human please", "what are your hours"], control)
    await rig.session.start()
    line_from_the_start(rig.session)
    try:
        await rig.say()
        await until(lambda: TRANSFER_FAILED_LINE in rig.tts.said)
        assert control.calls == ["transfer"]
        failed = rig.brain.events[1]
        assert isinstance(failed, ActionFailed) and failed.action == Transfer("+15550100999", "wants a person")
        assert "Connection refused" in failed.reason and failed.line == TRANSFER_FAILED_LINE
        assert rig.events("action_failed") == [{"action": "transfer", "error": "Connection refused",
                                                "target": "+15550100999"}]
        assert rig.session.state is State.ACTIVE and rig.closed == 0
        await rig.say()
        await until(lambda: rig.agent_lines()[-1:] == ["Okay."])
        assert rig.agent_lines() == ["Hi.", "Connecting you now.", TRANSFER_FAILED_LINE, "Okay."]
        assert rig.brain.events[2] == UserTurn("what are your hours")
    finally:
        await rig.session.stop()


async def test_a_transfer_the_carrier_never_answers_counts_as_failed():
    control = FailingControl(hang=True)
    rig = Rig(["a human please"], control)
    rig.session.action_timeout_s = 0.2
    await rig.session.start()
    line_from_the_start(rig.session)
    try:
        await rig.say()
        await until(lambda: TRANSFER_FAILED_LINE in rig.tts.said)
        (failed,) = rig.events("action_failed")
        assert failed["error"] == "no answer within 0.2 s"
    finally:
        await rig.session.stop()


async def test_a_brain_with_nothing_to_say_about_a_failed_action_still_owns_up_to_it():
    rig = Rig(["a human please"], FailingControl(), brain=DeskBrain(mute_on_failure=True))
    await rig.session.start()
    line_from_the_start(rig.session)
    try:
        await rig.say()
        await until(lambda: rig.agent_lines()[-1:] == [TRANSFER_FAILED_LINE])
    finally:
        await rig.session.stop()


async def test_a_failed_hang_up_still_ends_the_call():
    control = FailingControl()
    rig = Rig(["bye now"], control)
    await rig.session.start()
    line_from_the_start(rig.session)
    try:
        await rig.say()
        await until(lambda: rig.closed == 1)
        assert control.calls == ["hang_up"] and rig.agent_lines()[-1] == "Goodbye."
        assert [e["action"] for e in rig.events("action_failed")] == ["hang_up"]
        assert rig.session.state is State.ENDING  # no new turns; the consumer's close stops the session
    finally:
        await rig.session.stop()


async def test_a_caller_turn_left_without_a_reply_says_why():
    rig = Rig(["", "mumble"], FailingControl())
    await rig.session.start()
    line_from_the_start(rig.session)
    try:
        await rig.say()  # speech, but the recogniser heard no word
        await until(lambda: rig.events("unanswered") == [{"reason": "no-words"}])
        await rig.say()  # words, but the brain had nothing to say to them
        await until(lambda: len(rig.events("unanswered")) == 2)
        assert rig.events("unanswered")[1] == {"reason": "brain-said-nothing", "brain": "desk"}
    finally:
        await rig.session.stop()

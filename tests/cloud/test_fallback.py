"""Fallback chains: each wrapper switches to its secondary on each kind of fault, in time, and reports it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from calls.flows.brain import FlowBrain
from calls.providers.base import (
    Brain,
    BrainState,
    EndCall,
    ProviderError,
    StillWorking,
    STTStream,
    TextDelta,
    TTSProvider,
    UserTurn,
)
from calls.providers.fallback import BRAIN_END_LINE, BRAIN_FILLER_LINE, FallbackBrain, FallbackSTT, FallbackTTS
from calls.providers.llm.openai_brain import OpenAIBrain
from calls.providers.stt.deepgram import DeepgramSTT
from calls.providers.tts.elevenlabs import ElevenLabsTTS
from voicebot.testing.pcm import frames, tone
from voicebot.testing.vendors import DeepgramFault, ElevenLabsFault, ScriptedReply

RATE = 8000
pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.faults,
    pytest.mark.filterwarnings("ignore::DeprecationWarning:deepgram"),
    pytest.mark.filterwarnings("ignore:websockets.legacy is deprecated:DeprecationWarning"),
]


class RecordingSTT(STTStream):
    """The embedded secondary's stand-in: remembers the audio it got, 'transcribes' it by its length."""

    name = "recording"

    def __init__(self, sample_rate: int = RATE) -> None:
        super().__init__(sample_rate)
        self.audio = bytearray()
        self.started = False

    async def start(self) -> None:
        self.started = True

    def send_audio(self, pcm: bytes) -> None:
        self.audio += pcm

    async def transcript(self) -> str:
        return f"{len(self.audio) // (self.sample_rate * 2 // 1000)} ms of audio"

    def commit(self) -> None:
        self.audio.clear()


class MarkerTTS(TTSProvider):
    name = "marker"

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        yield b"\x01\x00" * 80


class Failures(list):
    def __call__(self, error: ProviderError) -> None:
        self.append(error)


# ---------------------------------------------------------------- STT


async def test_stt_switches_when_the_final_transcript_does_not_come(deepgram):
    deepgram.faults.append(DeepgramFault(mute=True))
    failures, secondary = Failures(), RecordingSTT()
    stt = FallbackSTT(DeepgramSTT(RATE, {"finalize_timeout_s": 0.4}), secondary, failures, deadline_s=1.0)
    await stt.start()
    for frame in frames(tone(500, RATE), RATE):
        stt.send_audio(frame)

    began = time.monotonic()
    assert await stt.transcript() == "500 ms of audio"  # the secondary got the whole utterance
    assert time.monotonic() - began < 1.0
    assert [f.provider for f in failures] == ["deepgram"] and stt.active is secondary
    stt.commit()
    stt.send_audio(tone(100, RATE))
    assert await stt.transcript() == "100 ms of audio"  # and keeps the call
    await stt.close()


async def test_stt_switches_as_soon_as_the_primary_gives_up(deepgram):
    failures, secondary = Failures(), RecordingSTT()
    stt = FallbackSTT(DeepgramSTT(RATE, {"max_reconnects": 1}), secondary, failures)
    await stt.start()
    stt.send_audio(tone(200, RATE))
    deepgram.faults.extend(DeepgramFault(reject_status=500) for _ in range(3))
    deepgram.drop_all()
    for _ in range(250):  # the reconnect's back-off, then the refusal (up to 5 s on a busy machine)
        if stt.active is secondary:
            break
        await asyncio.sleep(0.02)
    assert stt.active is secondary and len(failures) == 1  # before anyone asked for a transcript
    stt.send_audio(tone(100, RATE))
    assert await stt.transcript() == "300 ms of audio"
    await stt.close()


async def test_stt_without_a_key_runs_on_the_secondary_from_the_start(settings):
    settings.DEEPGRAM_API_KEY = ""
    failures, secondary = Failures(), RecordingSTT()
    stt = FallbackSTT(DeepgramSTT(RATE, {}), secondary, failures)
    await stt.start()
    assert secondary.started and failures[0].permanent
    await stt.close()


# ---------------------------------------------------------------- TTS


async def speak(tts: TTSProvider, text: str) -> bytes:
    return b"".join([chunk async for chunk in tts.synthesize(text)])


async def started_tts(failures: Failures, **options) -> FallbackTTS:
    tts = FallbackTTS(ElevenLabsTTS(RATE, "", options), MarkerTTS(RATE), failures, first_audio_s=0.3)
    await tts.start()
    return tts


@pytest.mark.parametrize("fault", [
    ElevenLabsFault(error="internal_server_error"),
    ElevenLabsFault(first_audio_delay_s=1.0),
    ElevenLabsFault(stall=True),
], ids=["error", "slow-first-audio", "stalled"])
async def test_tts_says_the_sentence_with_the_secondary_in_time(elevenlabs, fault):
    failures = Failures()
    tts = await started_tts(failures)
    elevenlabs.ws_faults.append(fault)  # for the spare socket opened while "One." is spoken
    await speak(tts, "One.")
    await asyncio.sleep(0.05)
    began = time.monotonic()
    assert await speak(tts, "Two.") == b"\x01\x00" * 80
    assert time.monotonic() - began < 0.6
    assert len(failures) == 1 and tts.name == "marker"
    assert len(await speak(tts, "Three.")) > 160  # one failure is not enough to give up on the primary
    await tts.close()


async def test_tts_gives_up_on_the_primary_after_repeated_failures(elevenlabs):
    failures = Failures()
    tts = FallbackTTS(ElevenLabsTTS(RATE, "", {"transport": "http"}), MarkerTTS(RATE), failures, max_failures=2)
    await tts.start()
    elevenlabs.http_faults.extend([ElevenLabsFault(status=500), ElevenLabsFault(status=503)])
    for _ in range(3):
        assert await speak(tts, "Hello.") == b"\x01\x00" * 80
    assert len(failures) == 2 and len(elevenlabs.http_requests) == 2  # the third went straight to the secondary
    await tts.close()


async def test_tts_without_a_key_uses_the_secondary(settings):
    settings.ELEVENLABS_API_KEY = ""
    failures = Failures()
    tts = FallbackTTS(ElevenLabsTTS(RATE), MarkerTTS(RATE), failures)
    await tts.start()
    assert await speak(tts, "Hello.") == b"\x01\x00" * 80
    assert failures[0].permanent
    await tts.close()


# ---------------------------------------------------------------- brain

FLOW = {
    "start": "welcome",
    "nodes": {
        "welcome": {"type": "ask", "text": "How can I help?", "routes": [
            {"intent": "hours", "keywords": ["hours", "open"], "next": "hours"}]},
        "hours": {"type": "end", "text": "We open at nine."},
    },
}


def llm_with_flow(failures: Failures, first_output_s: float = 0.4, **options) -> FallbackBrain:
    primary = OpenAIBrain(greeting="Hi!", options={"first_token_timeout_s": 2.0, **options})
    return FallbackBrain(primary, FlowBrain(FLOW, "Hi!"), failures, first_output_s=first_output_s)


async def collect(outputs) -> list:
    return [out async for out in outputs]


@pytest.mark.parametrize("reply", [
    ScriptedReply(status=500),
    ScriptedReply(headers_delay_s=2.0),
    ScriptedReply(first_token_delay_s=2.0),
], ids=["http-500", "slow-first-byte", "slow-first-token"])
async def test_brain_says_a_line_then_the_flow_answers(openai_fake, reply):
    openai_fake.replies.append(reply)
    failures = Failures()
    brain = llm_with_flow(failures)
    await collect(brain.greeting())

    began = time.monotonic()
    outputs = brain.respond(UserTurn("What are your opening hours?"))
    first = await anext(outputs)
    assert time.monotonic() - began < 0.6  # the caller hears something well inside 1.5 s
    rest = await collect(outputs)
    assert first == TextDelta("Sorry, I'm having some trouble on my end. ")
    assert "We open at nine." in "".join(o.text for o in rest if isinstance(o, TextDelta))
    assert [f.provider for f in failures] == ["openai"]
    await brain.close()


async def test_brain_retries_the_primary_after_a_transient_failure(openai_fake):
    openai_fake.replies.extend([ScriptedReply(status=503), ScriptedReply(text="Back again.")])
    failures = Failures()
    brain = llm_with_flow(failures)
    await collect(brain.respond(UserTurn("hours?")))
    outputs = await collect(brain.respond(UserTurn("Hello?")))
    assert [o.text for o in outputs] == ["Back ", "again."]
    await brain.close()


async def test_brain_without_a_key_stays_on_the_flow(settings):
    settings.OPENAI_API_KEY = ""
    failures = Failures()
    brain = llm_with_flow(failures)
    first = await collect(brain.respond(UserTurn("hello")))
    second = await collect(brain.respond(UserTurn("your hours?")))
    assert first[0].text.startswith("Sorry") and failures[0].permanent
    assert second == [TextDelta("We open at nine. ", uninterruptible=True), EndCall("completed")]  # no apology
    assert len(failures) == 1 and brain.name == "flow"
    await brain.close()


async def test_brain_with_no_secondary_ends_the_call_politely(openai_fake):
    openai_fake.replies.append(ScriptedReply(status=500))
    failures = Failures()
    brain = FallbackBrain(OpenAIBrain(), None, failures)
    outputs = await collect(brain.respond(UserTurn("hello")))
    assert outputs == [TextDelta(BRAIN_END_LINE), EndCall("provider-failure")]
    await brain.close()


async def test_a_mid_reply_failure_is_covered_too(openai_fake):
    openai_fake.replies.append(ScriptedReply(text="Let me think about that for you", drop_after_chunks=3))
    failures = Failures()
    # A dropped connection, not a stall: a deadline far from the reply's timing, so a busy machine cannot turn the
    # first words' delay into a stall.
    brain = llm_with_flow(failures, first_output_s=3.0)
    outputs = await collect(brain.respond(UserTurn("hours")))
    texts = [o.text for o in outputs if isinstance(o, TextDelta)]
    assert texts[:2] == ["Let ", "me "] and "Sorry, I'm having some trouble on my end. " in texts
    assert len(failures) == 1
    await brain.close()


async def test_a_stall_in_the_middle_of_the_answer_is_covered_within_the_same_budget(openai_fake):
    # "Let me see" — then the stream stays open and silent, as a stalled model's does.
    openai_fake.replies.append(ScriptedReply(text="Let me see what we have.", stall_after_chunks=4))
    failures = Failures()
    brain = llm_with_flow(failures)  # first_output_s=0.4
    outputs = brain.respond(UserTurn("What are your opening hours?"))
    said = [await anext(outputs) for _ in range(3)]
    assert [o.text for o in said] == ["Let ", "me ", "see "]
    stalled_at = time.monotonic()
    line = await anext(outputs)
    assert line == TextDelta("Sorry, I'm having some trouble on my end. ")
    assert time.monotonic() - stalled_at < 0.4 + 0.3  # the stall budget, not the 5 s read timeout
    rest = await collect(outputs)
    assert "We open at nine." in "".join(o.text for o in rest if isinstance(o, TextDelta))
    assert [f.provider for f in failures] == ["openai"] and "stalled mid-reply" in str(failures[0])
    await brain.close()


class ToolBrain(Brain):
    """Says a word, then waits on a 'tool' for `work_s`, announcing it (StillWorking) as OpenAIBrain does."""

    name = "tool-brain"

    def __init__(self, work_s: float, announce: bool) -> None:
        self.state = BrainState(node="llm")
        self.work_s, self.announce = work_s, announce

    async def greeting(self):
        yield TextDelta("Hi!")

    async def respond(self, event):
        yield TextDelta("Checking. ")
        if self.announce:
            yield StillWorking(self.work_s + 1.0)
        await asyncio.sleep(self.work_s)
        if self.announce:
            yield StillWorking(0.0)
        yield TextDelta("Found it.")


@pytest.mark.parametrize("announce", [True, False], ids=["announced", "unannounced"])
async def test_a_tool_the_brain_announces_is_not_taken_for_a_stall(announce):
    failures = Failures()
    brain = FallbackBrain(ToolBrain(work_s=0.6, announce=announce), FlowBrain(FLOW, "Hi!"), failures,
                          first_output_s=0.4)
    outputs = await collect(brain.respond(UserTurn("Where is my order?")))
    assert not any(isinstance(o, StillWorking) for o in outputs)  # the guard's business only: not passed on
    texts = [o.text for o in outputs if isinstance(o, TextDelta)]
    if announce:
        assert texts == ["Checking. ", "Found it."] and not failures
    else:
        assert texts[:2] == ["Checking. ", "Sorry, I'm having some trouble on my end. "] and len(failures) == 1


class SlowBrain(Brain):
    """Answers after `delay_s` of nothing (a slow but healthy model)."""

    name = "slow-brain"

    def __init__(self, delay_s: float) -> None:
        self.state = BrainState(node="llm")
        self.delay_s = delay_s

    async def greeting(self):
        yield TextDelta("Hi!")

    async def respond(self, event):
        await asyncio.sleep(self.delay_s)
        yield TextDelta("We open at nine.")


async def test_a_caller_left_waiting_hears_a_filler_counted_from_when_they_stopped():
    failures = Failures()
    brain = FallbackBrain(SlowBrain(0.7), FlowBrain(FLOW, "Hi!"), failures, first_output_s=1.5,
                          filler_after_s=0.5)
    # The caller stopped 0.2 s ago (end of turn, transcript): the filler is due 0.3 s into the request.
    began = time.monotonic()
    outputs = brain.respond(UserTurn("What are your opening hours?", caller_stopped_at=began - 0.2))
    first = await anext(outputs)
    filler_after = time.monotonic() - began
    rest = await collect(outputs)
    assert first == TextDelta(BRAIN_FILLER_LINE)
    assert 0.25 <= filler_after < 0.6, filler_after
    # Not a failure: the model, slow but within its deadline, still answers, once.
    assert [o.text for o in rest if isinstance(o, TextDelta)] == ["We open at nine."] and not failures


async def test_a_quick_answer_gets_no_filler_and_a_turn_without_a_time_gets_none():
    failures = Failures()
    quick = FallbackBrain(SlowBrain(0.05), None, failures, first_output_s=1.0, filler_after_s=0.5)
    assert await collect(quick.respond(UserTurn("hi", caller_stopped_at=time.monotonic()))) == \
        [TextDelta("We open at nine.")]
    # No time the caller stopped (e.g. a key press): the old rule, the deadline alone.
    slow = FallbackBrain(SlowBrain(0.5), None, failures, first_output_s=1.0, filler_after_s=0.1)
    assert await collect(slow.respond(UserTurn("hi"))) == [TextDelta("We open at nine.")] and not failures


async def test_the_filler_waits_a_moment_for_the_model_even_after_a_slow_transcript():
    brain = FallbackBrain(SlowBrain(0.2), None, Failures(), first_output_s=1.0, filler_after_s=1.1)
    # The caller stopped 2 s ago (a very slow transcript): the model still gets FILLER_NOT_BEFORE_S to begin.
    outputs = await collect(brain.respond(UserTurn("hi", caller_stopped_at=time.monotonic() - 2.0)))
    assert outputs == [TextDelta("We open at nine.")]


async def test_a_model_that_never_answers_gets_the_filler_then_the_fallback_line(openai_fake):
    openai_fake.replies.append(ScriptedReply(first_token_delay_s=5.0))
    failures = Failures()
    brain = FallbackBrain(OpenAIBrain(greeting="Hi!", options={"first_token_timeout_s": 5.0}),
                          FlowBrain(FLOW, "Hi!"), failures, first_output_s=0.8, filler_after_s=0.3)
    await collect(brain.greeting())
    outputs = await collect(brain.respond(UserTurn("What are your opening hours?",
                                                   caller_stopped_at=time.monotonic())))
    texts = [o.text for o in outputs if isinstance(o, TextDelta)]
    assert texts[:2] == [BRAIN_FILLER_LINE, "Sorry, I'm having some trouble on my end. "], texts
    assert "We open at nine." in "".join(texts) and [f.provider for f in failures] == ["openai"]
    await brain.close()

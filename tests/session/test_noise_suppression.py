"""An agent's noise suppression reaches the call: the session loads the denoiser its settings name and the VAD and
STT hear the cleaned audio while the recording keeps what the caller sent; a denoiser that cannot load leaves the call
running, unsuppressed, with an event saying why."""

from __future__ import annotations

import asyncio

import numpy as np

from calls.pipeline.denoise import Denoiser, register
from calls.pipeline.denoise.deepfilter import DeepFilterDenoiser
from calls.providers.base import STTStream
from calls.session.settings import AgentSettings
from tests.session.helpers import RATE, Carrier, KeepingRecorder, ScriptBrain, line_from_the_start, until, voiced
from tests.session.test_call_session import session_with


class Quieter(Denoiser):
    """Halves every sample and counts frames: easy to recognise downstream."""

    name = "test-quieter"
    made: list[Quieter] = []

    def __init__(self, sample_rate: int) -> None:
        self.frames = 0
        self.closed = False
        Quieter.made.append(self)

    def process(self, frame: bytes) -> bytes:
        self.frames += 1
        return (np.frombuffer(frame, dtype="<i2") // 2).astype("<i2").tobytes()

    def close(self) -> None:
        self.closed = True


register(Quieter.name, Quieter)


class HearingSTT(STTStream):
    name = "hearing"

    def __init__(self, sample_rate, options=None, on_partial=None, on_hint=None):
        super().__init__(sample_rate, options, on_partial, on_hint)
        self.heard = bytearray()

    def send_audio(self, pcm: bytes) -> None:
        self.heard += pcm

    async def transcript(self) -> str:
        return ""

    def commit(self) -> None:
        pass


class Inbound:
    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.empty = True  # nothing for the session to store at the end (`recording.store`)

    def inbound(self, frame: bytes) -> None:
        self.frames.append(frame)


def test_the_stt_hears_the_cleaned_audio_and_the_recording_the_callers():
    async def scenario():
        recorder, stt, inbound = KeepingRecorder(), HearingSTT(RATE), Inbound()
        session = session_with(Carrier(), recorder, ScriptBrain(), stt=stt,
                               settings=AgentSettings(noise_suppression="test-quieter"))
        session.audio_recorder = inbound
        await session.start()
        await until(lambda: session.denoiser is not None)
        line_from_the_start(session)
        speech = voiced(400)
        session.on_audio(speech)
        await until(lambda: len(stt.heard) > 0)
        await session.stop()
        return session, stt, inbound, speech

    session, stt, inbound, speech = asyncio.run(scenario())
    quieter = Quieter.made[-1]
    assert quieter.frames == len(inbound.frames) > 0 and quieter.closed and session.denoiser is None
    assert b"".join(inbound.frames) == bytes(RATE * 2 // 10) + speech  # the recording: what the caller sent
    heard = np.frombuffer(bytes(stt.heard), dtype="<i2")
    loudest = int(np.abs(np.frombuffer(speech, dtype="<i2")).max())
    assert heard.size and np.abs(heard).max() <= loudest // 2 + 1  # the STT: the cleaned (halved) audio


def test_a_denoiser_that_cannot_load_leaves_the_call_unsuppressed_and_says_why():
    async def scenario():
        recorder, stt = KeepingRecorder(), HearingSTT(RATE)
        session = session_with(Carrier(), recorder, ScriptBrain(greeting="Hello."), stt=stt,
                               settings=AgentSettings(noise_suppression="no-such-denoiser"))
        await session.start()
        line_from_the_start(session)
        session.on_audio(voiced(100))
        await until(lambda: any(t.role == "agent" for t in recorder.turns))
        await session.stop()
        return session, recorder, stt

    session, recorder, stt = asyncio.run(scenario())
    assert session.denoiser is None and len(stt.heard) > 0
    (detail,) = [d for kind, d in recorder.events if kind == "noise_suppression_unavailable"]
    assert detail["name"] == "no-such-denoiser" and "unknown noise suppression" in detail["error"]


def test_the_agent_option_names_the_denoiser_and_it_is_off_by_default():
    from calls.models import Agent
    from calls.session.factory import agent_settings

    assert agent_settings(Agent()).noise_suppression == ""
    chosen = agent_settings(Agent(provider_options={"audio": {"noise_suppression": "deepfilternet",
                                                              "noise_suppression_options": {"atten_lim_db": 6}}}))
    assert chosen.noise_suppression == "deepfilternet" and chosen.noise_suppression_options == {"atten_lim_db": 6}


def test_the_real_denoiser_loads_in_a_session():
    async def scenario():
        session = session_with(Carrier(), KeepingRecorder(), ScriptBrain(), stt=HearingSTT(RATE),
                               settings=AgentSettings(noise_suppression="deepfilternet",
                                                      noise_suppression_options={"atten_lim_db": 6}))
        await session.start()
        line_from_the_start(session)
        loaded = session.denoiser
        session.on_audio(voiced(200))
        await session.stop()
        return loaded

    assert isinstance(asyncio.run(scenario()), DeepFilterDenoiser)

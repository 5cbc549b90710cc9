"""A speech-to-speech call reads no recognition hints at its start (its model hears the caller itself); when it falls
back to the cascaded providers, their STT takes the call's hints, read then (`realtime_factory._vocabulary`)."""

from __future__ import annotations

import asyncio
import time

import pytest

from calls.flows.demo import DEMO_FLOW
from calls.models import Agent, Call, Workspace
from calls.pipeline.ports import CallStart
from calls.session import realtime_factory
from calls.session.factory import hears_words
from calls.session.settings import AgentSettings
from voicebot.testing.in_process import HexSerializer, KeepingRecorder

pytestmark = pytest.mark.django_db(transaction=True)  # the hints are read on the DB thread, another connection


def realtime_call() -> Call:
    workspace = Workspace.objects.create(name="W", slug="w")
    agent = Agent.objects.create(workspace=workspace, name="Bright Smile Dental", flow=DEMO_FLOW,
                                 custom_vocabulary="Dr. Okafor\nInvisalign", llm_provider="openai-realtime",
                                 provider_options={"realtime": {"fallback_brain": "flow"}})
    return Call.objects.create(workspace=workspace, agent=agent, carrier="twilio", carrier_call_id="CA-s2s")


def cascade_of(call: Call):
    async def nothing(*_):
        return None

    session = realtime_factory.build_realtime_session(
        call, CallStart("twilio", "CA-s2s", "MZ1", 8000, "PCMU"), HexSerializer(), nothing, nothing, None,
        KeepingRecorder(), AgentSettings(), None, lambda *_: None, resumed=False)
    return asyncio.run(session._cascade_factory([], True))


def test_the_fallback_stt_takes_the_calls_vocabulary():
    call = realtime_call()
    assert not hears_words(call.agent)  # nothing read at the call's start
    cascade = cascade_of(call)
    assert cascade.stt.prompt.startswith("Dr. Okafor, Invisalign, Bright Smile Dental")  # the embedded Whisper


def test_without_the_database_the_fallback_goes_on_without_hints(monkeypatch):
    call = realtime_call()

    def broken(*_):
        raise ConnectionError("database gone")

    monkeypatch.setattr(realtime_factory, "call_vocabulary", broken)
    assert cascade_of(call).stt.prompt == ""


def test_a_slow_database_does_not_hold_up_the_fallback(monkeypatch):
    call = realtime_call()

    def slow(*args):
        time.sleep(1.0)
        return ["late"]

    monkeypatch.setattr(realtime_factory, "call_vocabulary", slow)
    monkeypatch.setattr(realtime_factory, "VOCABULARY_WAIT_S", 0.1)
    started = time.monotonic()
    assert cascade_of(call).stt.prompt == ""
    assert time.monotonic() - started < 0.9

"""Recognition hints: built from what the call knows, and heard by Whisper (the Deepgram side is in
tests/cloud/test_deepgram.py)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from calls.flows.demo import DEMO_FLOW, DEMO_KNOWLEDGE
from calls.models import Agent, Call, Workspace
from calls.providers.chains import build_providers
from calls.providers.stt.vocabulary import deepgram_params, split_custom_vocabulary, whisper_prompt
from calls.providers.stt.whisper_local import WhisperSTT
from calls.session.vocabulary import call_vocabulary, flow_terms, proper_names
from voicebot.testing.speech import caller_speech


@pytest.fixture
def dental(db):
    from knowledge.ingest import add_document

    workspace = Workspace.objects.create(name="W", slug="w")
    agent = Agent.objects.create(workspace=workspace, name="Bright Smile Dental", flow=DEMO_FLOW,
                                 custom_vocabulary="Dr. Okafor\nInvisalign, fluoride varnish")
    add_document(agent, DEMO_KNOWLEDGE.encode(), filename="practice.md", title="Practice information")
    call = Call.objects.create(workspace=workspace, agent=agent, carrier="twilio", carrier_call_id="CA1",
                               variables={"first_name": "Maria", "last_name": "Lopez", "plan": "gold"})
    return agent, call


def test_the_calls_vocabulary_comes_from_the_agent_caller_knowledge_and_flow_in_that_order(dental):
    agent, call = dental
    terms = call_vocabulary(agent, call)
    assert terms[:6] == ["Dr. Okafor", "Invisalign", "fluoride varnish", "Bright Smile Dental", "Maria", "Lopez"]
    assert "gold" not in terms  # a call variable that is not a name
    for word in ("Practice information", "Insurance and payment", "Delta Dental", "Cigna", "Harbor Street",
                 "appointment", "receptionist", "9 am"):
        assert word in terms
    assert terms.index("Cigna") < terms.index("appointment")  # knowledge before the flow's common words
    assert len(terms) == len({t.lower() for t in terms})  # no repeats


def test_proper_names_skip_sentence_and_heading_starts():
    text = "# Bright Smile Dental\nWe accept Delta Dental. Ask for Dr. Maria Lopez. Parking is behind the building."
    assert proper_names(text) == ["Delta Dental", "Dr. Maria Lopez"]


def test_flow_terms_are_route_keywords_and_choice_values():
    flow = {"global_routes": [{"keywords": ["operator"]}],
            "nodes": {"a": {"routes": [{"keywords": ["refill", "prescription"]}], "dtmf_choices": {"1": "tomorrow"}},
                      "b": {"choices": ["Aetna", "Cigna"]}}}
    assert flow_terms(flow) == ["tomorrow", "Aetna", "Cigna", "operator", "refill", "prescription"]


def test_each_recogniser_takes_a_short_form():
    terms = ["Bright Smile Dental", "cigna", "Cigna", " ", "Harbor Street"] + [f"term{i}" for i in range(80)]
    prompt = whisper_prompt(terms, max_words=8)
    assert prompt == "Bright Smile Dental, cigna, Harbor Street, term0, term1."  # 8 words
    assert len(deepgram_params(terms, "nova-3")["keyterm"]) == 50
    assert split_custom_vocabulary("Dr. Okafor\n\nInvisalign,  fluoride  varnish ,") == [
        "Dr. Okafor", "Invisalign", "fluoride varnish"]


def test_the_session_hands_the_vocabulary_to_both_recognisers():
    agent = SimpleNamespace(stt_provider="deepgram", llm_provider="flow", tts_provider="espeak", voice="en-us",
                            provider_options={"stt": {"model": "nova-3"}}, greeting="", flow={}, max_reprompts=2)
    providers = build_providers(agent, 8000, None, vocabulary=["Cigna", "Okafor"])
    assert providers.stt.primary.options == {"language": "en-US", "model": "nova-3", "vocabulary": ["Cigna", "Okafor"]}
    assert isinstance(providers.stt.secondary, WhisperSTT)
    assert providers.stt.secondary.prompt == "Cigna, Okafor."
    assert WhisperSTT(8000, {"vocabulary": ["Cigna"], "hints": False}).prompt == ""


def _transcribe(stt: WhisperSTT, pcm: bytes) -> str:
    async def run() -> str:
        await stt.start()
        for i in range(0, len(pcm), 320):
            stt.send_audio(pcm[i : i + 320])
        try:
            return await stt.transcript()
        finally:
            await stt.close()

    return asyncio.run(run())


def test_whisper_hears_the_calls_names_with_hints_that_it_misses_without():
    # An accented caller (Kokoro) through the phone's 8 kHz: tiny.en alone writes "signal" and "Harbor State" (on an
    # AVX2-only CPU, whose int8 kernels round differently, "signal" and "Harbor Street").
    pcm = caller_speech("My insurance is Cigna, and I am at 42 Harbor Street.", 8000, voice="kokoro-jf_alpha")
    hints = ["Bright Smile Dental", "Delta Dental", "Cigna", "Aetna", "Harbor Street"]
    plain = _transcribe(WhisperSTT(8000, {}), pcm)
    hinted = _transcribe(WhisperSTT(8000, {"vocabulary": hints}), pcm)
    assert "Cigna" not in plain, plain
    assert "Cigna" in hinted and "Harbor Street" in hinted
    assert "Aetna" not in hinted and "Delta" not in hinted  # hints are not echoed as words never said



def test_an_accented_wait_over_the_agent_is_heard_as_wait():
    """tiny.en writes Kokoro jf_alpha's "Wait." as "Wager." (an interruption then missed: one content word, no stop
    word); the judge model (the assembled Whisper base) hears the stop word."""
    from calls.pipeline.audio import get_codec
    from calls.session.lexicon import Lexicon

    english = Lexicon.for_language("en")
    ulaw = get_codec("PCMU", 8000)
    said = caller_speech("Wait.", 8000, voice="kokoro-jf_alpha", trim=True)
    pcm = ulaw.decode(ulaw.encode(b"\0" * 3200 + said + b"\0" * 6400))  # through the phone line
    heard = {}
    for judge in ("call", "base"):
        stt = WhisperSTT(8000, {"judge_model": judge})
        stt.expect(english.prompt)  # over the agent, as the session primes it
        heard[judge] = _transcribe(stt, pcm)
    assert english.hear(heard["base"]).stops == ("wait",), heard
    assert not english.hear(heard["call"]).stops, heard  # what tiny.en makes of it

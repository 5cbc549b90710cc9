"""The flow features on a real call path (ASGI media consumer, session, recorder) with fake speech providers:
the call records its flow version, an answer's knowledge sources are stored on the turn and exported, the
agent's flow version bumps on edits, hand-over finds agents of the same workspace only, and LLM agents get
`search_knowledge` only when they have documents."""

from __future__ import annotations

import asyncio
import json

import pytest

from calls import stream_tokens
from calls.export import call_as_dict
from calls.flows.brain import FlowBrain
from calls.flows.context import FlowContext
from calls.models import Agent, Call, Turn, Workspace
from calls.providers.base import CallContext, UserTurn
from calls.providers.llm.openai_brain import OpenAIBrain
from knowledge.ingest import add_document
from knowledge.models import TurnSource
from tests.scale.test_resume_session import open_stream, talk, until
from tests.test_media_consumer import fakes  # noqa: F401 (a fixture)
from voicebot.testing.vendors import start_in_thread

from .conftest import collect, said

pytestmark = pytest.mark.django_db(transaction=True)

FLOW = {
    "start": "ask",
    "nodes": {
        "ask": {"type": "ask", "text": "How can I help?", "routes": [
            {"intent": "bye", "keywords": ["bye"], "next": "bye"}], "fallback": "faq"},
        "faq": {"type": "answer", "not_found": "I don't know.", "next": "ask"},
        "bye": {"type": "end", "text": "Bye."},
    },
}  # fmt: skip
DOC = b"# Clinic\n\n## Parking\nThere is free parking behind the building.\n\n## Hours\nWe open at eight.\n"


@pytest.fixture
def workspace():
    return Workspace.objects.create(name="W", slug="w")


def test_a_call_records_its_flow_version_and_the_sources_of_its_answers(workspace, fakes):  # noqa: F811
    agent = Agent.objects.create(workspace=workspace, name="A", greeting="Hello.", flow=FLOW, stt_provider="scripted",
                                 tts_provider="tone", silence_timeout_s=30)
    agent.flow = {**FLOW, "name": "edited"}
    agent.save()
    assert agent.flow_version == 2
    add_document(agent, DOC, filename="clinic.md")
    token, nonce = stream_tokens.issue("CA1")
    call = Call.objects.create(workspace=workspace, agent=agent, carrier="twilio", carrier_call_id="CA1",
                               stream_nonce=nonce)
    fakes.script = ["Is there parking?"]

    async def go():
        comm, carrier = await open_stream(token)
        await talk(carrier, say=False)
        await talk(carrier)
        await until(lambda: _has_sources(call.pk))
        await comm.send_to(text_data=json.dumps({"event": "stop", "stop": {"callSid": "CA1"}}))
        await comm.wait(timeout=3)

    asyncio.run(go())
    call.refresh_from_db()
    assert call.flow_version == 2
    answer = Turn.objects.get(call=call, role="agent", text__contains="parking")
    source = TurnSource.objects.get(turn=answer)
    assert source.title == "clinic.md" and source.chunk.heading == "Clinic > Parking" and source.score > 0
    exported = call_as_dict(call)
    turn = next(t for t in exported["turns"] if t["index"] == answer.index)
    assert turn["sources"] == [{"document": "clinic.md", "document_id": source.document_id,
                                "chunk": source.chunk_id, "score": source.score}]
    assert exported["flow_version"] == 2
    assert all(t["sources"] == [] for t in exported["turns"] if t["index"] != answer.index)


async def _has_sources(call_pk: int) -> bool:
    from asgiref.sync import sync_to_async

    return await sync_to_async(TurnSource.objects.filter(turn__call_id=call_pk).exists)()


def test_flow_version_bumps_only_when_the_flow_changes(workspace):
    agent = Agent.objects.create(workspace=workspace, name="A", flow=FLOW)
    assert agent.flow_version == 1
    agent.greeting = "Hi"
    agent.save()
    agent.save(update_fields=["greeting"])
    assert Agent.objects.get(pk=agent.pk).flow_version == 1
    agent.flow = {**FLOW, "start": "faq"}
    agent.save(update_fields=["flow"])
    assert Agent.objects.get(pk=agent.pk).flow_version == 2


def test_handover_loads_an_agent_of_the_same_workspace(workspace):
    other_ws = Workspace.objects.create(name="X", slug="x")
    Agent.objects.create(workspace=other_ws, name="Billing", flow=FLOW, greeting="Wrong workspace.")
    Agent.objects.create(workspace=workspace, name="Billing", flow=FLOW, greeting="Billing here.")
    flow = {"start": "go", "nodes": {
        "go": {"type": "handover", "agent": "Billing", "text": "Passing you over.", "on_error": "sorry"},
        "sorry": {"type": "end", "text": "Nobody is free."}}}  # fmt: skip
    front = Agent.objects.create(workspace=workspace, name="Front", flow=flow)
    events: list = []

    async def go(agent):
        brain = FlowBrain(agent.flow)
        brain.attach(FlowContext.for_agent(agent, recorder=type("R", (), {"event": lambda s, k, d: events.append(d),
                                                                         "note_sources": None})()))
        text = said(await collect(brain.greeting()))
        return brain, text

    brain, text = asyncio.run(go(front))
    assert text == "Passing you over. Billing here. How can I help?"
    assert isinstance(brain.delegate, FlowBrain) and {"handover": "Billing"}.items() <= events[-1].items()
    Agent.objects.filter(workspace=workspace, name="Billing").delete()
    _, text = asyncio.run(go(front))
    assert text == "Passing you over. Nobody is free."


def test_llm_agents_get_search_knowledge_only_with_documents(workspace, settings):
    cloud = start_in_thread()  # the fake OpenAI in its own loop: this test runs its own with asyncio.run
    settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL = cloud.env["OPENAI_API_KEY"], cloud.env["OPENAI_BASE_URL"]
    agent = Agent.objects.create(workspace=workspace, name="L", llm_provider="openai", flow=FLOW)

    async def tools_offered() -> list[str]:
        brain = OpenAIBrain.for_agent(agent, None)
        brain.bind(CallContext(agent))
        await collect(brain.respond(UserTurn("hello")))
        await brain.close()
        return [t["function"]["name"] for t in cloud.cloud.openai.requests[-1]["tools"]]

    try:
        assert asyncio.run(tools_offered()) == ["end_call"]
        add_document(agent, DOC, filename="clinic.md")
        assert asyncio.run(tools_offered()) == ["end_call", "search_knowledge"]
    finally:
        cloud.stop()


def test_bind_call_gives_the_flow_the_calls_variables_and_checks_it_against_the_agent(workspace):
    flow = {"start": "hi", "nodes": {
        "hi": {"type": "say", "text": "Hi {name}, calling from {caller}.", "next": "chat"},
        "chat": {"type": "llm", "prompt": "Chat.", "fallback": "bye"},
        "bye": {"type": "end"}}}  # fmt: skip
    agent = Agent.objects.create(workspace=workspace, name="A", flow=flow)
    call = Call.objects.create(workspace=workspace, agent=agent, carrier="twilio", carrier_call_id="CA9",
                               from_number="+15551230000", variables={"name": "Ada"})
    brain = FlowBrain(flow)
    brain.bind(CallContext(agent, call))
    assert said(asyncio.run(collect(brain.greeting()))) == "Hi Ada, calling from +15551230000."
    assert brain.context.has_llm is False  # a flow agent without LLM options: the llm node's fallback ran

"""The realtime brain's parts alone: audio in and out, the truncate arithmetic, the server's events read
defensively, the tools, the session settings taken from the agent."""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace

import numpy as np
import pytest

from calls.pipeline.audio import ulaw_decode, ulaw_encode
from calls.providers.base import EndCall, Transfer
from calls.providers.realtime import events as ev
from calls.providers.realtime.audio import AudioBridge, heard_ms
from calls.providers.realtime.config import RealtimeConfig
from calls.providers.realtime.tools import RealtimeTools
from voicebot.testing.pcm import voiced
from voicebot.testing.vendors.tool_server import FakeToolServer

# ------------------------------------------------------------------ audio


def test_pcmu_calls_pass_the_carriers_bytes_to_the_model_unchanged():
    bridge = AudioBridge(8000, "PCMU")
    carrier_bytes = bytes(range(256)) * 2  # every μ-law code, as a carrier could send them
    pcm = ulaw_decode(carrier_bytes)  # what the serializer hands the session
    sent = base64.b64decode(bridge.to_model(pcm))
    # Byte for byte what came off the phone line (0x7f and 0xff both mean zero: G.711's two zeros)
    canon = bytes(0xFF if b == 0x7F else b for b in carrier_bytes)
    assert bytes(0xFF if b == 0x7F else b for b in sent) == canon
    assert bridge.format == {"type": "audio/pcmu"}


def test_model_audio_on_a_pcmu_call_is_played_as_sent():
    bridge = AudioBridge(8000, "PCMU")
    model = ulaw_encode(voiced(200))
    pcm = bridge.from_model(base64.b64encode(model).decode())
    assert len(pcm) == 2 * len(model)  # 8 kHz in, 8 kHz out: one sample per byte, no resampling
    assert ulaw_encode(pcm) == model


def test_other_streams_are_resampled_to_the_apis_24khz_pcm_and_back():
    bridge = AudioBridge(16000, "L16")
    assert bridge.format == {"type": "audio/pcm", "rate": 24000}
    sent = b"".join(base64.b64decode(bridge.to_model(voiced(20, 16000))) for _ in range(10))
    assert abs(len(sent) - 24000 * 2 * 200 // 1000) <= 24000 * 2 * 100 // 1000  # ~200 ms at 24 kHz, filter lag
    back = b"".join(bridge.from_model(base64.b64encode(np.zeros(480, "<i2").tobytes()).decode()) for _ in range(10))
    assert abs(len(back) - 16000 * 2 * 200 // 1000) <= 16000 * 2 * 100 // 1000


def test_bad_base64_from_the_model_is_a_value_error_not_audio():
    with pytest.raises(ValueError):
        AudioBridge(8000, "PCMU").from_model("not base64!!")


# ------------------------------------------------------------------ truncate arithmetic (8 kHz μ-law)


def test_truncate_carries_the_milliseconds_confirmed_marks_say_were_heard():
    bytes_per_ms = AudioBridge(8000, "PCMU").bytes_per_ms  # PCM16 at 8 kHz: 16 bytes a ms
    assert bytes_per_ms == 16
    # The model sent 1 s of μ-law (8000 bytes) = 16000 PCM bytes; marks confirmed 600 ms of it (9600 PCM bytes).
    assert heard_ms(9600, bytes_per_ms, received_ms=1000) == 600
    # A mark part-way through a 20 ms frame: whole ms only, rounded down (never claim more than was heard).
    assert heard_ms(9615, bytes_per_ms, received_ms=1000) == 600
    # Nothing heard yet: 0, which the API accepts.
    assert heard_ms(0, bytes_per_ms, received_ms=1000) == 0


def test_truncate_never_goes_past_the_audio_the_model_sent():
    assert heard_ms(16 * 1500, 16, received_ms=1200) == 1200
    assert heard_ms(16 * 1500, 16) == 1500


# ------------------------------------------------------------------ server events


def _raw(**event) -> str:
    return json.dumps(event)


def test_audio_deltas_and_transcripts_become_records():
    reader = ev.EventReader()
    delta = reader.read(_raw(type="response.output_audio.delta", response_id="r1", item_id="i1", output_index=0,
                             content_index=0, delta="AAAA", event_id="e1"))
    assert delta == ev.AudioDelta("r1", "i1", 0, "AAAA")
    words = reader.read(_raw(type="conversation.item.input_audio_transcription.completed", item_id="u1",
                             content_index=0, transcript="hello", event_id="e2", usage={}))
    assert words == ev.CallerTranscript("u1", "hello")
    done = reader.read(_raw(type="response.done", event_id="e3", response={
        "id": "r1", "status": "completed", "usage": {"input_tokens": 5}}))
    assert done == ev.ResponseDone("r1", "completed", {"input_tokens": 5})
    assert not reader.skipped


def test_unknown_and_malformed_events_are_counted_and_skipped():
    reader = ev.EventReader()
    bad = [
        "{not json",
        _raw(type="response.brand_new_thing"),
        _raw(type="response.output_audio.delta", response_id="r1"),  # no item, no delta
        _raw(type="response.output_audio.delta", response_id="r1", item_id="i1", content_index="0", delta="AA"),
        _raw(type="input_audio_buffer.speech_started", audio_start_ms=True, item_id="i"),  # a bool is no int
        _raw(type="response.done", response="done"),
        json.dumps([1, 2]),
    ]
    assert [reader.read(raw) for raw in bad] == [None] * len(bad)
    assert reader.skipped == {
        "not_json": 1, "unknown:response.brand_new_thing": 1, "malformed:response.output_audio.delta": 2,
        "malformed:input_audio_buffer.speech_started": 1, "malformed:response.done": 1, "malformed:no-type": 1}


def test_known_events_with_nothing_to_do_are_neither_records_nor_counted():
    reader = ev.EventReader()
    assert reader.read(_raw(type="session.updated", session={})) is None
    assert reader.read(_raw(type="rate_limits.updated", rate_limits=[])) is None
    assert not reader.skipped


def test_a_function_call_and_an_error_are_read():
    reader = ev.EventReader()
    call = reader.read(_raw(type="response.function_call_arguments.done", response_id="r", call_id="c", name="n",
                            arguments="{}", item_id="i", output_index=0, event_id="e"))
    assert call == ev.FunctionCall("r", "c", "n", "{}", "i")
    error = reader.read(_raw(type="error", event_id="e", error={"type": "invalid_request_error", "code": "x",
                                                                "message": "bad"}))
    assert error == ev.ServerError("bad", "x")


# ------------------------------------------------------------------ tools


@pytest.mark.asyncio
async def test_invalid_tool_arguments_get_an_error_result_not_a_crash():
    tools = RealtimeTools(RealtimeConfig())
    for arguments in ("{not json", "[1, 2]", '"text"'):
        result = await tools.run("end_call", arguments)
        assert result.action is None
        assert "invalid arguments" in json.loads(result.output)["error"]


@pytest.mark.asyncio
async def test_end_call_and_transfer_become_actions_and_unknown_tools_errors():
    tools = RealtimeTools(RealtimeConfig(transfer_targets={"sales": "+15550001111"}))
    end = await tools.run("end_call", '{"reason": "done"}')
    assert end.output == "ok" and end.action == EndCall("done")
    transfer = await tools.run("transfer_call", '{"destination": "sales", "summary": "wants a quote"}')
    assert transfer.action == Transfer("+15550001111", "wants a quote")
    wrong = await tools.run("transfer_call", '{"destination": "+1900"}')
    assert wrong.action is None and "unknown destination" in wrong.output
    assert "no tool named" in (await tools.run("launch", "{}")).output


@pytest.mark.asyncio
async def test_no_transfer_tool_without_destinations():
    names = [s["name"] for s in await RealtimeTools(RealtimeConfig()).schemas()]
    assert names == ["end_call"]
    assert (await RealtimeTools(RealtimeConfig()).run("transfer_call", '{"destination": "x"}')).action is None


@pytest.mark.asyncio
async def test_an_http_tool_is_signed_and_offered_in_the_realtime_flat_form():
    server = FakeToolServer(secret="s3cret", result={"status": "shipped"})
    await server.start()
    try:
        tools = RealtimeTools(RealtimeConfig(http_tools=[{
            "name": "order_status", "description": "Where is an order", "url": server.endpoint, "secret": "s3cret",
            "parameters": {"type": "object", "properties": {"order": {"type": "string"}}}}]))
        schemas = await tools.schemas()
        assert schemas[-1] == {"type": "function", "name": "order_status", "description": "Where is an order",
                               "parameters": {"type": "object", "properties": {"order": {"type": "string"}}}}
        result = await tools.run("order_status", '{"order": "A1"}')
        assert json.loads(result.output) == {"status": "shipped"}
        assert server.calls == [({"order": "A1"}, True)]
        await tools.close()
    finally:
        await server.stop()


# ------------------------------------------------------------------ session settings from the agent


def _agent(**fields):
    base = dict(provider_options={}, greeting="Hi {name}, this is Sam.", end_of_turn_silence_ms=400)
    return SimpleNamespace(**{**base, **fields})


def test_the_session_update_asks_for_mulaw_transcription_tools_and_the_agents_voice():
    config = RealtimeConfig.from_agent(_agent(provider_options={"realtime": {"voice": "cedar"},
                                                                "system_prompt": "You book tables."}))
    session = config.session({"type": "audio/pcmu"}, [{"type": "function", "name": "end_call"}])
    assert session["audio"]["input"]["format"] == session["audio"]["output"]["format"] == {"type": "audio/pcmu"}
    assert session["audio"]["output"]["voice"] == "cedar"
    assert session["audio"]["input"]["transcription"]["model"]
    assert session["audio"]["input"]["turn_detection"] == {
        "type": "server_vad", "create_response": True, "interrupt_response": False, "silence_duration_ms": 400}
    assert session["instructions"].startswith("You book tables.")
    assert session["tools"] == [{"type": "function", "name": "end_call"}]


def test_the_agents_own_prompt_field_wins_and_call_variables_fill_placeholders():
    agent = _agent(system_prompt="You help {name} with order {order}.",
                   provider_options={"system_prompt": "old prompt", "realtime": {"turn_detection": "ours"}})
    config = RealtimeConfig.from_agent(agent, {"name": "Ada", "order": 42})
    assert config.prompt == "You help Ada with order 42."
    assert config.greeting == "Hi Ada, this is Sam."
    assert config.session({"type": "audio/pcmu"}, [])["audio"]["input"]["turn_detection"] is None
    # A placeholder without a value stays as written.
    assert RealtimeConfig.from_agent(agent).greeting == "Hi {name}, this is Sam."


def test_an_unknown_turn_detection_is_a_clear_error():
    with pytest.raises(ValueError, match="turn_detection"):
        RealtimeConfig.from_agent(_agent(provider_options={"realtime": {"turn_detection": "psychic"}}))


@pytest.mark.django_db(transaction=True)
def test_the_agents_knowledge_base_is_offered_to_the_model_once_it_holds_documents_and_answers():
    import asyncio

    from calls.flows.demo import DEMO_KNOWLEDGE
    from calls.models import Agent, Workspace
    from calls.providers.base import CallContext
    from calls.providers.realtime.brain import RealtimeBrain
    from knowledge.ingest import add_document

    workspace = Workspace.objects.create(name="Dental", slug="dental-rt")
    agent = Agent.objects.create(workspace=workspace, name="Sam", llm_provider="openai-realtime")
    recorder = SimpleNamespace(sources=[])
    recorder.note_sources = recorder.sources.extend

    def bound() -> RealtimeBrain:
        brain = RealtimeBrain.for_agent(agent, None)
        brain.bind(CallContext(agent, None, recorder))
        return brain

    empty = bound()
    assert [s["name"] for s in asyncio.run(empty.tools.schemas())] == ["end_call"]  # no documents: no tool

    add_document(agent, DEMO_KNOWLEDGE.encode(), filename="practice.md", title="Practice information")
    brain = bound()
    offered = {s["name"]: s for s in asyncio.run(brain.tools.schemas())}
    assert offered["search_knowledge"]["type"] == "function"  # the Realtime API's flat form
    assert offered["search_knowledge"]["parameters"]["required"] == ["query"]
    result = asyncio.run(brain.tools.run("search_knowledge", '{"query": "opening hours"}'))
    assert json.loads(result.output)["results"] and result.action is None
    assert recorder.sources  # the turn's sources are noted, as for the LLM brain

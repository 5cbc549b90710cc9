"""Spans and metrics from an end-to-end call: the real ASGI app, a real-time phone line, the cloud providers' real
SDKs against the local fakes (tests/faults/cloud_call.py), the OpenTelemetry SDK with its in-memory exporter and the
process's Prometheus registry."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from prometheus_client import REGISTRY

from calls.providers import registry
from calls.telemetry import tracing
from calls.telemetry.call import CallTelemetry
from tests.faults.cloud_call import ANSWER, SAID, cloud_agent, new_call, run_call
from tests.pipeline_fakes import ScriptedSTT

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture(autouse=True)
def scripted_backup_stt(monkeypatch):
    """The STT behind Deepgram (the caller's "speech" is a tone no recogniser can read)."""
    monkeypatch.setitem(registry.STT, "scripted", "tests.pipeline_fakes.ScriptedSTT")
    ScriptedSTT.script = list(SAID)


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use(provider)
    yield exporter
    tracing.use(None)
    provider.shutdown()


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_call_makes_a_call_span_turn_spans_and_a_span_per_stage(settings, spans):
    agent = cloud_agent()
    call, token = new_call(agent)
    asyncio.run(run_call(settings, token, turns=2))

    finished = spans.get_finished_spans()
    (call_span,) = [s for s in finished if s.name == "call"]
    assert call_span.attributes["voicebot.call_id"] == call.carrier_call_id
    assert call_span.attributes["voicebot.agent"] == agent.name
    assert call_span.attributes["voicebot.end_reason"] == "caller-hung-up"
    turns = [s for s in finished if s.name == "turn"]
    # Both caller turns were answered (the greeting has no caller turn, so no timer and no turn span).
    assert len(turns) == 2
    assert all(t.parent.span_id == call_span.context.span_id for t in turns)
    assert all(t.context.trace_id == call_span.context.trace_id for t in turns)
    for turn in turns:
        stages = {s.name: s for s in finished if s.parent is not None and s.parent.span_id == turn.context.span_id}
        assert set(stages) == {"endpointing", "stt", "llm", "tts", "first_frame"}, set(stages)
        for stage in stages.values():
            # Inside the turn, in order of time, and never negative.
            assert turn.start_time <= stage.start_time <= stage.end_time <= turn.end_time, stage.name
        assert stages["endpointing"].end_time <= stages["stt"].end_time <= stages["llm"].start_time
        llm = stages["llm"].attributes
        assert llm["voicebot.provider"] == "openai" and llm["gen_ai.request.model"] == "gpt-4o-mini"
        assert llm["gen_ai.usage.input_tokens"] > 0 and llm["gen_ai.usage.output_tokens"] > 0
        assert stages["tts"].attributes["voicebot.provider"] == "elevenlabs"
        assert stages["stt"].attributes["voicebot.call_id"] == call.carrier_call_id
    assert list(call.turns.filter(role="agent").values_list("text", flat=True))[1:] == [ANSWER, ANSWER]


def test_a_call_feeds_the_metrics(settings):
    before = {
        "e2e": sample("voicebot_turn_latency_seconds_count", stage="end_to_end", provider=""),
        "llm": sample("voicebot_turn_latency_seconds_count", stage="brain", provider="openai"),
        "admitted": sample("voicebot_calls_admitted_total", where="media"),
        "ended": sample("voicebot_calls_ended_total", reason="caller-hung-up"),
        "live": sample("voicebot_live_calls"),
    }
    agent = cloud_agent()
    _, token = new_call(agent)
    asyncio.run(run_call(settings, token, turns=2))

    assert sample("voicebot_turn_latency_seconds_count", stage="end_to_end", provider="") == before["e2e"] + 2
    assert sample("voicebot_turn_latency_seconds_count", stage="brain", provider="openai") == before["llm"] + 2
    # The latencies observed are real ones: some time, not zero, and under the dead-air budget of this line.
    total = sample("voicebot_turn_latency_seconds_sum", stage="end_to_end", provider="")
    assert total > 0
    assert sample("voicebot_calls_admitted_total", where="media") == before["admitted"] + 1
    assert sample("voicebot_calls_ended_total", reason="caller-hung-up") == before["ended"] + 1
    assert sample("voicebot_live_calls") == before["live"]  # the call counted while live, and no longer


def test_without_otel_environment_tracing_stays_off_and_no_span_is_made(monkeypatch):
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    assert tracing.configure() is False and not tracing.enabled()
    assert CallTelemetry("CA-off", agent="A").span is None
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert tracing.configure() is False


EXPORTING = """
import django, os
django.setup()
from calls.telemetry import tracing
from calls.telemetry.call import CallTelemetry
from calls.telemetry.call import CallTelemetry
from opentelemetry import trace
assert tracing.configure()
t = CallTelemetry("CA-otlp", agent="Support", carrier="twilio")
t.call_updated({"end_reason": "agent-ended"})
t.end()
trace.get_tracer_provider().shutdown()  # flushes the batch
"""


def test_with_an_otlp_endpoint_in_the_environment_spans_are_exported_over_otlp_http(tmp_path):
    """Configured only by OTEL_* variables: a process with OTEL_EXPORTER_OTLP_ENDPOINT posts its spans there."""
    received = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, self.headers.get("Content-Type"), body))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()
            self.wfile.write(ExportTraceServiceResponse().SerializeToString())

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{server.server_port}",
               "OTEL_SERVICE_NAME": "voicebot-test", "VOICEBOT_VAR_DIR": str(tmp_path)}
        done = subprocess.run([sys.executable, "-c", EXPORTING], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    finally:
        server.shutdown()
    (path, content_type, body), = received
    assert path == "/v1/traces" and content_type == "application/x-protobuf"
    request = ExportTraceServiceRequest.FromString(body)
    (resource_spans,) = request.resource_spans
    resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert resource["service.name"] == "voicebot-test"
    (span,) = [s for scope in resource_spans.scope_spans for s in scope.spans]
    attributes = {a.key: a.value.string_value for a in span.attributes}
    assert span.name == "call" and attributes["voicebot.call_id"] == "CA-otlp"
    assert attributes["voicebot.agent"] == "Support" and attributes["voicebot.end_reason"] == "agent-ended"

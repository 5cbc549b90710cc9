"""OpenTelemetry traces, configured only by the standard OTEL_* environment variables.

With `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) set, spans go to that collector over
OTLP/HTTP in batches (the exporter reads the rest: headers, timeout, protocol paths; the resource reads
`OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`); `OTEL_SDK_DISABLED=true` or no endpoint: no provider is set up
and the call code creates no span at all (`enabled()` is False), so tracing off costs one boolean per turn.
"""

from __future__ import annotations

import logging
import os

from opentelemetry import trace

log = logging.getLogger("calls.telemetry")

_tracer: trace.Tracer | None = None


def configure() -> bool:
    """Set up the OTLP exporter if the environment asks for one (once per process); True if tracing is on."""
    global _tracer
    if _tracer is not None:
        return True
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if not (os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")):
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import OTELResourceDetector, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or "voicebot"})
    resource = resource.merge(OTELResourceDetector().detect())
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _tracer = provider.get_tracer("voicebot")
    log.info("tracing on: OTLP spans to %s", os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
             or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))
    return True


def use(provider) -> None:
    """Send spans to `provider` (tests: a TracerProvider with an in-memory exporter); None turns tracing off."""
    global _tracer
    _tracer = provider.get_tracer("voicebot") if provider is not None else None


def enabled() -> bool:
    return _tracer is not None


def tracer() -> trace.Tracer | None:
    return _tracer

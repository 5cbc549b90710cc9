"""One call's metrics and trace, fed by its recorder with each stored turn and event (never from the frame path).

The trace: a `call` span from the session's start to its final flush; for each agent turn a `turn` span (from the
caller's last voiced frame to the end of the reply) with a child span per stage that happened — `endpointing`,
`stt`, `llm` (model and tokens when the brain reports them), `tts`, `first_frame` — placed at the times the turn's
TurnTimer took. Spans are made after the fact with explicit times, so a stage costs nothing while it runs.
"""

from __future__ import annotations

import time

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from . import metrics, tracing

#: (span name, start mark, end mark) of each stage of a turn, as TurnTimer names them.
STAGES = (
    ("endpointing", "last_voiced", "endpoint"),
    ("stt", "stt_started", "stt_final"),
    ("llm", "brain_started", "brain_first_text"),
    ("tts", "tts_started", "tts_first_audio"),
    ("first_frame", "tts_first_audio", "first_frame_sent"),
)
#: TurnMetrics field -> (histogram stage, provider stage in metrics["providers"]).
LATENCIES = (
    ("endpoint_ms", "endpoint", None),
    ("stt_ms", "stt", "stt"),
    ("brain_ms", "brain", "brain"),
    ("tts_ms", "tts", "tts"),
    ("stt_final_ms", "stt_final", "stt"),
    ("first_frame_sent_ms", "end_to_end", None),
)


def _wall_ns(monotonic_s: float, offset_ns: int) -> int:
    return int(monotonic_s * 1e9) + offset_ns


class CallTelemetry:
    def __init__(self, call_id: str, *, call_pk: int | None = None, agent: str = "", agent_id: int | None = None,
                 carrier: str = "", providers: dict | None = None) -> None:
        self.call_id = call_id
        self.providers = providers or {}  # stage -> configured provider name (the fallback when a turn has none)
        self.end_reason = ""
        self.status = ""
        self._ended = False
        self.attributes = {"voicebot.call_id": call_id, "voicebot.agent": agent, "voicebot.carrier": carrier}
        if call_pk is not None:
            self.attributes["voicebot.call_pk"] = call_pk
        if agent_id is not None:
            self.attributes["voicebot.agent_id"] = agent_id
        tracer = tracing.tracer()
        self.span = tracer.start_span("call", attributes=self.attributes) if tracer is not None else None

    # ---------------------------------------------------------------- fed by the recorder

    def turn(self, record) -> None:
        """A turn was recorded (a TurnRecord): latency histograms and, for agent turns with a timer, spans."""
        m = record.metrics
        if record.role != "agent" or not m:
            return
        served = m.get("providers") or {}
        for field, stage, provider_stage in LATENCIES:
            ms = m.get(field)
            if ms is None:
                continue
            provider = ""
            if provider_stage is not None:
                provider = (served.get(provider_stage) or {}).get("provider") or self.providers.get(provider_stage, "")
            metrics.TURN_LATENCY.labels(stage, provider).observe(ms / 1000)
        timer = getattr(record, "timer", None)
        if self.span is not None and timer is not None:
            self._turn_spans(record, timer, served)

    def event(self, kind: str, detail: dict) -> None:
        if kind == "barge_in":
            metrics.BARGE_INS.labels("true").inc()
        elif kind == "backchannel":
            metrics.BARGE_INS.labels("false").inc()
        elif kind == "provider_failure":
            stage, provider = str(detail.get("stage", "")), str(detail.get("provider", ""))
            metrics.PROVIDER_ERRORS.labels(stage, provider).inc()
            if detail.get("fallback"):
                metrics.FALLBACKS.labels(stage, provider).inc()
        if self.span is not None and kind in ("barge_in", "backchannel", "provider_failure", "action_failed",
                                              "unanswered", "error", "transfer", "shutdown"):
            self.span.add_event(kind, {k: v for k, v in detail.items() if isinstance(v, str | int | float | bool)})

    def call_updated(self, fields: dict) -> None:
        if fields.get("end_reason"):
            self.end_reason = fields["end_reason"]
        if fields.get("status"):
            self.status = fields["status"]

    def end(self) -> None:
        """The call's records are all written (the recorder's final flush)."""
        if self._ended:
            return
        self._ended = True
        metrics.CALLS_ENDED.labels(self.end_reason or "unknown").inc()
        if self.span is not None:
            self.span.set_attribute("voicebot.end_reason", self.end_reason)
            if self.status == "failed":
                self.span.set_status(Status(StatusCode.ERROR, self.end_reason))
            self.span.end()

    # ---------------------------------------------------------------- spans

    def _turn_spans(self, record, timer, served: dict) -> None:
        tracer = tracing.tracer()
        if tracer is None:
            return
        offset = time.time_ns() - time.monotonic_ns()
        end_ns = time.time_ns()
        parent = trace.set_span_in_context(self.span)
        attrs = {**self.attributes, "voicebot.turn.interrupted": bool(record.interrupted),
                 "voicebot.turn.node": record.node or ""}
        turn = tracer.start_span("turn", context=parent, attributes=attrs,
                                 start_time=_wall_ns(timer.last_voiced, offset))
        inside = trace.set_span_in_context(turn)
        for name, start_mark, end_mark in STAGES:
            start, end = getattr(timer, start_mark), getattr(timer, end_mark)
            if start is None or end is None:
                continue
            stage_attrs = {"voicebot.call_id": self.call_id}
            provider_stage = {"stt": "stt", "llm": "brain", "tts": "tts", "first_frame": "tts"}.get(name)
            if provider_stage:
                got = served.get(provider_stage) or {}
                stage_attrs["voicebot.provider"] = got.get("provider") or self.providers.get(provider_stage, "")
                if "ttfb_ms" in got:
                    stage_attrs["voicebot.ttfb_ms"] = got["ttfb_ms"]
            if name == "llm":
                stage_attrs.update(_llm_attributes(getattr(timer, "llm", None) or {}))
            span = tracer.start_span(name, context=inside, attributes=stage_attrs, start_time=_wall_ns(start, offset))
            span.end(end_time=max(_wall_ns(end, offset), _wall_ns(start, offset)))
        turn.end(end_time=end_ns)


def _llm_attributes(llm: dict) -> dict:
    """The GenAI semantic-convention attributes of the brain's request (model, token usage) when it reports them."""
    out = {}
    if llm.get("model"):
        out["gen_ai.request.model"] = str(llm["model"])
    usage = llm.get("usage") or {}
    for key, attr in (("prompt_tokens", "gen_ai.usage.input_tokens"),
                      ("completion_tokens", "gen_ai.usage.output_tokens"),
                      ("input_tokens", "gen_ai.usage.input_tokens"),
                      ("output_tokens", "gen_ai.usage.output_tokens")):
        if isinstance(usage.get(key), int):
            out[attr] = usage[key]
    return out

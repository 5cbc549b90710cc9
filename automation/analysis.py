"""Post-call analysis: the agent's analysis fields, a summary and whether the call succeeded, as structured data.

With an LLM (the agent uses the OpenAI brain and a key is set) the transcript goes to the model with a JSON schema
(`response_format` json_schema, strict): each field typed as the agent declared it, nullable, so the model can say
"not mentioned" instead of inventing. Streamed like every other request we make, so OpenAI-compatible servers
(llama.cpp's included) serve it too. What comes back is checked against the declared types again: a value of the
wrong type, an enum value outside its choices or a date that is no date becomes null and is listed in `invalid`.

Without an LLM (or when it fails), the fields come from the flow's slots where the names match, the summary is the
call's summary, and `success` is unknown (None); `source` says which way it was filled, `error` why the LLM was not.

    Call.analysis = {"fields": {...}, "summary": str, "success": bool | None, "source": "llm" | "slots",
                     "invalid": [names], "error"?: str, "model"?: str, "analyzed_at": iso}
"""

from __future__ import annotations

import datetime as dt
import json
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from calls.models import Agent, Call, CallEvent, Turn

from .events import CALL_ANALYZED
from .signals import webhook_due
from .summary import TRANSCRIPT_BUDGET_CHARS, spoken
from .usage import add_analysis_usage

log = logging.getLogger("automation.analysis")

LLM_TIMEOUT_S = 20.0
MAX_TOKENS = 600
PROMPT = (
    "You analyse a finished phone call between a caller and an AI agent, for the business that runs the agent. "
    "Fill every field from what was actually said; use null when the call does not say. Dates as YYYY-MM-DD. "
    "Then write a summary and decide whether the call succeeded."
)
DEFAULT_SUMMARY = "Two or three sentences: what the caller wanted, what was agreed or done, anything left open."
_JSON_TYPES = {"text": "string", "number": "number", "boolean": "boolean", "enum": "string", "date": "string"}


def wanted(agent: Agent | None) -> bool:
    """Whether the agent asked for any analysis (fields, a success criterion or a summary prompt)."""
    return agent is not None and bool(agent.analysis_schema or agent.success_criterion or agent.summary_prompt)


def uses_llm(agent: Agent) -> bool:
    return agent.llm_provider == "openai" and bool(settings.OPENAI_API_KEY)


def json_schema(agent: Agent) -> dict:
    """The response schema for the model: strict mode wants every property required and no others."""
    fields = {}
    for field in agent.analysis_schema:
        prop: dict = {"type": [_JSON_TYPES[field["type"]], "null"]}
        if field.get("description"):
            prop["description"] = field["description"]
        if field["type"] == "enum":
            prop["enum"] = [*field["choices"], None]
        if field["type"] == "date":
            prop["description"] = (prop.get("description", "") + " (YYYY-MM-DD)").strip()
        fields[field["name"]] = prop
    return {
        "type": "object",
        "properties": {
            "fields": {"type": "object", "properties": fields, "required": list(fields),
                       "additionalProperties": False},
            "summary": {"type": "string"},
            "success": {"type": ["boolean", "null"]},
        },
        "required": ["fields", "summary", "success"],
        "additionalProperties": False,
    }


def coerce(field: dict, value):
    """`value` as the field's declared type, or ValueError. None stays None (not said in the call)."""
    if value is None:
        return None
    kind = field["type"]
    if kind == "text":
        return str(value)
    if kind == "number":
        if isinstance(value, bool):
            raise ValueError("a boolean is no number")
        if isinstance(value, int):
            return value
        number = float(value)
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError("not a finite number")
        return int(number) if number.is_integer() else number
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if str(value).strip().lower() in ("yes", "true"):
            return True
        if str(value).strip().lower() in ("no", "false"):
            return False
        raise ValueError("not a boolean")
    if kind == "enum":
        if value not in field["choices"]:
            raise ValueError("not one of the choices")
        return value
    if kind == "date":
        return dt.date.fromisoformat(str(value)).isoformat()
    raise ValueError(f"unknown type {kind}")


def checked_fields(agent: Agent, raw: dict) -> tuple[dict, list[str]]:
    values, invalid = {}, []
    for field in agent.analysis_schema:
        try:
            values[field["name"]] = coerce(field, raw.get(field["name"]))
        except (ValueError, TypeError):
            values[field["name"]] = None
            invalid.append(field["name"])
    return values, invalid


def from_slots(call: Call, error: str = "") -> dict:
    """The fields from the flow's slots (brain variables) whose names match; no LLM, so success is unknown."""
    agent = call.agent
    variables = {**(call.variables or {}), **((call.brain_state or {}).get("variables") or {})}
    fields, invalid = checked_fields(agent, {f["name"]: variables.get(f["name"]) for f in agent.analysis_schema})
    result = {"fields": fields, "summary": call.summary, "success": None, "source": "slots", "invalid": invalid}
    if error:
        result["error"] = error[:300]
    return result


def llm_analysis(call: Call, turns: list[Turn]) -> tuple[dict, dict]:
    """(analysis, usage) from the model. Raises on any failure (the caller falls back to the slots)."""
    import openai

    agent = call.agent
    options = (agent.provider_options or {}).get("llm") or {}
    base = options.get("base_url") or agent.llm_base_url or settings.OPENAI_BASE_URL or None
    model = options.get("analysis_model") or options.get("model") or agent.llm_model or "gpt-4o-mini"
    client = openai.OpenAI(api_key=settings.OPENAI_API_KEY, base_url=base, timeout=LLM_TIMEOUT_S, max_retries=0)
    transcript = "\n".join(f"{t.role}: {spoken(t)}" for t in turns if spoken(t))[-TRANSCRIPT_BUDGET_CHARS:]
    instructions = [PROMPT, f"Summary: {agent.summary_prompt or DEFAULT_SUMMARY}"]
    instructions.append(f"Success means: {agent.success_criterion}" if agent.success_criterion
                        else "Success: null (no criterion was set).")
    instructions.append("Fields:\n" + "\n".join(
        f"- {f['name']} ({f['type']}{': ' + ', '.join(f['choices']) if f['type'] == 'enum' else ''}): "
        f"{f.get('description', '')}" for f in agent.analysis_schema))
    stream = client.chat.completions.create(
        model=model, max_tokens=MAX_TOKENS, stream=True, stream_options={"include_usage": True},
        messages=[{"role": "system", "content": "\n\n".join(instructions)},
                  {"role": "user", "content": transcript or "(no speech)"}],
        response_format={"type": "json_schema",
                         "json_schema": {"name": "call_analysis", "strict": True, "schema": json_schema(agent)}},
    )
    usage: dict = {}
    parts = []
    with stream:
        for chunk in stream:
            if chunk.usage is not None:
                usage = {"prompt_tokens": chunk.usage.prompt_tokens, "completion_tokens": chunk.usage.completion_tokens}
            if chunk.choices and chunk.choices[0].delta.content:
                parts.append(chunk.choices[0].delta.content)
    data = json.loads("".join(parts))
    if not isinstance(data, dict) or not isinstance(data.get("fields", {}), dict):
        raise ValueError("the model's answer is not the analysis object")
    fields, invalid = checked_fields(agent, data.get("fields") or {})
    success = data.get("success")
    summary = data.get("summary")
    return {"fields": fields, "summary": str(summary).strip() if summary else call.summary,
            "success": success if isinstance(success, bool) and agent.success_criterion else None,
            "source": "llm", "model": model, "invalid": invalid}, usage


def analyze(call: Call, turns: list[Turn]) -> tuple[dict, dict]:
    """(analysis, LLM usage) of a finished call: by the model when there is one, else (or if it fails) the slots."""
    agent = call.agent
    if uses_llm(agent):
        try:
            return llm_analysis(call, turns)
        except Exception as exc:  # any SDK, network or JSON failure: the slots still give what they can
            log.warning("call %s: LLM analysis failed, using the flow's slots: %r", call.pk, exc)
            CallEvent.objects.create(call=call, workspace_id=call.workspace_id, kind=CallEvent.Kind.ANALYSIS,
                                     detail={"error": f"{type(exc).__name__}: {exc}"[:300], "fallback": "slots"})
            return from_slots(call, f"{type(exc).__name__}: {exc}"), {}
    return from_slots(call), {}


def stamp(analysis: dict) -> dict:
    return {**analysis, "analyzed_at": timezone.now().isoformat()}


def run(call_id: int) -> str:
    """Analyse a finished call once (a second run finds it done), store it, then send call.analyzed."""
    call = Call.objects.select_related("agent").filter(pk=call_id).first()
    if call is None:
        return "gone"
    if call.status in (Call.Status.RINGING, Call.Status.IN_PROGRESS):
        return "unfinished"
    if not wanted(call.agent):
        return "not wanted"
    if (call.analysis or {}).get("analyzed_at"):
        return "done already"
    turns = list(call.turns.order_by("index"))
    analysis, tokens = analyze(call, turns)
    with transaction.atomic():
        call.analysis = stamp(analysis)
        Call.objects.filter(pk=call.pk).update(analysis=call.analysis)
        if tokens:
            add_analysis_usage(call, tokens, analysis.get("model", ""))
        if call.agent.post_call_webhook_url:
            transaction.on_commit(lambda: webhook_due.send(sender=Call, call_id=call.pk, event=CALL_ANALYZED))
    return analysis["source"]

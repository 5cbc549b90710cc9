"""The "call starting" request: ask the customer's server for this call's variables (or overrides), while the
caller waits — so with a tight timeout, and a fallback to the agent's defaults.

    POST <Agent.call_start_webhook_url>        X-Voicebot-Signature: t=...,v1=... (calls.signing)
    {"event": "call.starting", "call": {"id", "direction", "from", "to", "carrier", "agent_id", "agent_name"},
     "variables": {the call's variables so far}}

    200 {"variables": {"customer_name": "Ada", ...}, "overrides": {"greeting": "...", "system_prompt": "...",
         "llm_model": "...", "llm_temperature": 0.3, "voice": "..."}}      (both optional)

Variables are texts, numbers or booleans under names of letters, digits and _; the built-ins cannot be replaced.
Anything else — a timeout, a refused connection, a non-2xx, a body that is not that JSON — leaves the call on its
defaults and records a `call_start_webhook` CallEvent saying why. Asked once per call (not again when a dropped
stream is resumed): the answer is stored in `Call.variables`.
"""

from __future__ import annotations

import json
import logging
import time

import httpx
from django.conf import settings

from .call_variables import OVERRIDABLE, OVERRIDES_KEY
from .db import run_db
from .models import Call, CallEvent
from .signals import call_started
from .signing import SIGNATURE_HEADER, signature
from .templating import BUILTIN_VARIABLES, NAME

log = logging.getLogger("calls.call_start")

EVENT = "call.starting"
MAX_BODY_BYTES = 64 * 1024
MAX_VALUE_CHARS = 2000


class BadAnswer(ValueError):
    """The server answered, but not with what we can use."""


async def start_call(call: Call) -> None:
    """A call's first stream started: its variables from the customer's server, then the `call_started` signal."""
    await ask_call_start(call)
    if call.agent is not None and call.agent.post_call_webhook_url:
        await run_db(_announce, call.pk)


def _announce(call_id: int) -> None:
    call_started.send(sender=Call, call_id=call_id)


async def ask_call_start(call: Call) -> None:
    """Fill `call.variables` (in memory and stored) from the agent's call-starting webhook, if it has one."""
    agent = call.agent
    if agent is None or not agent.call_start_webhook_url:
        return
    started = time.monotonic()
    try:
        variables, overrides = parse_answer(await _post(call))
    except (httpx.HTTPError, BadAnswer) as exc:
        reason = "timeout" if isinstance(exc, httpx.TimeoutException) else "error"
        detail = {"outcome": reason, "error": f"{type(exc).__name__}: {exc}"[:300],
                  "ms": round((time.monotonic() - started) * 1000), "fallback": "agent defaults"}
        log.warning("call %s: call-starting webhook failed, using defaults: %s", call.pk, detail["error"])
        await run_db(_record, call, None, detail)
        return
    merged = {**(call.variables or {}), **variables}
    if overrides:
        merged[OVERRIDES_KEY] = overrides
    call.variables = merged
    detail = {"outcome": "ok", "variables": sorted(variables), "overrides": sorted(overrides),
              "ms": round((time.monotonic() - started) * 1000)}
    await run_db(_record, call, merged, detail)


async def _post(call: Call) -> bytes:
    agent = call.agent
    body = json.dumps({
        "event": EVENT,
        "call": {"id": call.pk, "direction": call.direction, "from": call.from_number, "to": call.to_number,
                 "carrier": call.carrier, "agent_id": agent.pk, "agent_name": agent.name},
        "variables": {k: v for k, v in (call.variables or {}).items() if not str(k).startswith("_")},
    }, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "voicebot-webhooks/1"}
    if agent.call_start_webhook_secret:
        headers[SIGNATURE_HEADER] = signature(agent.call_start_webhook_secret, body, int(time.time()))
    timeout = float(settings.CALL_START_WEBHOOK_TIMEOUT_S)
    async with httpx.AsyncClient(timeout=httpx.Timeout(timeout), follow_redirects=False) as client:
        response = await client.post(agent.call_start_webhook_url, content=body, headers=headers)
    if not 200 <= response.status_code < 300:
        raise BadAnswer(f"HTTP {response.status_code}")
    if len(response.content) > MAX_BODY_BYTES:
        raise BadAnswer(f"answer larger than {MAX_BODY_BYTES} bytes")
    return response.content


def parse_answer(raw: bytes) -> tuple[dict, dict]:
    """(variables, overrides) from the server's answer, or BadAnswer saying what is wrong with it."""
    if not raw.strip():
        return {}, {}  # 200/204 with nothing: nothing to change
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise BadAnswer(f"not JSON: {exc}") from None
    if not isinstance(data, dict) or set(data) - {"variables", "overrides"}:
        raise BadAnswer('expected an object with "variables" and/or "overrides"')
    variables = data.get("variables") or {}
    overrides = data.get("overrides") or {}
    if not isinstance(variables, dict) or not isinstance(overrides, dict):
        raise BadAnswer('"variables" and "overrides" must be objects')
    for name, value in variables.items():
        if not NAME.match(name) or name in BUILTIN_VARIABLES:
            raise BadAnswer(f"variable name {name!r} is not allowed")
        if isinstance(value, dict | list) or value is None or len(str(value)) > MAX_VALUE_CHARS:
            raise BadAnswer(f"variable {name!r}: a text, number or boolean of at most {MAX_VALUE_CHARS} characters")
    for name, value in overrides.items():
        kind = OVERRIDABLE.get(name)
        if kind is None:
            raise BadAnswer(f"override {name!r} is not allowed; use {', '.join(OVERRIDABLE)}")
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not (number if kind is float else isinstance(value, kind)):
            raise BadAnswer(f"override {name!r} must be a {kind.__name__}")
    return variables, overrides


def _record(call: Call, variables: dict | None, detail: dict) -> None:
    if variables is not None:
        Call.objects.filter(pk=call.pk).update(variables=variables)
    CallEvent.objects.create(call_id=call.pk, workspace_id=call.workspace_id,
                             kind=CallEvent.Kind.CALL_START_WEBHOOK, detail=detail)

"""Validation of a prompt-first agent's structured settings: its variables, HTTP tools, transfer targets and
post-call analysis schema, and the `{{variables}}` its templates use.

`Agent.clean()` calls `validate_agent`, so the dashboard form, the REST API (`full_clean()` before saving) and
anything else that saves an agent get the same errors, each keyed by the field it is about.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

from .languages import DEFAULT_LANGUAGE, LANGUAGES
from .templating import BUILTIN_VARIABLES, NAME, TemplateError, check

TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # OpenAI's rule for function names
BUILTIN_TOOLS = {"end_call", "transfer_call", "search_knowledge"}
TOOL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
TOOL_KEYS = {"name", "description", "parameters", "url", "method", "headers", "secret", "timeout_s"}
ANALYSIS_TYPES = ("text", "number", "boolean", "enum", "date")
ANALYSIS_KEYS = {"name", "type", "description", "choices"}
MAX_TOOLS = 32
MAX_ANALYSIS_FIELDS = 50
PHONE = re.compile(r"^(\+[1-9]\d{6,14}|sip:\S+)$")


def validate_agent(agent) -> None:
    """Every problem of `agent`'s structured fields, raised at once as {field: [messages]}."""
    errors: dict[str, list[str]] = {}

    def run(field: str, check_field) -> None:
        try:
            check_field()
        except (ValueError, TypeError) as exc:  # TemplateError is a ValueError
            errors.setdefault(field, []).append(str(exc))

    run("variable_defaults", lambda: validate_variable_defaults(agent.variable_defaults))
    declared = agent.variable_defaults if isinstance(agent.variable_defaults, dict) else {}
    for field, label in (("system_prompt", "System prompt"), ("greeting", "First message"),
                         ("summary_prompt", "Summary prompt"), ("success_criterion", "Success criterion")):
        run(field, lambda f=field, la=label: check(getattr(agent, f) or "", declared, la))
    run("tools", lambda: validate_tools(agent.tools, declared))
    run("transfer_targets", lambda: validate_transfer_targets(agent.transfer_targets))
    run("analysis_schema", lambda: validate_analysis_schema(agent.analysis_schema))
    run("language", lambda: validate_language(getattr(agent, "language", DEFAULT_LANGUAGE)))
    run("provider_options", lambda: validate_voice_options(agent.provider_options))
    if errors:
        raise ValidationError(errors)


def validate_language(tag) -> None:
    """Only a tag of the table (exactly, "es-ES" not "es"), so every provider has a code for it."""
    if tag not in LANGUAGES:
        raise ValueError(f"Unknown language {tag!r}: use one of {', '.join(LANGUAGES)}.")


# The embedded voices' knobs in provider_options["tts"] and their ranges (Piper: speed or its inverse length_scale,
# noise_scale / noise_w_scale; espeak: rate_wpm, pitch). The engines clamp too; here a typo gets a clear error.
VOICE_KNOBS: dict[str, tuple[float, float]] = {
    "speed": (0.5, 2.0), "length_scale": (0.5, 2.0), "noise_scale": (0.0, 1.5), "noise_w_scale": (0.0, 1.5),
    "volume": (0.1, 1.0), "rate_wpm": (80, 450), "pitch": (0, 99),
}


def validate_voice_options(options) -> None:
    tts = options.get("tts") if isinstance(options, dict) else None
    if tts is None:
        return
    if not isinstance(tts, dict):
        raise ValueError('"tts" must be a JSON object, e.g. {"tts": {"speed": 1.1}}.')
    for knob, (low, high) in VOICE_KNOBS.items():
        value = tts.get(knob)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise ValueError(f'tts "{knob}" must be a number from {low:g} to {high:g} (got {value!r}).')


def validate_variable_defaults(defaults) -> None:
    if not isinstance(defaults, dict):
        raise ValueError('Variables must be a JSON object of name: default value, e.g. {"customer_name": "there"}.')
    for name, value in defaults.items():
        if not NAME.match(name):
            raise ValueError(f"Variable name {name!r}: use letters, digits and _ (not starting with a digit).")
        if name in BUILTIN_VARIABLES:
            raise ValueError(f"Variable {name!r} is built in (filled for every call); remove it here.")
        if not isinstance(value, str | int | float | bool) or value is None:
            raise ValueError(f"Variable {name!r}: the default must be text, a number or true/false.")


def _bounded_list(items, limit: int, what: str) -> None:
    if not isinstance(items, list):
        raise ValueError(f"The {what} must be a JSON list.")
    if len(items) > limit:
        raise ValueError(f"At most {limit} {what}.")


def validate_tools(tools, declared: dict) -> None:
    _bounded_list(tools, MAX_TOOLS, "tools")
    seen: set[str] = set()
    for i, tool in enumerate(tools, 1):
        label = f"Tool {i}"
        if not isinstance(tool, dict):
            raise ValueError(f"{label}: must be an object with name, description, parameters, url.")
        unknown = set(tool) - TOOL_KEYS
        if unknown:
            raise ValueError(f"{label}: unknown key(s) {', '.join(sorted(unknown))}; "
                             f"allowed: {', '.join(sorted(TOOL_KEYS))}.")
        name = tool.get("name")
        if not isinstance(name, str) or not TOOL_NAME.match(name):
            raise ValueError(f"{label}: name must be 1-64 letters, digits, _ or - (got {name!r}).")
        label = f"Tool {name!r}"
        if name in BUILTIN_TOOLS:
            raise ValueError(f"{label}: that name is a built-in tool.")
        if name in seen:
            raise ValueError(f"{label}: two tools have this name.")
        seen.add(name)
        if not isinstance(tool.get("description"), str) or not tool["description"].strip():
            raise ValueError(f"{label}: a description is required (the model reads it to decide when to call).")
        _check_url(tool.get("url"), label)
        method = tool.get("method", "POST")
        if method not in TOOL_METHODS:
            raise ValueError(f"{label}: method must be one of {', '.join(TOOL_METHODS)}.")
        _check_parameters(tool.get("parameters", {"type": "object", "properties": {}}), label)
        headers = tool.get("headers", {})
        if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                    for k, v in headers.items()):
            raise ValueError(f"{label}: headers must be an object of header name: text.")
        for header, value in headers.items():
            try:
                check(value, declared, f"{label}, header {header}", allow_secrets=True)
            except TemplateError as exc:
                raise ValueError(str(exc)) from None
        if "secret" in tool and not isinstance(tool["secret"], str):
            raise ValueError(f"{label}: secret (the HMAC signing key) must be text.")
        timeout = tool.get("timeout_s", 5.0)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0.5 <= timeout <= 30:
            raise ValueError(f"{label}: timeout_s must be a number of seconds between 0.5 and 30.")


def _check_url(url, label: str) -> None:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{label}: url must be an absolute http(s) URL (got {url!r}).")


def _check_parameters(schema, label: str) -> None:
    """The parts of JSON Schema the model providers insist on: an object, with named properties."""
    if not isinstance(schema, dict) or schema.get("type") != "object":
        raise ValueError(f'{label}: parameters must be a JSON schema with "type": "object".')
    properties = schema.get("properties", {})
    if not isinstance(properties, dict) or not all(isinstance(v, dict) for v in properties.values()):
        raise ValueError(f"{label}: parameters.properties must map each argument to its JSON schema.")
    required = schema.get("required", [])
    if not isinstance(required, list) or any(r not in properties for r in required):
        raise ValueError(f"{label}: parameters.required must list names from parameters.properties.")


def validate_transfer_targets(targets) -> None:
    if not isinstance(targets, dict):
        raise ValueError('Transfer targets must be an object of label: number, e.g. {"sales": "+15550100"}.')
    for label, number in targets.items():
        if not isinstance(number, str) or not PHONE.match(number):
            raise ValueError(f"Transfer target {label!r}: {number!r} is not an E.164 number or sip: address.")


def validate_analysis_schema(schema) -> None:
    _bounded_list(schema, MAX_ANALYSIS_FIELDS, "analysis fields")
    seen: set[str] = set()
    for i, field in enumerate(schema, 1):
        if not isinstance(field, dict):
            raise ValueError(f"Analysis field {i}: must be an object with name, type, description.")
        unknown = set(field) - ANALYSIS_KEYS
        if unknown:
            raise ValueError(f"Analysis field {i}: unknown key(s) {', '.join(sorted(unknown))}.")
        name = field.get("name")
        if not isinstance(name, str) or not NAME.match(name):
            raise ValueError(f"Analysis field {i}: name must be letters, digits and _ (got {name!r}).")
        if name in seen:
            raise ValueError(f"Analysis field {name!r}: two fields have this name.")
        seen.add(name)
        kind = field.get("type")
        if kind not in ANALYSIS_TYPES:
            raise ValueError(f"Analysis field {name!r}: type must be one of {', '.join(ANALYSIS_TYPES)}.")
        if not isinstance(field.get("description", ""), str):
            raise ValueError(f"Analysis field {name!r}: description must be text.")
        choices = field.get("choices")
        if kind == "enum":
            if not isinstance(choices, list) or not choices or not all(isinstance(c, str) and c for c in choices):
                raise ValueError(f"Analysis field {name!r}: an enum needs choices, a list of texts.")
        elif choices not in (None, []):
            raise ValueError(f"Analysis field {name!r}: only an enum has choices.")

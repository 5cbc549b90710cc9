"""`{{variable}}` templates of a prompt-first agent (system prompt, first message, summary prompt, tool headers).

Double braces, as the agent platforms people come from write them (`{{customer_name}}`), so a flow's single-brace
`{placeholder}` and a JSON example inside a prompt are left alone. `{{secret:NAME}}` is not a variable: it names a
secret from the environment and is only allowed where `allow_secrets` says so (tool headers), never in text the
model or the caller sees.

Pure Python, low in `calls`: the models validate templates with it, the session renders them.
"""

from __future__ import annotations

import re

__all__ = ["BUILTIN_VARIABLES", "placeholders", "render", "unknown_variables", "TemplateError", "check"]

# What every call knows about itself (`calls.call_variables.builtin_variables` fills them).
BUILTIN_VARIABLES = {
    "caller_number": "The caller's number (E.164) — on an outbound call, the number called.",
    "agent_number": "The agent's own number on this call.",
    "direction": "inbound or outbound.",
    "call_id": "The call's id in voicebot.",
    "agent_name": "The agent's name.",
    "date": "Today's date (YYYY-MM-DD, server time zone).",
    "time": "The time the call started (HH:MM, server time zone).",
    "weekday": "Today's weekday (Monday ...).",
}
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_TAG = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
SECRET_PREFIX = "secret:"


class TemplateError(ValueError):
    """A template names something it may not use; the message says what, for the person editing it."""


def placeholders(text: str) -> list[str]:
    """The names inside `{{ }}` in order of first appearance (secrets as `secret:NAME`)."""
    seen: dict[str, None] = {}
    for match in _TAG.finditer(text or ""):
        seen.setdefault(match.group(1), None)
    return list(seen)


def unknown_variables(text: str, declared: set[str] | dict, allow_secrets: bool = False) -> list[str]:
    """Placeholders that are neither built in nor declared (nor, where allowed, a well-formed secret)."""
    known = set(BUILTIN_VARIABLES) | set(declared)
    bad = []
    for name in placeholders(text):
        if name.startswith(SECRET_PREFIX) and allow_secrets and NAME.match(name[len(SECRET_PREFIX):]):
            continue
        if name not in known:
            bad.append(name)
    return bad


def check(text: str, declared: set[str] | dict, where: str, allow_secrets: bool = False) -> None:
    """Raise TemplateError naming every unknown `{{variable}}` of `text` (`where` says which field it is)."""
    bad = unknown_variables(text, declared, allow_secrets)
    if bad:
        names = ", ".join("{{" + n + "}}" for n in bad)
        hint = "" if allow_secrets else " Secrets ({{secret:NAME}}) may only be used in tool headers."
        raise TemplateError(f"{where}: unknown variable {names}. Declare it under the agent's variables (with a "
                            f"default), or use a built-in one: {', '.join(sorted(BUILTIN_VARIABLES))}.{hint}")


def render(text: str, values: dict, secrets: dict | None = None) -> str:
    """`text` with every `{{name}}` replaced by `values[name]` (missing: empty) and, when `secrets` is given,
    every `{{secret:NAME}}` by `secrets[NAME]` (missing: empty); without `secrets` those are left as they are,
    to be filled where the secret is used and nowhere earlier."""

    def one(match: re.Match) -> str:
        name = match.group(1)
        if name.startswith(SECRET_PREFIX):
            return match.group(0) if secrets is None else str(secrets.get(name[len(SECRET_PREFIX):], ""))
        value = values.get(name)
        return "" if value is None else str(value)

    return _TAG.sub(one, text or "") if "{{" in (text or "") else (text or "")

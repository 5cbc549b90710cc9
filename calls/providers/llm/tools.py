"""Tools an LLM agent can call: the built-ins (end_call, transfer_call) and per-agent HTTP tools.

HTTP tools are data in `Agent.tools` (validated by `calls.agent_config.validate_tools`):
`[{"name", "description", "parameters" (JSON schema), "url", "method", "headers", "secret", "timeout_s"}]`.
A call sends the model's JSON arguments (a JSON body; for GET and DELETE, the query string — then the signed bytes
are the query string, as sent after the "?"). Every request is
authenticated: by `headers` whose values may name secrets from the environment — `{{secret:CRM_TOKEN}}` is the
value of `VOICEBOT_TOOL_SECRET_CRM_TOKEN`, only that prefix, so an agent's editor cannot send the server's other
secrets (its database password, its own API keys) to a URL of their choosing — and/or signed with `secret`:

    X-Voicebot-Timestamp: <unix seconds>
    X-Voicebot-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>

The timestamp is inside the MAC, so a captured request cannot be replayed later with a fresh timestamp;
receivers should reject timestamps older than a few minutes (`verify_signature` does).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass

import os
from urllib.parse import urlencode

import httpx

from ...templating import render
from ..base import ProviderError

SIGNATURE_HEADER = "X-Voicebot-Signature"
TIMESTAMP_HEADER = "X-Voicebot-Timestamp"
MAX_RESULT_CHARS = 2000
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # OpenAI's rule for function names
BUILTIN_NAMES = {"end_call", "transfer_call"}
SECRET_ENV_PREFIX = "VOICEBOT_TOOL_SECRET_"
QUERY_METHODS = ("GET", "DELETE")

END_CALL_SCHEMA = {
    "type": "function",
    "function": {
        "name": "end_call",
        "description": "Hang up the call. Say goodbye first, in the same reply.",
        "parameters": {"type": "object", "properties": {"reason": {"type": "string"}}, "required": []},
    },
}


def transfer_schema(destinations: list[str]) -> dict:
    return {
        "type": "function",
        "function": {
            "name": "transfer_call",
            "description": "Transfer the caller to a human. Tell the caller first, in the same reply.",
            "parameters": {
                "type": "object",
                "properties": {
                    "destination": {"type": "string", "enum": destinations},
                    "summary": {"type": "string", "description": "One or two sentences for the person taking over."},
                },
                "required": ["destination", "summary"],
            },
        },
    }


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


def verify_signature(secret: str, timestamp: str, body: bytes, signature: str, tolerance_s: float = 300) -> bool:
    """For receivers of our tool calls (and the tests): a fresh timestamp and a matching MAC."""
    try:
        fresh = abs(time.time() - int(timestamp)) <= tolerance_s
    except ValueError:
        return False
    return fresh and hmac.compare_digest(sign(secret, timestamp, body), signature)


def truncate(text: str, limit: int = MAX_RESULT_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + " …[truncated]"


@dataclass(frozen=True)
class HttpTool:
    name: str
    description: str
    parameters: dict
    url: str
    secret: str
    timeout_s: float = 5.0
    method: str = "POST"
    headers: tuple[tuple[str, str], ...] = ()  # {{secret:NAME}} filled at each request ({{variables}} before)

    @classmethod
    def from_config(cls, raw: dict) -> HttpTool:
        """Validate one configured tool; a bad one is a permanent error (the agent's settings must be fixed)."""
        name = str(raw.get("name", ""))
        url = str(raw.get("url", ""))
        headers = raw.get("headers") or {}
        problem = None
        if not _NAME.match(name) or name in BUILTIN_NAMES:
            problem = f"invalid tool name {name!r}"
        elif not url.startswith(("http://", "https://")):
            problem = f"tool {name}: url must be http(s)"
        elif not raw.get("secret") and not headers:
            problem = f"tool {name}: a signing secret (or an authentication header) is required"
        if problem:
            raise ProviderError(problem, provider="openai", permanent=True)
        return cls(
            name=name,
            description=str(raw.get("description", "")),
            parameters=raw.get("parameters") or {"type": "object", "properties": {}},
            url=url,
            secret=str(raw.get("secret") or ""),
            timeout_s=float(raw.get("timeout_s", 5.0)),
            method=str(raw.get("method") or "POST").upper(),
            headers=tuple((str(k), str(v)) for k, v in headers.items()),
        )

    def schema(self) -> dict:
        return {"type": "function",
                "function": {"name": self.name, "description": self.description, "parameters": self.parameters}}

    async def call(self, client: httpx.AsyncClient, arguments: dict) -> str:
        """POST the arguments; the result (or what went wrong) as text for the model. Never raises for the
        endpoint's failures: the model should hear about them and tell the caller."""
        url = self.url
        if self.method in QUERY_METHODS:
            # The arguments as the query string, which is what is signed (the request has no body).
            body = urlencode({k: _query_value(v) for k, v in arguments.items()}).encode()
            url = f"{url}{'&' if '?' in url else '?'}{body.decode()}" if body else url
            headers, content = {}, None
        else:
            body = json.dumps(arguments, separators=(",", ":")).encode()
            headers, content = {"Content-Type": "application/json"}, body
        headers.update(self._headers())
        if self.secret:
            timestamp = str(int(time.time()))
            headers.update({TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(self.secret, timestamp, body)})
        try:
            response = await client.request(self.method, url, headers=headers, timeout=self.timeout_s,
                                            content=content)
        except httpx.TimeoutException:
            return json.dumps({"error": f"the {self.name} service did not answer in time"})
        except httpx.HTTPError as exc:
            return json.dumps({"error": f"the {self.name} service could not be reached ({type(exc).__name__})"})
        if response.status_code >= 400:
            return json.dumps({"error": f"the {self.name} service failed (HTTP {response.status_code})",
                               "detail": truncate(response.text, 300)})
        if "json" in response.headers.get("content-type", ""):
            try:
                return truncate(json.dumps(response.json(), separators=(",", ":")))
            except ValueError:
                pass
        return truncate(response.text)

    def _headers(self) -> dict[str, str]:
        secrets = {key[len(SECRET_ENV_PREFIX):]: value for key, value in os.environ.items()
                   if key.startswith(SECRET_ENV_PREFIX)}
        return {name: render(value, {}, secrets) for name, value in self.headers}


def _query_value(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)

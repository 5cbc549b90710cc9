"""Tools an LLM agent can call: the built-ins (end_call, transfer_call) and per-agent HTTP tools.

HTTP tools are data in `Agent.provider_options["tools"]`:
`[{"name", "description", "parameters" (JSON schema), "url", "secret", "timeout_s"}]`. A call is a POST of the
model's JSON arguments, signed so the receiver can trust it came from us:

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

import httpx

from ..base import ProviderError

SIGNATURE_HEADER = "X-Voicebot-Signature"
TIMESTAMP_HEADER = "X-Voicebot-Timestamp"
MAX_RESULT_CHARS = 2000
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # OpenAI's rule for function names
BUILTIN_NAMES = {"end_call", "transfer_call"}

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

    @classmethod
    def from_config(cls, raw: dict) -> HttpTool:
        """Validate one configured tool; a bad one is a permanent error (the agent's settings must be fixed)."""
        name = str(raw.get("name", ""))
        url = str(raw.get("url", ""))
        problem = None
        if not _NAME.match(name) or name in BUILTIN_NAMES:
            problem = f"invalid tool name {name!r}"
        elif not url.startswith(("http://", "https://")):
            problem = f"tool {name}: url must be http(s)"
        elif not raw.get("secret"):
            problem = f"tool {name}: a signing secret is required"
        if problem:
            raise ProviderError(problem, provider="openai", permanent=True)
        return cls(
            name=name,
            description=str(raw.get("description", "")),
            parameters=raw.get("parameters") or {"type": "object", "properties": {}},
            url=url,
            secret=str(raw["secret"]),
            timeout_s=float(raw.get("timeout_s", 5.0)),
        )

    def schema(self) -> dict:
        return {"type": "function",
                "function": {"name": self.name, "description": self.description, "parameters": self.parameters}}

    async def call(self, client: httpx.AsyncClient, arguments: dict) -> str:
        """POST the arguments; the result (or what went wrong) as text for the model. Never raises for the
        endpoint's failures: the model should hear about them and tell the caller."""
        body = json.dumps(arguments, separators=(",", ":")).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self.secret, timestamp, body),
        }
        try:
            response = await client.post(self.url, content=body, headers=headers, timeout=self.timeout_s)
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

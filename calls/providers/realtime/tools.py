"""The model's function calls: end_call, transfer_call, the agent's HTTP tools and knowledge search.

The same tools and rules as the LLM brain (`llm/tools.py`): no transfer tool without configured destinations (a
model dialling numbers it chose is toll fraud waiting to happen), HTTP tools signed, the knowledge base offered once
it holds documents. Bad arguments — not JSON, not an object — get an error result the model can read and
recover from, never an exception in the call.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx

from ..base import EndCall, ProviderError, Transfer
from ..llm.tools import END_CALL_SCHEMA, HttpTool, transfer_schema
from .config import RealtimeConfig


@dataclass(slots=True)
class ToolResult:
    """What goes back to the model (`function_call_output`), and the call action it asked for, if any."""

    output: str
    action: EndCall | Transfer | None = None


def flat(schema: dict) -> dict:
    """A chat-completions tool schema ({"type", "function": {...}}) in the Realtime API's flat form."""
    function = schema["function"]
    return {"type": "function", "name": function["name"], "description": function.get("description", ""),
            "parameters": function.get("parameters") or {"type": "object", "properties": {}}}


class RealtimeTools:
    def __init__(self, config: RealtimeConfig) -> None:
        self.targets = config.transfer_targets
        self.http: dict[str, object] = {}
        for raw in config.http_tools:
            tool = HttpTool.from_config(raw)  # a bad tool is the agent's configuration error: raised at start
            self.http[tool.name] = tool
        self._offered: list = []
        self._client: httpx.AsyncClient | None = None

    def add_tool(self, tool) -> None:
        """A tool with HttpTool's interface (e.g. `knowledge.tool.KnowledgeTool`); an async `available()` is asked
        once, in `schemas()`."""
        self._offered.append(tool)

    async def schemas(self) -> list[dict]:
        while self._offered:
            tool = self._offered.pop(0)
            if not hasattr(tool, "available") or await tool.available():
                self.http[tool.name] = tool
        schemas = [END_CALL_SCHEMA]
        if self.targets:
            schemas.append(transfer_schema(sorted(self.targets)))
        schemas.extend(tool.schema() for tool in self.http.values())
        return [flat(s) for s in schemas]

    async def run(self, name: str, arguments: str) -> ToolResult:
        try:
            args = json.loads(arguments or "{}")
        except (ValueError, RecursionError) as exc:
            return ToolResult(json.dumps({"error": f"invalid arguments: not JSON ({exc})"[:300]}))
        if not isinstance(args, dict):
            return ToolResult(json.dumps({"error": "invalid arguments: expected a JSON object"}))
        if name == "end_call":
            return ToolResult("ok", EndCall(str(args.get("reason") or "completed")))
        if name == "transfer_call" and self.targets:
            target = self.targets.get(str(args.get("destination", "")))
            if target is None:
                return ToolResult(json.dumps({"error": f"unknown destination; use one of {sorted(self.targets)}"}))
            return ToolResult("ok", Transfer(target, str(args.get("summary", ""))))
        tool = self.http.get(name)
        if tool is None:
            return ToolResult(json.dumps({"error": f"no tool named {name}"}))
        try:
            return ToolResult(await tool.call(self._http_client(), args))
        except ProviderError as exc:
            return ToolResult(json.dumps({"error": str(exc)[:300]}))

    def _http_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(follow_redirects=False)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

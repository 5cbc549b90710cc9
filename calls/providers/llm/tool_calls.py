"""Assembling streamed tool calls: OpenAI sends each call in fragments (`delta.tool_calls[i]`)."""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: str = ""

    def parsed_arguments(self) -> dict:
        """The arguments as a dict; raises ValueError on anything else (the model gets the error back)."""
        if not self.arguments.strip():
            return {}
        value = json.loads(self.arguments)
        if not isinstance(value, dict):
            raise ValueError("tool arguments must be a JSON object")
        return value

    def as_message_part(self) -> dict:
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}


class ToolCallAssembler:
    """Joins fragments by `index`. The id and name come only in a call's first fragment; the arguments string
    arrives in pieces. Some OpenAI-compatible servers omit `index`: then a fragment with a new id starts a call and
    one without an id continues the last call."""

    def __init__(self) -> None:
        self._calls: list[ToolCall] = []
        self._by_index: dict[int, ToolCall] = {}

    def add(self, fragment) -> None:
        index = getattr(fragment, "index", None)
        call_id = getattr(fragment, "id", None) or ""
        function = getattr(fragment, "function", None)
        name = (getattr(function, "name", None) or "") if function is not None else ""
        args = (getattr(function, "arguments", None) or "") if function is not None else ""
        call = self._find(index, call_id)
        if call is None:
            call = ToolCall(id=call_id or f"call_{len(self._calls)}", name=name)
            self._calls.append(call)
            if index is not None:
                self._by_index[index] = call
        elif name and not call.name:
            call.name = name
        call.arguments += args

    def _find(self, index: int | None, call_id: str) -> ToolCall | None:
        if index is not None:
            return self._by_index.get(index)
        last = self._calls[-1] if self._calls else None
        if last is None or (call_id and call_id != last.id):
            return None
        return last

    def calls(self) -> list[ToolCall]:
        return [c for c in self._calls if c.name]

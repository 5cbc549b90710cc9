"""`search_knowledge`: the knowledge base as a tool for the LLM, with the interface of the HTTP tools
(`name`, `schema()`, `async call(client, arguments)`) so `OpenAIBrain` runs it like any other. Offered only when
the agent has documents (`available()`, asked once before the first request)."""

from __future__ import annotations

import json
from collections.abc import Callable

from calls.db import run_db

from .search import has_documents, search

NAME = "search_knowledge"


class KnowledgeTool:
    name = NAME

    def __init__(self, agent_id: int, *, k: int = 3, on_sources: Callable[[list], None] | None = None) -> None:
        self.agent_id = agent_id
        self.k = k
        self.on_sources = on_sources

    def schema(self) -> dict:
        return {
            "type": "function",
            "function": {
                "name": NAME,
                "description": "Search the business's own documents (hours, prices, services, policies, location). "
                "Use it before answering any question about the business; answer only from what it returns.",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "query": {"type": "string", "description": "The caller's question, in a few words."},
                    },
                    "required": ["query"],
                },
            },
        }

    async def available(self) -> bool:
        return await run_db(has_documents, self.agent_id)

    async def call(self, client, arguments: dict) -> str:
        query = str(arguments.get("query", "")).strip()
        if not query:
            return json.dumps({"error": "query is required"})
        hits = await run_db(search, self.agent_id, query, self.k)
        if self.on_sources is not None and hits:
            self.on_sources(hits)
        if not hits:
            return json.dumps({"results": [], "note": "Nothing in the documents answers this."})
        return json.dumps({"results": [{"source": h.title, "section": h.heading, "text": h.text} for h in hits]})

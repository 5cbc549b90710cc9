"""Adding a document to an agent's knowledge base: detect the format, extract the text, chunk it, store it (the
full-text index follows by itself: triggers on SQLite, an expression index on PostgreSQL)."""

from __future__ import annotations

from django.db import transaction

from calls.models import Agent

from .chunking import chunk_text
from .extract import DocumentError, detect_kind, extract_text
from .models import Chunk, Document

__all__ = ["add_document", "DocumentError"]


def add_document(agent: Agent, data: bytes, *, filename: str = "", title: str = "",
                 kind: str | None = None) -> Document:
    """Raises DocumentError (a message for the person uploading) when the file cannot become knowledge."""
    kind = kind or detect_kind(filename, data)
    text = extract_text(kind, data)
    chunks = chunk_text(text, guess_headings=kind in ("text", "pdf"))
    if not chunks:
        raise DocumentError("No text found in the file.")
    title = (title or filename.rsplit("/", 1)[-1] or "Untitled").strip()[:200]
    with transaction.atomic():
        document = Document.objects.create(
            workspace_id=agent.workspace_id, agent=agent, title=title, filename=filename[:255], kind=kind,
            text=text, size_bytes=len(data),
        )
        Chunk.objects.bulk_create([
            Chunk(document=document, agent=agent, index=i, heading=c.heading[:300], text=c.text, word_count=c.words)
            for i, c in enumerate(chunks)
        ])  # fmt: skip
    return document

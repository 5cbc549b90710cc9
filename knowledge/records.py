"""The chunks a reply used, stored on its turn (`TurnSource`), for the call detail and the export."""

from __future__ import annotations

from collections.abc import Iterable

from .models import Chunk, Document, TurnSource

EXCERPT_CHARS = 300


def save_turn_sources(turn, sources: Iterable) -> None:
    """`sources`: objects with chunk_id, document_id, title, text and score (`calls.flows.effects.KnowledgeHit`,
    `knowledge.search.Hit`), best first. Runs on the recorder's database thread, inside the turn's transaction."""
    hits, seen = [], set()
    for hit in sources:
        if hit.chunk_id not in seen:
            seen.add(hit.chunk_id)
            hits.append(hit)
    # A document deleted since the search leaves no dangling ids: the copied title and excerpt remain.
    chunk_ids = set(Chunk.objects.filter(pk__in=[h.chunk_id for h in hits]).values_list("pk", flat=True))
    document_ids = set(Document.objects.filter(pk__in=[h.document_id for h in hits]).values_list("pk", flat=True))
    TurnSource.objects.filter(turn=turn).delete()  # a rewritten turn (retry) must not double its sources
    TurnSource.objects.bulk_create([
        TurnSource(
            turn=turn, rank=rank, title=str(hit.title)[:200], excerpt=" ".join(str(hit.text).split())[:EXCERPT_CHARS],
            score=float(hit.score),
            chunk_id=hit.chunk_id if hit.chunk_id in chunk_ids else None,
            document_id=hit.document_id if hit.document_id in document_ids else None,
        )
        for rank, hit in enumerate(hits)
    ])  # fmt: skip


def sources_of(turn) -> list[dict]:
    """A turn's sources as plain data (export, API)."""
    return [{"document": s.title, "document_id": s.document_id, "chunk": s.chunk_id, "score": s.score}
            for s in turn.knowledge_sources.all()]

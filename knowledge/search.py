"""`search(agent_id, query, k)`: the agent's knowledge chunks that best answer `query`, best first.

One function, three backends chosen by the database engine:

- SQLite: the FTS5 table of migration 0002 (Porter stemming), ranked by FTS5's bm25() with headings weighted 2:1;
- PostgreSQL: the GIN-indexed tsvector of migration 0002 finds the candidates, `bm25.rank` orders them;
- anything else (or an SQLite without FTS5): `bm25.rank` over all the agent's chunks.

A hit must also *cover* the question: the IDF-weighted share of the question's words found in the chunk must
reach `min_coverage`, a word found in the chunk's heading counting `HEADING_BOOST` times (headings name the
topic: "park" in "Location and parking" answers "where can I park my car?"). BM25 alone ranks any chunk
sharing one common word ("bring" in "bring your card" for "can I bring my dog?"); coverage is what lets a
caller hear "I don't have that information" instead.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from django.db import connection

from . import bm25
from .models import Chunk

__all__ = ["Hit", "search", "has_documents", "backend", "MIN_COVERAGE"]

FTS_TABLE = "knowledge_chunk_fts"  # created by migration 0002
PG_VECTOR = "to_tsvector('english', coalesce(heading, '') || ' ' || text)"  # as indexed by migration 0002
MIN_COVERAGE = 0.5
HEADING_BOOST = 1.5
CANDIDATES = 200
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Hit:
    chunk_id: int
    document_id: int
    title: str
    heading: str
    text: str
    score: float  # higher is better (bm25, sign flipped for FTS5)
    coverage: float


def has_documents(agent_id: int) -> bool:
    return Chunk.objects.filter(agent_id=agent_id).exists()


def backend() -> str:
    vendor = connection.vendor
    if vendor == "sqlite":
        return "fts5" if _fts5_table_exists() else "python"
    return "postgresql" if vendor == "postgresql" else "python"


def _fts5_table_exists() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s", [FTS_TABLE])
        return cursor.fetchone() is not None


def _query_words(query: str) -> list[str]:
    words = [w.lower() for w in _WORD.findall(query)]
    return list(dict.fromkeys(w for w in words if w not in bm25.STOPWORDS and len(w) > 1))


def search(agent_id: int, query: str, k: int = 3, *, min_coverage: float = MIN_COVERAGE) -> list[Hit]:
    words = _query_words(query)
    if not words:
        return []
    kind = backend()
    if kind == "fts5":
        ranked, matching, in_heading = _fts5(agent_id, words)
    elif kind == "postgresql":
        ranked, matching, in_heading = _postgresql(agent_id, words, query)
    else:
        ranked, matching, in_heading = _python(agent_id, query)
    if not ranked:
        return []
    total = Chunk.objects.filter(agent_id=agent_id).count()
    idf = {term: math.log(1 + (total - len(ids) + 0.5) / (len(ids) + 0.5)) for term, ids in matching.items()}
    weight = sum(idf.values()) or 1.0
    kept: list[tuple[int, float, float]] = []
    for chunk_id, score in ranked:
        found = sum(idf[term] * (HEADING_BOOST if chunk_id in in_heading.get(term, ()) else 1.0)
                    for term, ids in matching.items() if chunk_id in ids)
        coverage = min(1.0, found / weight)
        if coverage >= min_coverage:
            kept.append((chunk_id, score, coverage))
        if len(kept) == k:
            break
    chunks = Chunk.objects.select_related("document").in_bulk([chunk_id for chunk_id, _, _ in kept])
    return [
        Hit(chunk_id, chunks[chunk_id].document_id, chunks[chunk_id].document.title, chunks[chunk_id].heading,
            chunks[chunk_id].text, score, round(coverage, 3))
        for chunk_id, score, coverage in kept if chunk_id in chunks
    ]  # fmt: skip


# ---------------------------------------------------------------- backends


Matches = dict[str, set[int]]  # query word -> ids of the agent's chunks holding it


def _fts5(agent_id: int, words: list[str]) -> tuple[list[tuple[int, float]], Matches, Matches]:
    def quoted(word: str) -> str:
        return '"' + word.replace('"', '""') + '"'

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT c.id, bm25({FTS_TABLE}, 2.0, 1.0) AS rank FROM {FTS_TABLE} "
            f"JOIN knowledge_chunk c ON c.id = {FTS_TABLE}.rowid "
            f"WHERE {FTS_TABLE} MATCH %s AND c.agent_id = %s ORDER BY rank LIMIT %s",
            [" OR ".join(quoted(w) for w in words), agent_id, CANDIDATES],
        )
        ranked = [(row[0], -float(row[1])) for row in cursor.fetchall()]
        matching: Matches = {}
        in_heading: Matches = {}
        for word in words:
            # Per word, through the same tokenizer as the index, so "located" matches "location" here too.
            for found, match in ((matching, quoted(word)), (in_heading, f"heading : {quoted(word)}")):
                cursor.execute(
                    f"SELECT c.id FROM {FTS_TABLE} JOIN knowledge_chunk c ON c.id = {FTS_TABLE}.rowid "
                    f"WHERE {FTS_TABLE} MATCH %s AND c.agent_id = %s",
                    [match, agent_id],
                )
                found[word] = {row[0] for row in cursor.fetchall()}
    return ranked, matching, in_heading


def _postgresql(agent_id: int, words: list[str], query: str) -> tuple[list[tuple[int, float]], Matches, Matches]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, heading, text FROM knowledge_chunk WHERE agent_id = %s "
            f"AND {PG_VECTOR} @@ to_tsquery('english', %s) LIMIT %s",
            [agent_id, " | ".join(words), CANDIDATES],
        )
        rows = cursor.fetchall()
        matching: Matches = {}
        in_heading: Matches = {}
        for word in words:
            cursor.execute(
                f"SELECT id, to_tsvector('english', heading) @@ plainto_tsquery('english', %s) FROM knowledge_chunk "
                f"WHERE agent_id = %s AND {PG_VECTOR} @@ plainto_tsquery('english', %s)",
                [word, agent_id, word],
            )
            found = cursor.fetchall()
            matching[word] = {row[0] for row in found}
            in_heading[word] = {row[0] for row in found if row[1]}
    total = Chunk.objects.filter(agent_id=agent_id).count()
    ranked = bm25.rank(query, rows, total=total, avg_length=_average_words(agent_id))
    return ranked, matching, in_heading


def _python(agent_id: int, query: str) -> tuple[list[tuple[int, float]], Matches, Matches]:
    rows = list(Chunk.objects.filter(agent_id=agent_id).values_list("id", "heading", "text"))
    ranked = bm25.rank(query, rows)
    present = {chunk_id: set(bm25.terms(f"{heading} {text}")) for chunk_id, heading, text in rows}
    headings = {chunk_id: set(bm25.terms(heading)) for chunk_id, heading, _ in rows}
    wanted = set(bm25.terms(query))
    matching = {term: {cid for cid, terms in present.items() if term in terms} for term in wanted}
    in_heading = {term: {cid for cid, terms in headings.items() if term in terms} for term in wanted}
    return ranked, matching, in_heading


def _average_words(agent_id: int) -> float:
    from django.db.models import Avg

    return Chunk.objects.filter(agent_id=agent_id).aggregate(avg=Avg("word_count"))["avg"] or 1.0

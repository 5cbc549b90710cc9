"""Okapi BM25 in Python: the ranking for PostgreSQL (its own ts_rank is not BM25) and for databases without a
full-text index. SQLite's FTS5 ranks with its built-in bm25() instead.

Terms go through the same `normalize` as the flows' keyword routes (`calls.text`: lower case, contractions, light
stemming) on both sides.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable

from calls.text import tokens

__all__ = ["terms", "rank", "K1", "B", "HEADING_WEIGHT"]

K1, B = 1.2, 0.75
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
HEADING_WEIGHT = 2  # a heading's words count twice, as FTS5's column weights do
STOPWORDS = frozenset(
    "a an the is are was were be been am to of in on at for and or but do does did i me my we us our you your it "
    "its this that these those there what when where which who whom how can could would will shall should may "
    "might with about from by as if so not no yes any some have has had get please tell know want like much many "
    "also just still there really".split()
)


_STEMMED_STOPWORDS = STOPWORDS | {t for w in STOPWORDS for t in tokens(w)}  # "there's" -> "ther", "is"


def terms(text: str) -> list[str]:
    """Content words, stemmed. Stopwords are dropped before stemming ("where" would otherwise become "wher")."""
    out: list[str] = []
    for word in _WORD.findall(text.lower().replace("\u2019", "'")):
        if word not in STOPWORDS:
            out.extend(t for t in tokens(word) if t not in _STEMMED_STOPWORDS and len(t) > 1)
    return out


def _document_terms(heading: str, text: str) -> Counter:
    counts = Counter(terms(text))
    for term in terms(heading):
        counts[term] += HEADING_WEIGHT
    return counts


def rank(query: str, chunks: Iterable[tuple[int, str, str]], *, total: int | None = None,
         avg_length: float | None = None) -> list[tuple[int, float]]:
    """(chunk id, score) best first, for chunks (id, heading, text) matching at least one query term.

    `total` / `avg_length` describe the whole collection when `chunks` is only the candidates a full-text index
    returned (every chunk holding a query term is among them, so document frequencies stay exact)."""
    wanted = list(dict.fromkeys(terms(query)))
    if not wanted:
        return []
    docs = [(chunk_id, _document_terms(heading, text)) for chunk_id, heading, text in chunks]
    if not docs:
        return []
    n = total if total is not None else len(docs)
    lengths = [sum(counts.values()) for _, counts in docs]
    avg = avg_length if avg_length else (sum(lengths) / len(lengths) or 1.0)
    df = {term: sum(1 for _, counts in docs if term in counts) for term in wanted}
    scored: list[tuple[int, float]] = []
    for (chunk_id, counts), length in zip(docs, lengths, strict=True):
        score = 0.0
        for term in wanted:
            tf = counts.get(term, 0)
            if not tf:
                continue
            idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
            score += idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / avg))
        if score > 0:
            scored.append((chunk_id, score))
    scored.sort(key=lambda item: (-item[1], item[0]))
    return scored

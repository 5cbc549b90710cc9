"""Documents cut into retrievable chunks: by section (headings), then by paragraph, ~100-200 words each, with a
sentence or two of overlap between consecutive chunks of a section so an answer straddling the cut is found.

Each chunk keeps its heading path ("Practice information > Opening hours"): headings are what questions
usually echo, and the search weighs them above body text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ChunkText", "chunk_text", "TARGET_WORDS", "MAX_WORDS", "OVERLAP_WORDS"]

TARGET_WORDS = 150
MAX_WORDS = 200
OVERLAP_WORDS = 30
_HEADING = re.compile(r"^(#{1,6})\s+(.+)$")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


@dataclass(frozen=True)
class ChunkText:
    heading: str
    text: str

    @property
    def words(self) -> int:
        return len(self.text.split())


def _looks_like_heading(paragraph: str) -> bool:
    """Plain text and PDFs have no markup: a short single line without final punctuation, followed by text,
    is taken for a heading ("Opening hours")."""
    return "\n" not in paragraph and len(paragraph.split()) <= 8 and not re.search(r"[.!?:;,]$", paragraph)


def _sections(text: str, guess_headings: bool) -> list[tuple[str, list[str]]]:
    sections: list[tuple[str, list[str]]] = []
    path: list[tuple[int, str]] = []
    current: list[str] = []

    def close() -> None:
        if current:
            sections.append((" > ".join(title for _, title in path), list(current)))
            current.clear()

    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    for i, paragraph in enumerate(paragraphs):
        lines = paragraph.split("\n")
        m = _HEADING.match(lines[0])
        implicit = guess_headings and m is None and _looks_like_heading(paragraph) and i + 1 < len(paragraphs)
        if m or implicit:
            close()
            level = len(m.group(1)) if m else 6
            title = (m.group(2) if m else paragraph).strip().rstrip("#").strip()
            while path and path[-1][0] >= level:
                path.pop()
            path.append((level, title))
            rest = "\n".join(lines[1:]).strip() if m else ""
            if rest:
                current.append(rest)
            continue
        current.append(paragraph)
    close()
    return sections


def _pieces(paragraph: str) -> list[str]:
    """A paragraph small enough to pack, or its sentences (and overlong sentences cut by words)."""
    flat = " ".join(paragraph.split())
    if len(flat.split()) <= MAX_WORDS:
        return [flat]
    out: list[str] = []
    for sentence in _SENTENCE.split(flat):
        words = sentence.split()
        for start in range(0, len(words), MAX_WORDS):
            out.append(" ".join(words[start : start + MAX_WORDS]))
    return out


def _tail(text: str) -> str:
    """The last sentences of `text` up to OVERLAP_WORDS words: the overlap carried into the next chunk."""
    kept: list[str] = []
    count = 0
    for sentence in reversed(_SENTENCE.split(text)):
        n = len(sentence.split())
        if kept and count + n > OVERLAP_WORDS:
            break
        if n > OVERLAP_WORDS and not kept:
            return " ".join(sentence.split()[-OVERLAP_WORDS:])
        kept.insert(0, sentence)
        count += n
    return " ".join(kept)


def chunk_text(text: str, *, guess_headings: bool = False) -> list[ChunkText]:
    """`guess_headings`: for formats without heading markup (plain text, PDF), take short title-like lines for
    headings; Markdown and HTML say where their headings are."""
    chunks: list[ChunkText] = []
    for heading, paragraphs in _sections(text, guess_headings):
        current: list[str] = []
        count = fresh = 0  # words in the chunk being built; of those, not carried over from the previous one
        for piece in (piece for p in paragraphs for piece in _pieces(p)):
            n = len(piece.split())
            if fresh and count + n > MAX_WORDS:
                body = " ".join(current)
                chunks.append(ChunkText(heading, body))
                overlap = _tail(body)
                current, count, fresh = ([overlap] if overlap else []), len(overlap.split()), 0
            current.append(piece)
            count += n
            fresh += n
        if fresh:
            chunks.append(ChunkText(heading, " ".join(current)))
    return chunks

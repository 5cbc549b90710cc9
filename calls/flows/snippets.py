"""A knowledge chunk cut down to what can be said on a phone: the one or two sentences that answer the question."""

from __future__ import annotations

import re

from ..text import tokens

__all__ = ["spoken_snippet"]

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_STOP = frozenset(
    "a an the is are was were be to of in on at for and or do does did you your we our i my me it this that "
    "what when where which who how can could would will with about have has any there".split()
)


def _content(text: str) -> set[str]:
    return {t for t in tokens(text) if t not in _STOP}


def spoken_snippet(text: str, question: str, max_sentences: int = 2, max_words: int = 45) -> str:
    """The sentences of `text` sharing the most words with `question` (at most `max_sentences`, in their
    original order, at most `max_words` words); the first sentences when nothing overlaps."""
    sentences = [s.strip() for s in _SENTENCE.split(" ".join(text.split())) if s.strip()]
    if not sentences:
        return ""
    wanted = _content(question)
    scored = sorted(range(len(sentences)), key=lambda i: (-len(_content(sentences[i]) & wanted), i))
    best = scored[0]
    chosen = [best]
    # A short best sentence usually needs its neighbour to make sense ("Yes. We accept most plans.").
    if max_sentences > 1 and len(sentences) > 1:
        second = scored[1] if _content(sentences[scored[1]]) & wanted else min(best + 1, len(sentences) - 1)
        if second != best:
            chosen.append(second)
    words: list[str] = []
    for i in sorted(chosen):
        sentence_words = sentences[i].split()
        if words and len(words) + len(sentence_words) > max_words:
            break
        words.extend(sentence_words)
    if len(words) > max_words:
        words = words[:max_words]
        words[-1] = words[-1].rstrip(",;:") + "…"
    return " ".join(words)

"""Matching a caller's words to routes without a model: exact keywords (in `types.Route`) first, then example
phrases by similarity.

Similarity is token overlap with a tolerance for misheard words: each content word of an example counts as
matched by the caller's closest word (1.0 equal, less for a near miss, see `fuzzy.similar_words`); the score is
the share of the example matched, lightly scaled by how much of the caller's turn the example explains. Scores
are 0..1; the best example above the threshold wins. Microseconds per route.
"""

from __future__ import annotations

from ..text import tokens
from .fuzzy import similar_words

__all__ = ["content_words", "example_score", "DEFAULT_THRESHOLD"]

DEFAULT_THRESHOLD = 0.5  # e.g. two of an example's three content words
# Words that carry no intent: matching them would make every example look alike.
_STOP = frozenset(
    "a an the is are am was were be been to of in on at for and or but so do does did i me my we us our you "
    "your it its this that these those there here what when where which who how can could would will shall "
    "should may might like want need please just um uh well ok okay hi hello yes no not have has had get got "
    "some any about with from into up out if then than too very really thank thanks someone somebody "
    "anyone anybody something got".split()
)


def content_words(text: str) -> tuple[str, ...]:
    return tuple(t for t in tokens(text) if t not in _STOP)


def example_score(heard: tuple[str, ...], example: tuple[str, ...]) -> float:
    """How well the caller's content words `heard` cover one example's content words."""
    if not heard or not example:
        return 0.0
    matched = 0.0
    used: set[int] = set()
    for word in example:
        best, best_at = 0.0, -1
        for i, candidate in enumerate(heard):
            if i in used:
                continue
            score = similar_words(word, candidate)
            if score > best:
                best, best_at = score, i
        if best_at >= 0:
            used.add(best_at)
            matched += best
    recall = matched / len(example)
    precision = matched / len(heard)
    return recall * (0.75 + 0.25 * precision)

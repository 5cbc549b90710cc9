"""Where a reply's text is cut into sentences for the TTS: one request per sentence, never per abbreviation.

The cuts are pySBD's (rule-based sentence boundary disambiguation: "Dr. Smith can see you at 3 p.m. tomorrow.",
"$12.50", "www.example.com/book", "9:30 a.m." stay whole), plus one rule of ours: a sentence never starts with a
lower-case letter ("on Mon. and Tue." is one sentence).

Text streams in from the brain, so the last piece is the unfinished rest, except when it plainly ends a sentence:
"?" or "!" and a space, or "." and a space after a word that is not an abbreviation, an initial or a time of day
("tomorrow. " is done; "Dr. ", "J. ", "3 p.m. " wait for what follows). A rest is still said when the brain goes
quiet (the speaker's flush), so waiting never strands a sentence.

The agent's language picks pySBD's rules (Spanish "Sr." and "Dra.", German ordinals "am 3. Mai"); a language
pySBD has no rules for is cut with its English ones, which suit most Latin-script text.
"""

from __future__ import annotations

import functools
import re

from calls.languages import language_or_none

#: Words that end with a period inside sentences far more often than they end sentences (lower-case, no dot).
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st jr sr mt ft ave apt dept approx vs no nos tel ext "
    "jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri sat sun".split()
)
_ENDS_SENTENCE = re.compile(r"[.!?][\"')\]]*\s+$")
_LAST_WORD = re.compile(r"(\S+?)[.!?][\"')\]]*\s+$")


@functools.lru_cache(maxsize=8)
def _segmenter(language: str = "en"):
    import pysbd

    return pysbd.Segmenter(language=language, clean=False, char_span=False)


def _pysbd_language(tag: str | None) -> str:
    lang = language_or_none(tag) if tag else None
    return (lang.pysbd if lang is not None else None) or "en"


def _finished(piece: str) -> bool:
    """Does `piece` (the last one of the text so far) certainly end a sentence?"""
    if not _ENDS_SENTENCE.search(piece):
        return False
    if re.search(r"[!?][\"')\]]*\s+$", piece):
        return True
    match = _LAST_WORD.search(piece)
    word = match[1].split()[-1] if match else ""
    bare = word.strip("\"'([").lower()
    if "." in bare or len(bare) <= 1 or bare in _ABBREVIATIONS:
        return False  # "p.m.", "e.g.", "J.", "Dr."
    return True


def split_sentences(text: str, language: str | None = None) -> tuple[list[str], str]:
    """Cut complete sentences off the front of `text`; return (sentences, unfinished rest). `language`: the
    agent's tag ("de-DE"); default English."""
    if not text.strip():
        return [], text
    pieces: list[str] = []
    for piece in _segmenter(_pysbd_language(language)).segment(text):
        if pieces and piece.lstrip()[:1].islower():
            pieces[-1] += piece  # pySBD cut after an abbreviation it did not know
        else:
            pieces.append(piece)
    if not pieces:  # pySBD found no sentence in it (seen in a post-call summary of a stored turn): all of it waits
        return [], text
    lead = text[: len(text) - len(text.lstrip())]
    if lead and not pieces[0].startswith(lead):
        pieces[0] = lead + pieces[0]  # pySBD drops leading spaces
    if _finished(pieces[-1]):
        done, rest = pieces, ""
    else:
        done, rest = pieces[:-1], pieces[-1]
    # Trailing spaces go (they were the gap between sentences); a leading one stays, for the speaker's join of a
    # sentence begun in an earlier piece ("Please hold" + " on.").
    return [p.rstrip() for p in done if p.strip()], rest

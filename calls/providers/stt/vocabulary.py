"""Recognition hints: the words a call expects, in the form each recogniser takes them.

The session builds the terms from what the call knows (`calls.session.vocabulary`) and hands them to the STT as
the option `vocabulary` (a list, most important first). Each recogniser takes a short form of it:

- Whisper: an initial prompt (the "previous text" Whisper conditions on). It is kept short (`PROMPT_MAX_WORDS`):
  a long prompt costs decoder time on every turn and makes Whisper more likely to echo prompt words the caller
  never said. Written as a comma list of the terms, which reads like a glossary rather than a sentence Whisper
  would try to continue.
- Deepgram: `keyterm` (Nova-3 models; up to `KEYTERM_LIMIT` terms) or `keywords` (older models, single words get
  a modest boost), as repeated query parameters.
"""

from __future__ import annotations

import re

PROMPT_MAX_WORDS = 40
KEYTERM_LIMIT = 50  # Deepgram's documented keyterm budget is about 500 tokens; 50 short terms stay inside it
_SPACE = re.compile(r"\s+")


def clean_terms(terms, limit: int | None = None) -> list[str]:
    """Terms without blanks, duplicates (case-insensitive, first kept) or stray punctuation, in their order."""
    seen: set[str] = set()
    out: list[str] = []
    for raw in terms or ():
        term = _SPACE.sub(" ", str(raw)).strip(" ,.;:!?\"'()[]")
        key = term.lower()
        if not term or key in seen or len(term) > 60:
            continue
        seen.add(key)
        out.append(term)
        if limit is not None and len(out) >= limit:
            break
    return out


def split_custom_vocabulary(text: str) -> list[str]:
    """An agent's `custom_vocabulary` (one term per line, or comma-separated) as terms."""
    return clean_terms(part for line in (text or "").splitlines() for part in line.split(","))


def whisper_prompt(terms, max_words: int = PROMPT_MAX_WORDS) -> str:
    """The initial prompt for Whisper: the first terms that fit in `max_words` words, as a glossary line."""
    kept: list[str] = []
    words = 0
    for term in clean_terms(terms):
        n = len(term.split())
        if words + n > max_words:
            break
        kept.append(term)
        words += n
    return ", ".join(kept) + "." if kept else ""


def deepgram_params(terms, model: str) -> dict:
    """Deepgram query parameters for `terms`: keyterm for Nova-3, keywords for the older models."""
    kept = clean_terms(terms, KEYTERM_LIMIT)
    if not kept:
        return {}
    if model.startswith("nova-3"):
        return {"keyterm": kept}
    return {"keywords": [term for term in kept if " " not in term]}  # keywords boosts single words only

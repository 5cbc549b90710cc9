"""`{name}` placeholders in what a flow says, filled from the conversation's variables."""

from __future__ import annotations

import re

from ..conditions import lookup

__all__ = ["fill", "as_text"]

_PLACEHOLDER = re.compile(r"\{([A-Za-z_]\w*(?:\.\w+)*)\}")  # {name}, or {result.slot} into a tool's reply
_SPACES = re.compile(r"[ \t]{2,}")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.!?;:])")
_DANGLING_COMMA = re.compile(r",+(?=[.!?;:,]|$)")  # "Which day, {name}?" with no name -> "Which day?"


def fill(text: str, variables: dict) -> str:
    """`text` with its placeholders filled (unknown names become empty, and the punctuation around them tidied)."""
    if "{" in text:
        text = _PLACEHOLDER.sub(lambda m: as_text(lookup(variables, m.group(1))), text)
        text = _DANGLING_COMMA.sub("", _SPACE_BEFORE_PUNCT.sub(r"\1", _SPACES.sub(" ", text)))
    return text.strip()


def as_text(value: object) -> str:
    return "" if value is None else str(value)

"""Text normalisation shared by the flows (keyword routes, example phrases, slot parsing) and the knowledge
base's BM25 ranking.

It lives here, low in `calls` and free of Django, because both of its users sit above it: `calls.flows` and
`knowledge` (which is below the flows) may both import it, and the pure flow engine stays pure.

Both sides of every comparison (the flow's words and the caller's) go through `normalize()`, so ASR punctuation,
curly apostrophes, accents, contractions and simple inflections do not matter.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalize", "tokens"]

# Contractions are expanded so "I'd like" and "I would like" read the same. 's becomes "is" (possessives too;
# harmless for matching). Common apostrophe-less ASR spellings are included when they are not words themselves.
_SUFFIXES = {"d": "would", "ll": "will", "re": "are", "m": "am", "ve": "have", "s": "is"}
_WHOLE = {
    "can't": "can not", "won't": "will not", "shan't": "shall not", "ain't": "is not", "let's": "let us",
    "dont": "do not", "doesnt": "does not", "didnt": "did not", "cant": "can not", "wont": "will not",
    "isnt": "is not", "arent": "are not", "wasnt": "was not", "werent": "were not", "couldnt": "could not",
    "wouldnt": "would not", "shouldnt": "should not", "havent": "have not", "hasnt": "has not",
    "im": "i am", "ive": "i have", "youre": "you are", "theyre": "they are", "thats": "that is",
    "whats": "what is", "theres": "there is", "itll": "it will", "youll": "you will",
}  # fmt: skip
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
_VOWELS = frozenset("aeiouy")


def _stem(word: str) -> str:
    """A deliberately small suffix stripper: plurals, -ing, -ed, final -e. Same rules for keywords and speech,
    so only consistency matters, not linguistic accuracy."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith(("sses", "shes", "ches", "xes", "zes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    stripped = False
    if word.endswith("ing") and len(word) >= 6:
        word, stripped = word[:-3], True
    elif word.endswith("ed") and len(word) >= 5:
        word, stripped = word[:-2], True
    if stripped and len(word) >= 4 and word[-1] == word[-2] and word[-1] not in _VOWELS and word[-1] not in "lsz":
        word = word[:-1]  # stopping -> stopp -> stop
    if word.endswith("e") and len(word) >= 5:
        word = word[:-1]  # schedule / scheduled / scheduling -> schedul
    return word


def _expand(token: str) -> list[str]:
    whole = _WHOLE.get(token)
    if whole is not None:
        return whole.split()
    if "'" not in token:
        return [token]
    if token.endswith("n't"):
        return [token[:-3], "not"]
    head, _, tail = token.partition("'")
    suffix = _SUFFIXES.get(tail)
    if suffix is not None:
        return [head, suffix]
    return [token.replace("'", "")]  # o'clock, o'brien


def normalize(text: str) -> str:
    """Lower-case words of `text`, contractions expanded and stemmed, joined by single spaces.

    ``"I'd like to book two Appointments!"`` -> ``"i would like to book two appointment"``.
    """
    text = text.lower().translate(_APOSTROPHES)
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    words: list[str] = []
    for token in _TOKEN.findall(text):
        for word in _expand(token):
            if word:
                words.append(_stem(word))
    return " ".join(words)


def tokens(text: str) -> list[str]:
    """`normalize(text)` as a list of words."""
    norm = normalize(text)
    return norm.split() if norm else []

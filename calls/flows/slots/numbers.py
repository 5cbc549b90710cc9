"""Numbers as callers say them and ASR writes them: "21", "twenty one", "twenty-first", "5th".

Only what a phone conversation needs (0 to 9999, ordinals up to 31): a full English number grammar would be
slower and would turn ordinary words ("a second") into numbers more often.
"""

from __future__ import annotations

import re

__all__ = ["slot_words", "read_numbers", "ordinal_suffix", "CARDINALS", "ORDINALS"]

CARDINALS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14, "fifteenth": 15,
    "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19, "twentieth": 20, "thirtieth": 30,
}  # fmt: skip
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+(?:[:.]\d+)?(?:st|nd|rd|th)?")
_MERIDIEM = re.compile(r"\b([ap])\.?\s*m\b\.?")


def slot_words(text: str) -> list[str]:
    """Lower-case words and numbers of `text`; "3 p.m." and "3pm" become "3 pm", "twenty-one" two words."""
    text = text.lower().replace("\u2019", "'").replace("-", " ")
    text = re.sub(r"(\d),(\d{3})\b", r"\1\2", text)  # "1,234" (ASR) -> "1234"
    text = re.sub(r"(\d)([ap])\.?m\b", r"\1 \2m", text)
    text = _MERIDIEM.sub(lambda m: f" {m.group(1)}m ", text)
    return _WORD.findall(text)


def ordinal_suffix(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}" + {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def read_numbers(words: list[str]) -> list[tuple[int, int, int, bool]]:
    """Every number in `words`: (value, first word index, index after its last word, is_ordinal).

    "twenty one" is one number (21) and "twenty first" one ordinal; "one two three" is three numbers (digits are
    read one by one on a phone); "three hundred" and "two thousand and five" are understood.
    """
    found: list[tuple[int, int, int, bool]] = []
    i = 0
    while i < len(words):
        value, end, ordinal = _one(words, i)
        if value is None:
            i += 1
            continue
        found.append((value, i, end, ordinal))
        i = end if end > i else i + 1
    return found


def _digit_word(word: str) -> tuple[int | None, bool]:
    m = re.fullmatch(r"(\d+)(st|nd|rd|th)?", word)
    if m:
        return int(m.group(1)), m.group(2) is not None
    if word in CARDINALS:
        return CARDINALS[word], False
    if word in ORDINALS:
        return ORDINALS[word], True
    return None, False


def _one(words: list[str], i: int) -> tuple[int | None, int, bool]:
    word = words[i]
    if word in TENS:
        value = TENS[word]
        if i + 1 < len(words):
            nxt = words[i + 1]
            if nxt in CARDINALS and 0 < CARDINALS[nxt] < 10:
                return _scale(words, i + 2, value + CARDINALS[nxt])
            if nxt in ORDINALS and ORDINALS[nxt] < 10:
                return value + ORDINALS[nxt], i + 2, True
        return _scale(words, i + 1, value)
    if word.endswith("ieth") and word[:-4] + "y" in TENS:
        return TENS[word[:-4] + "y"], i + 1, True
    value, ordinal = _digit_word(word)
    if value is None:
        return None, i, False
    if ordinal:
        return value, i + 1, True
    if word.isdigit():
        return value, i + 1, False
    return _scale(words, i + 1, value)


def _scale(words: list[str], j: int, value: int) -> tuple[int, int, bool]:
    """`value` followed by "hundred" / "thousand" (and "and" + the rest): "two hundred and five" -> 205."""
    total = value
    while j < len(words) and words[j] in ("hundred", "thousand"):
        total *= 100 if words[j] == "hundred" else 1000
        j += 1
        k = j + 1 if j < len(words) and words[j] == "and" else j
        if k < len(words) and (words[k] in CARDINALS or words[k] in TENS) and words[k] != "oh":
            rest, end, _ = _one(words, k)
            if rest is not None and rest < 100:
                total += rest
                j = end
    return total, j, False

"""The small slot kinds: yes/no, number, digits, name and free text."""

from __future__ import annotations

import re

from .base import OutOfRange, SlotValue
from .numbers import CARDINALS, read_numbers, slot_words

__all__ = ["parse_yes_no", "parse_number", "parse_digits", "parse_name", "parse_text", "check_number",
           "check_digits", "YES_KEY", "NO_KEY"]  # fmt: skip

YES_KEY, NO_KEY = "1", "2"
_YES = {"yes", "yeah", "yep", "yup", "ya", "yea", "correct", "right", "sure", "ok", "okay", "absolutely",
        "definitely", "perfect", "affirmative", "exactly", "certainly", "great", "fine", "confirm"}  # fmt: skip
_NO = {"no", "nope", "nah", "not", "wrong", "incorrect", "never", "cancel", "negative", "don't", "isn't",
       "wasn't", "change"}  # fmt: skip


def parse_yes_no(text: str) -> SlotValue | None:
    """The first yes-word or no-word decides: "no, that's right" is no, "that's not right" is no (the "not"
    comes first), "yes please" is yes."""
    for word in slot_words(text):
        if word in _NO:
            return SlotValue(False, "no")
        if word in _YES:
            return SlotValue(True, "yes")
    return None


def parse_number(text: str) -> SlotValue | None:
    """The first number said, as digits or words ("twenty one" -> 21)."""
    for value, _start, _end, ordinal in read_numbers(slot_words(text)):
        if not ordinal:
            return SlotValue(value, str(value))
    return None


def parse_digits(text: str) -> SlotValue | None:
    """A digit string spoken digit by digit or in groups ("one two three four", "12 34", "oh five"); words
    that are not digits are ignored, so "my code is 1234" works."""
    out: list[str] = []
    words = slot_words(text)
    for i, word in enumerate(words):
        if word.isdigit():
            out.append(word)
        elif word in ("oh", "o") and (out or (i + 1 < len(words) and words[i + 1] in CARDINALS)):
            out.append("0")
        elif word in ("double", "triple") and i + 1 < len(words) and words[i + 1] in CARDINALS:
            out.append(str(CARDINALS[words[i + 1]]) * (1 if word == "double" else 2))  # the next word adds one
        elif word in CARDINALS and CARDINALS[word] < 10:
            out.append(str(CARDINALS[word]))
    digits = "".join(out)
    return digits_value(digits) if digits else None


def digits_value(digits: str) -> SlotValue:
    return SlotValue(digits, " ".join(digits))


_LEAD_IN = re.compile(
    r"^(?:(?:yes|yeah|no|nope|sure|ok|okay|hi|hello|um|uh|well)[,.]?\s+)*"
    r"(?:my name is|my name's|the name is|the name's|name's|name is|it's|it is|this is|i'm|i am|call me|"
    r"you can call me|put it under|under)\s+",
    re.IGNORECASE,
)
_TAIL = re.compile(r"[\s,.!?]+(?:please|thanks|thank you|thankyou)?[\s,.!?]*$", re.IGNORECASE)
_NAME_WORD = re.compile(r"^[^\W\d_]+(?:['\-][^\W\d_]+)*$")
_NOT_NAMES = {"i", "don't", "know", "no", "yes", "not", "sure", "what", "why", "sorry", "hello", "um", "uh"}


def parse_name(text: str) -> SlotValue | None:
    """A person's name: lead-ins ("my name is", "it's", "this is") and politeness stripped, 1 to 4 words of
    letters, capitalised. "I don't know" and other non-names are refused, so the node asks again."""
    text = text.replace("\u2019", "'").strip()
    text = _LEAD_IN.sub("", text, count=1)
    text = _TAIL.sub("", text).strip(" ,.!?")
    words = [w for w in re.split(r"[\s,]+", text) if w]
    if not 1 <= len(words) <= 4 or not all(_NAME_WORD.match(w) for w in words):
        return None
    if {w.lower() for w in words} & _NOT_NAMES:
        return None
    name = " ".join(w[:1].upper() + w[1:] for w in words)
    return SlotValue(name, name)


def parse_text(text: str) -> SlotValue | None:
    text = text.strip()
    return SlotValue(text, text) if text else None


def check_number(value: SlotValue, options: dict) -> None:
    n = int(value.value)
    if "min" in options and n < options["min"]:
        raise OutOfRange("too small")
    if "max" in options and n > options["max"]:
        raise OutOfRange("too big")


def check_digits(value: SlotValue, options: dict) -> None:
    n = len(str(value.value))
    if "min_digits" in options and n < options["min_digits"]:
        raise OutOfRange("too few digits")
    if "max_digits" in options and n > options["max_digits"]:
        raise OutOfRange("too many digits")

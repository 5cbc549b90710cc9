"""Times of day as callers say them and ASR writes them.

"3 pm", "3pm", "3 p.m.", "three o'clock in the afternoon", "14:30", "2:30", "2.30 pm", "1030", "ten thirty",
"half past two", "quarter to four", "twenty past ten", "noon", "midnight". Without am/pm, 1 to 7 o'clock are
taken as afternoon (callers booking a visit mean 3 pm, not 3 am); a node can turn that off with
``"assume_daytime": false``. By keypad: HHMM or HMM on a 24-hour clock, or 1-2 digits for the hour.
"""

from __future__ import annotations

from datetime import time

from .base import OutOfRange, SlotValue
from .numbers import CARDINALS, TENS, read_numbers, slot_words

__all__ = ["parse_time", "time_from_digits", "check_time", "spoken_time"]

_AFTERNOON = {"afternoon", "evening", "tonight", "night", "pm"}
_MORNING = {"morning", "am"}
_MINUTE_WORDS = {"half": 30, "quarter": 15}


def spoken_time(t: time) -> str:
    if t == time(12, 0):
        return "noon"
    if t == time(0, 0):
        return "midnight"
    hour = t.hour % 12 or 12
    suffix = "am" if t.hour < 12 else "pm"
    return f"{hour} {suffix}" if t.minute == 0 else f"{hour}:{t.minute:02d} {suffix}"


def _value(t: time) -> SlotValue:
    return SlotValue(f"{t.hour:02d}:{t.minute:02d}", spoken_time(t))


def _meridiem(hour: int, words: set[str], assume_daytime: bool) -> int | None:
    if hour > 23:
        return None
    if hour > 12 or hour == 0:
        return hour  # already a 24-hour clock
    if words & _AFTERNOON:
        return hour if hour == 12 else hour + 12
    if words & _MORNING:
        return 0 if hour == 12 else hour
    if assume_daytime and 1 <= hour <= 7:
        return hour + 12
    return hour


def parse_time(text: str, *, assume_daytime: bool = True) -> SlotValue | None:
    """The time of day in `text`, or None if there is none."""
    words = slot_words(text)
    if not words:
        return None
    bag = set(words)
    if "noon" in bag or "midday" in bag:
        return _value(time(12, 0))
    if "midnight" in bag:
        return _value(time(0, 0))

    # "14:30", "2.30", "1030"
    for word in words:
        hour = minute = None
        if ":" in word or "." in word:
            h, _, m = word.replace(".", ":").partition(":")
            if h.isdigit() and m.isdigit() and len(m) == 2:
                hour, minute = int(h), int(m)
        elif word.isdigit() and len(word) in (3, 4):
            hour, minute = int(word[:-2]), int(word[-2:])
        if hour is not None and minute is not None and minute < 60:
            hour = _meridiem(hour, bag, assume_daytime)
            return _value(time(hour, minute)) if hour is not None else None

    numbers = [(v, start, end) for v, start, end, ordinal in read_numbers(words) if not ordinal]
    # "half past two", "quarter to four", "twenty past ten", "10 to 3"
    for i, word in enumerate(words):
        if word not in ("past", "to", "after", "before") or i == 0:
            continue
        minutes = _MINUTE_WORDS.get(words[i - 1])
        if minutes is None:
            minutes = next((v for v, _s, end in numbers if end == i and v < 60), None)
            if minutes is None and words[i - 1] == "minutes":
                minutes = next((v for v, _s, end in numbers if end == i - 1 and v < 60), None)
        hour = next((v for v, start, _e in numbers if start == i + 1), None)
        if minutes is None or hour is None or not 1 <= hour <= 12:
            continue
        hour = _meridiem(hour, bag, assume_daytime)
        if hour is None:
            continue
        total = hour * 60 + (minutes if word in ("past", "after") else -minutes)
        return _value(time((total // 60) % 24, total % 60))

    # "3 pm", "three o'clock", "ten thirty", "two fifteen", "at 9"
    for index, (value, start, end) in enumerate(numbers):
        if not 0 <= value <= 23:
            continue
        minute = 0
        following = numbers[index + 1] if index + 1 < len(numbers) else None
        if following is not None and following[1] == end and 0 < following[0] < 60 and _is_minutes(words, end):
            minute = following[0]
        elif end < len(words) and words[end] in ("o'clock", "oclock"):
            minute = 0
        elif not _looks_like_time(words, start, end, bag):
            continue
        hour = _meridiem(value, bag, assume_daytime)
        return _value(time(hour, minute)) if hour is not None else None
    return None


def _is_minutes(words: list[str], start: int) -> bool:
    """"ten thirty": the minute word is one of thirty / fifteen / forty five..., not "ten one" (two numbers)."""
    word = words[start]
    return word in TENS or word in ("fifteen", "ten", "five") or (word.isdigit() and len(word) == 2) or (
        word in CARDINALS and start > 0 and words[start - 1] in ("oh", "o")
    )


def _looks_like_time(words: list[str], start: int, end: int, bag: set[str]) -> bool:
    before = words[start - 1] if start > 0 else ""
    after = words[end] if end < len(words) else ""
    return (
        after in ("am", "pm", "o'clock", "oclock", "in")
        or before in ("at", "around", "about", "for", "by", "after", "before")
        or bool(bag & (_AFTERNOON | _MORNING))
        or len(words) <= 2  # a bare "three" or "3 please" answers "what time?"
    )


def time_from_digits(digits: str, *, assume_daytime: bool = True) -> SlotValue | None:
    """Keypad entry: HHMM / HMM on a 24-hour clock ("1430", "930"), or the hour alone ("9", "15")."""
    if not digits.isdigit() or not 1 <= len(digits) <= 4:
        return None
    if len(digits) <= 2:
        hour, minute = int(digits), 0
        hour = _meridiem(hour, set(), assume_daytime)
    else:
        hour, minute = int(digits[:-2]), int(digits[-2:])
    if hour is None or hour > 23 or minute > 59:
        return None
    return _value(time(hour, minute))


def check_time(value: SlotValue, options: dict) -> None:
    """Raise OutOfRange unless `min` <= time <= `max` ("HH:MM", both optional)."""
    text = str(value.value)
    if options.get("min") and text < options["min"]:
        raise OutOfRange("too early")
    if options.get("max") and text > options["max"]:
        raise OutOfRange("too late")

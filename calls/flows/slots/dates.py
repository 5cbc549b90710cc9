"""Dates as callers say them, resolved against today's date (injected, so tests and time zones are exact).

Understood: "today", "tomorrow", "the day after tomorrow", weekday names ("Friday", "next Friday", "this
Friday": the next such day after today), a day of the month ("the 5th", "on the fifth": the next 5th from today),
a month and day ("March 3rd", "the 3rd of March", "March the third", optional year: the next such date), ISO
("2026-03-03") and US numeric ("3/5", "3/5/2026"). By keypad: 1-2 digits are a day of the month, 4 digits MMDD.

How a date is said back follows how the caller said it: "tomorrow", "Friday", or "Tuesday the 5th" (with the
month when it is not this month's).
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

from ..fuzzy import edit_distance
from .base import OutOfRange, SlotValue
from .numbers import ordinal_suffix, read_numbers, slot_words

__all__ = ["parse_date", "date_from_digits", "check_date", "WEEKDAYS"]

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_WEEKDAY_SHORT = {"mon": 0, "tue": 1, "tues": 1, "wed": 2, "thu": 3, "thur": 3, "thurs": 3, "fri": 4, "sat": 5,
                  "sun": 6}  # fmt: skip
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTH_SHORT = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
                "oct": 10, "nov": 11, "dec": 12}  # fmt: skip
_ISO = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_US = re.compile(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?\b")


def _weekday(word: str) -> int | None:
    if word in WEEKDAYS:
        return WEEKDAYS.index(word)
    if word.endswith("s") and word[:-1] in WEEKDAYS:  # "mondays"
        return WEEKDAYS.index(word[:-1])
    return _WEEKDAY_SHORT.get(word)


def _month(word: str, fuzzy: bool) -> int | None:
    if word in _MONTHS:
        return _MONTHS[word]
    if word in _MONTH_SHORT:
        return _MONTH_SHORT[word]
    if fuzzy and len(word) >= 4:
        # ASR slips on month names ("Mark 3rd" for "March third"); accepted only next to a day number.
        for name, number in _MONTHS.items():
            if len(name) >= 5 and edit_distance(word, name, 2) <= 2 and word[0] == name[0]:
                return number
    return None


def _spoken(day: date, today: date) -> str:
    text = f"{calendar.day_name[day.weekday()]} the {ordinal_suffix(day.day)}"
    if (day.year, day.month) != (today.year, today.month):
        text += f" of {calendar.month_name[day.month]}"
    return text


def _value(day: date, spoken: str) -> SlotValue:
    return SlotValue(day.isoformat(), spoken)


def _next_day_of_month(d: int, today: date) -> date | None:
    year, month = today.year, today.month
    for _ in range(13):
        if d <= calendar.monthrange(year, month)[1]:
            candidate = date(year, month, d)
            if candidate >= today:
                return candidate
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return None


def _month_day(month: int, d: int, year: int | None, today: date) -> date | None:
    years = [year] if year else [today.year, today.year + 1]
    for y in years:
        try:
            candidate = date(y, month, d)
        except ValueError:
            return None
        if year or candidate >= today:
            return candidate
    return None


def parse_date(text: str, today: date) -> SlotValue | None:
    """The date in `text`, or None if there is none."""
    raw = text.lower()
    if m := _ISO.search(raw):
        try:
            day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
        return _value(day, _spoken(day, today))
    if m := _US.search(raw):
        year = int(m.group(3)) if m.group(3) else None
        if year is not None and year < 100:
            year += 2000
        day = _month_day(int(m.group(1)), int(m.group(2)), year, today)
        return _value(day, _spoken(day, today)) if day else None

    words = slot_words(text)
    joined = " ".join(words)
    if "day after tomorrow" in joined:
        day = today + timedelta(days=2)
        return _value(day, _spoken(day, today))
    if "tomorrow" in words:
        return _value(today + timedelta(days=1), "tomorrow")
    if "today" in words or "tonight" in words:
        return _value(today, "today")

    numbers = [(v, start, end, ordinal) for v, start, end, ordinal in read_numbers(words) if 1 <= v <= 31]
    years = [v for v, *_ in read_numbers(words) if 2000 <= v <= 2100]
    # A month next to a day number: "March 3rd", "3rd of March", "the third of March", "March the 3rd".
    for i, word in enumerate(words):
        month = _month(word, fuzzy=False)
        exact = month is not None
        if month is None and numbers:
            month = _month(word, fuzzy=True)
        if month is None or (word == "may" and _adjacent_day(words, i, numbers) is None):
            continue  # "may I book..." is not a month
        number = _adjacent_day(words, i, numbers)
        if number is None:
            if exact:
                return None  # "in March": a month without a day we can place
            continue
        day = _month_day(month, number, years[0] if years else None, today)
        return _value(day, _spoken(day, today)) if day else None

    weekday = next((w for w in map(_weekday, words) if w is not None), None)
    # A day of the month: an ordinal ("the 5th", "on the fifth"), or a number after "the".
    for v, start, _end, ordinal in numbers:
        if ordinal or (start > 0 and words[start - 1] == "the"):
            day = _next_day_of_month(v, today)
            return _value(day, _spoken(day, today)) if day else None
    if weekday is not None:
        ahead = (weekday - today.weekday()) % 7 or 7  # "Monday" said on a Monday means next week's
        day = today + timedelta(days=ahead)
        return _value(day, calendar.day_name[weekday])
    return None


def _adjacent_day(words: list[str], i: int, numbers: list[tuple[int, int, int, bool]]) -> int | None:
    """The day number right after the month at `i` ("March 3rd", "March the 3rd") or right before it ("3rd March",
    "3rd of March")."""
    for value, start, end, _ordinal in numbers:
        after = start == i + 1 or (start == i + 2 and words[i + 1] == "the")
        before = end == i or (end == i - 1 and words[i - 1] == "of")
        if after or before:
            return value
    return None


def date_from_digits(digits: str, today: date) -> SlotValue | None:
    """Keypad entry: 1-2 digits are a day of this or next month, 4 digits are MMDD."""
    if not digits.isdigit():
        return None
    if len(digits) <= 2:
        day = _next_day_of_month(int(digits), today) if 1 <= int(digits) <= 31 else None
    elif len(digits) == 4:
        day = _month_day(int(digits[:2]), int(digits[2:]), None, today) if 1 <= int(digits[:2]) <= 12 else None
    else:
        return None
    return _value(day, _spoken(day, today)) if day else None


def check_date(value: SlotValue, today: date, options: dict) -> None:
    """Raise OutOfRange unless the date is within `min_days_ahead` / `max_days_ahead` of today (default: not in the
    past) and on one of the allowed `weekdays`."""
    day = date.fromisoformat(str(value.value))
    ahead = (day - today).days
    if ahead < int(options.get("min_days_ahead", 0)):
        raise OutOfRange("too early")
    if "max_days_ahead" in options and ahead > int(options["max_days_ahead"]):
        raise OutOfRange("too far ahead")
    allowed = options.get("weekdays")
    if allowed and WEEKDAYS[day.weekday()] not in {w.lower() for w in allowed}:
        raise OutOfRange("weekday not allowed")

"""Slot kinds for `collect` nodes: how a caller's words (or keys) become a value, and the value's limits.

Parsers are pure functions of the text and today's date (injected): no clock, no I/O, sub-millisecond.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from .base import OutOfRange, SlotValue
from .basic import (
    NO_KEY,
    YES_KEY,
    check_digits,
    check_number,
    digits_value,
    parse_digits,
    parse_name,
    parse_number,
    parse_text,
    parse_yes_no,
)
from .dates import check_date, date_from_digits, parse_date
from .times import check_time, parse_time, time_from_digits

__all__ = ["SlotKind", "SlotValue", "OutOfRange", "KINDS", "YES_KEY", "NO_KEY", "parse_yes_no"]


@dataclass(frozen=True)
class SlotKind:
    parse: Callable[[str, date, dict], SlotValue | None]
    #: Keypad entry (digits collected until '#' or `max_digits`); None: keys only pick `dtmf_choices`.
    from_digits: Callable[[str, date, dict], SlotValue | None] | None = None
    check: Callable[[SlotValue, date, dict], None] | None = None
    #: Accepts nearly any words (a name, free text): the flow's global routes are tried first, otherwise
    #: "goodbye" would be taken for a name.
    greedy: bool = False
    #: Digits after which keypad entry stops without '#'.
    max_keys: int | None = None
    #: Node fields this kind reads (validated by the schema), with their JSON types.
    options: dict[str, type | tuple[type, ...]] | None = None


def _number_from_digits(digits: str, today: date, o: dict) -> SlotValue | None:
    return SlotValue(int(digits), str(int(digits))) if digits else None


KINDS: dict[str, SlotKind] = {
    "yes_no": SlotKind(parse=lambda text, today, o: parse_yes_no(text)),
    "number": SlotKind(
        parse=lambda text, today, o: parse_number(text),
        from_digits=_number_from_digits,
        check=lambda v, today, o: check_number(v, o),
        options={"min": int, "max": int, "max_digits": int},
    ),
    "digits": SlotKind(
        parse=lambda text, today, o: parse_digits(text),
        from_digits=lambda digits, today, o: digits_value(digits) if digits else None,
        check=lambda v, today, o: check_digits(v, o),
        options={"min_digits": int, "max_digits": int},
    ),
    "date": SlotKind(
        parse=lambda text, today, o: parse_date(text, today),
        from_digits=lambda digits, today, o: date_from_digits(digits, today),
        check=check_date,
        max_keys=4,
        options={"min_days_ahead": int, "max_days_ahead": int, "weekdays": list},
    ),
    "time": SlotKind(
        parse=lambda text, today, o: parse_time(text, assume_daytime=o.get("assume_daytime", True)),
        from_digits=lambda digits, today, o: time_from_digits(digits, assume_daytime=o.get("assume_daytime", True)),
        check=lambda v, today, o: check_time(v, o),
        max_keys=4,
        options={"min": str, "max": str, "assume_daytime": bool},
    ),
    "name": SlotKind(parse=lambda text, today, o: parse_name(text), greedy=True),
    "text": SlotKind(parse=lambda text, today, o: parse_text(text), greedy=True),
}

"""Slot parsers: what callers say (and what Whisper writes) becomes a value, relative to an injected date."""

from __future__ import annotations

from datetime import date

import pytest

from calls.flows.slots import KINDS, OutOfRange
from calls.flows.slots.basic import parse_digits, parse_name, parse_number, parse_yes_no
from calls.flows.slots.dates import check_date, date_from_digits, parse_date
from calls.flows.slots.times import parse_time, time_from_digits

TODAY = date(2026, 3, 4)  # a Wednesday


@pytest.mark.parametrize("said, value, spoken", [
    ("Tomorrow please.", "2026-03-05", "tomorrow"),
    ("today", "2026-03-04", "today"),
    ("the day after tomorrow", "2026-03-06", "Friday the 6th"),
    ("Friday", "2026-03-06", "Friday"),
    ("next Friday", "2026-03-06", "Friday"),
    ("Wednesday", "2026-03-11", "Wednesday"),  # said on a Wednesday: next week's
    ("mondays are best", "2026-03-09", "Monday"),
    ("the 5th", "2026-03-05", "Thursday the 5th"),
    ("On the fifth.", "2026-03-05", "Thursday the 5th"),
    ("the 2nd", "2026-04-02", "Thursday the 2nd of April"),  # already past this month
    ("Tuesday the 10th", "2026-03-10", "Tuesday the 10th"),
    ("March 3rd", "2027-03-03", "Wednesday the 3rd of March"),  # past this year: next year's
    ("the third of April", "2026-04-03", "Friday the 3rd of April"),
    ("April the twenty-first", "2026-04-21", "Tuesday the 21st of April"),
    ("Mark 3rd", "2027-03-03", "Wednesday the 3rd of March"),  # Whisper's "March third"
    ("May 5th", "2026-05-05", "Tuesday the 5th of May"),
    ("2026-04-01", "2026-04-01", "Wednesday the 1st of April"),
    ("4/1", "2026-04-01", "Wednesday the 1st of April"),
])  # fmt: skip
def test_dates(said, value, spoken):
    parsed = parse_date(said, TODAY)
    assert parsed is not None and (parsed.value, parsed.spoken) == (value, spoken)


@pytest.mark.parametrize("said", ["hello", "may I book", "in March", "the 32nd", "I have 2 kids"])
def test_not_dates(said):
    assert parse_date(said, TODAY) is None


def test_dates_by_keypad_and_limits():
    assert date_from_digits("5", TODAY).value == "2026-03-05"
    assert date_from_digits("0410", TODAY).value == "2026-04-10"
    assert date_from_digits("1332", TODAY) is None
    tomorrow = parse_date("tomorrow", TODAY)
    check_date(tomorrow, TODAY, {"max_days_ahead": 30})
    with pytest.raises(OutOfRange):
        check_date(parse_date("March 3rd", TODAY), TODAY, {"max_days_ahead": 90})
    with pytest.raises(OutOfRange):
        check_date(parse_date("Sunday", TODAY), TODAY, {"weekdays": ["Monday", "Tuesday"]})
    with pytest.raises(OutOfRange):
        check_date(parse_date("2026-03-01", TODAY), TODAY, {})  # the past


@pytest.mark.parametrize("said, value, spoken", [
    ("3 pm", "15:00", "3 pm"),
    ("3 p.m. please", "15:00", "3 pm"),
    ("At three pm", "15:00", "3 pm"),
    ("three o'clock in the afternoon", "15:00", "3 pm"),
    ("14:30", "14:30", "2:30 pm"),
    ("2.30 pm", "14:30", "2:30 pm"),
    ("Tomorrow, 1030.", "10:30", "10:30 am"),
    ("ten thirty", "10:30", "10:30 am"),
    ("half past two", "14:30", "2:30 pm"),  # no am/pm: 1 to 7 o'clock is the afternoon
    ("quarter to four", "15:45", "3:45 pm"),
    ("twenty past ten", "10:20", "10:20 am"),
    ("9 in the morning", "09:00", "9 am"),
    ("noon", "12:00", "noon"),
    ("around eleven", "11:00", "11 am"),
])  # fmt: skip
def test_times(said, value, spoken):
    parsed = parse_time(said)
    assert parsed is not None and (parsed.value, parsed.spoken) == (value, spoken)


def test_times_by_keypad_and_night_owls():
    assert time_from_digits("1430").value == "14:30"
    assert time_from_digits("930").value == "09:30"
    assert time_from_digits("3").value == "15:00"
    assert time_from_digits("2460") is None
    assert parse_time("at 3", assume_daytime=False).value == "03:00"
    assert parse_time("I have 2 kids") is None


@pytest.mark.parametrize("said, value", [
    ("Yes, that's right.", True), ("yeah", True), ("Correct.", True), ("No.", False),
    ("that's not right", False), ("nope", False), ("uh huh", None),
])  # fmt: skip
def test_yes_no(said, value):
    parsed = parse_yes_no(said)
    assert (parsed.value if parsed else None) == value


def test_numbers_digits_and_names():
    assert parse_number("twenty one people").value == 21
    assert parse_number("I'm 42").value == 42
    assert parse_number("none") is None
    assert (parse_digits("one two three four").value, parse_digits("one two three four").spoken) == ("1234", "1 2 3 4")
    assert parse_digits("my code is 12 34").value == "1234"
    assert parse_digits("nine oh one").value == "901"
    assert parse_name("My name is Peter Brown.").value == "Peter Brown"
    assert parse_name("No, it's Anna-Lee O'Brien please").value == "Anna-Lee O'Brien"
    assert parse_name("I don't know") is None
    assert parse_name("my number is 1234") is None


def test_every_kind_has_a_parser():
    assert set(KINDS) == {"yes_no", "number", "digits", "date", "time", "name", "text"}
    assert KINDS["name"].greedy and KINDS["text"].greedy and not KINDS["date"].greedy

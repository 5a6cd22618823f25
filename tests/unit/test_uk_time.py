"""UK time in words (knowledge/text/uk_time.py): the one place the bot writes a 12-hour clock
or a day, so the surgery, the reminders and the broadcasts read alike."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from knowledge.shared.settings import Settings
from knowledge.text.uk_time import UK_TZ, clock_words, date_words, day_month_words, short_date_words


@pytest.mark.parametrize(
    ("moment", "words"),
    [
        (dt.time(15, 15), "3:15pm"),
        (dt.time(15, 0), "3pm"),
        (dt.time(9, 5), "9:05am"),
        (dt.time(12, 0), "12pm"),
        (dt.time(0, 30), "12:30am"),
        (dt.datetime(2026, 11, 24, 16, 0), "4pm"),
        ((15, 15), "3:15pm"),
        ((24, 0), "12am"),  # the midnight that ends a day
    ],
)
def test_clock_words_writes_the_12_hour_clock(moment, words):
    assert clock_words(moment) == words


def test_the_senco_hears_noon_and_midnight_by_name():
    assert clock_words(dt.time(12, 0), noon_and_midnight=True) == "noon"
    assert clock_words(dt.time(0, 0), noon_and_midnight=True) == "midnight"
    assert clock_words((24, 0), noon_and_midnight=True) == "midnight"
    assert clock_words(dt.time(12, 30), noon_and_midnight=True) == "12:30pm"


def test_days_are_written_in_uk_order_without_leading_zeros():
    day = dt.date(2026, 12, 1)
    assert date_words(day) == "Tuesday 1 December"
    assert date_words(day, year=True) == "Tuesday 1 December 2026"
    assert day_month_words(day) == "1 December"
    assert short_date_words(day) == "Tue 1 Dec"


def test_one_time_zone_is_the_default_everywhere():
    assert UK_TZ == "Europe/London"
    assert ZoneInfo(UK_TZ)
    assert Settings.__dataclass_fields__["timezone"].default == UK_TZ

"""Reading what the SENCo types (knowledge/surgery/requests.py): a weekly surgery or a day to
block out, every day and time read by the one date reader (knowledge/text/dates.py). A real
school calendar file; the clock is Monday 23 November 2026, 9am UK time."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest

from knowledge.schools.calendar import SchoolCalendar
from knowledge.surgery import requests
from knowledge.text import dates

UK = ZoneInfo("Europe/London")
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=UK)  # Monday, GMT
TODAY = NOW.date()


@pytest.fixture
def calendar(settings) -> SchoolCalendar:
    return SchoolCalendar.load(settings.school_calendar)


def as_tuple(request: requests.SurgeryRequest) -> tuple:
    return (
        request.weekdays,
        request.start,
        request.end,
        request.slot_minutes,
        request.capacity,
        request.starts_on,
        request.ends_on,
    )


# --- reading what the SENCo types --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "open surgery slots on Tuesdays 3:15 to 4:15, 15 minutes each, for the autumn term",
            ((1,), "15:15", "16:15", 15, 1, TODAY, dt.date(2026, 12, 18)),
        ),
        (
            "open slots every Thursday 12:30-13:00 20 min",
            ((3,), "12:30", "13:00", 20, 1, TODAY, dt.date(2026, 12, 18)),
        ),
        (
            "open Wednesdays 3.30 till 5 in 30 minute slots until Christmas",
            ((2,), "15:30", "17:00", 30, 1, TODAY, dt.date(2026, 12, 18)),
        ),
        (
            "open slots on Mondays from 3pm to 4pm, 10 mins, 2 per slot, this term",
            ((0,), "15:00", "16:00", 10, 2, TODAY, dt.date(2026, 12, 18)),
        ),
        (
            "OPEN TUES AND THURS 3-4PM, HALF AN HOUR EACH, 3 PEOPLE EACH, NEXT TERM",
            ((1, 3), "15:00", "16:00", 30, 3, dt.date(2027, 1, 5), dt.date(2027, 3, 26)),
        ),
        (
            "please open fridays 9 to 10am from 5 January until 12 February",
            ((4,), "09:00", "10:00", 15, 1, dt.date(2027, 1, 5), dt.date(2027, 2, 12)),
        ),
        (
            "open slots on Mondays at noon till 1, until 18 December",
            ((0,), "12:00", "13:00", 15, 1, TODAY, dt.date(2026, 12, 18)),
        ),
    ],
)
def test_the_senco_can_ask_for_a_surgery_in_her_own_words(calendar, text, expected):
    request = requests.parse_surgery_request(text, today=TODAY, calendar=calendar)
    assert isinstance(request, requests.SurgeryRequest), request
    assert as_tuple(request) == expected


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("open slots 3:15 to 4:15, 15 minutes each", "Which day of the week?"),
        ("open slots on Tuesdays for the autumn term", "What times on Tuesdays?"),
        ("open some surgery slots please", "Which day of the week, and what times?"),
        ("open Tuesdays 3:15 to 3:25, 15 minutes each", "doesn't fit"),
    ],
)
def test_a_request_with_something_missing_gets_one_question_with_an_example(calendar, text, asks):
    answer = requests.parse_surgery_request(text, today=TODAY, calendar=calendar)
    assert isinstance(answer, requests.NeedsQuestion)
    assert asks in answer.question


def test_describe_echoes_the_request_in_plain_uk_english(calendar):
    request = requests.parse_surgery_request(
        "open surgery slots on Tuesdays 3:15 to 4:15, 15 minutes each, for the autumn term",
        today=dt.date(2026, 8, 20),
        calendar=calendar,
    )
    assert requests.describe(request) == (
        "Tuesdays 3:15pm to 4:15pm, 15-minute slots, 1 person each, 2 September to 18 December 2026"
    )
    defaulted = requests.parse_surgery_request("open Thursdays 12:30 to 1:30", today=TODAY, calendar=calendar)
    assert "15-minute slots (the default)" in requests.describe(defaulted)


def test_a_request_survives_a_round_trip_through_json_for_the_confirm_button(calendar):
    request = requests.parse_surgery_request(
        "open Tuesdays and Thursdays 3:15-4:15, 2 per slot, next term", today=TODAY, calendar=calendar
    )
    again = requests.SurgeryRequest(**json.loads(json.dumps(requests.as_dict(request))))
    assert again == request
    assert requests.describe(again) == (
        "Tuesdays and Thursdays 3:15pm to 4:15pm, 15-minute slots (the default), 2 people each, "
        "5 January to 26 March 2027"
    )


def test_a_question_is_plain_text_the_bot_can_send(calendar):
    answer = requests.parse_blockout_request("block out please", TODAY)
    assert isinstance(answer, str)
    assert answer == answer.question


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("block out 4 December", (dt.date(2026, 12, 4), None, None)),
        ("block out tomorrow afternoon", (dt.date(2026, 11, 24), "12:00", "23:59")),
        ("I'm off on Friday 4th Dec", (dt.date(2026, 12, 4), None, None)),
        ("block out the 4th", (dt.date(2026, 12, 4), None, None)),
        ("block out 4/12", (dt.date(2026, 12, 4), None, None)),
        ("block out Friday 2 to 4pm", (dt.date(2026, 11, 27), "14:00", "16:00")),
        ("can you block out wednesday morning", (dt.date(2026, 11, 25), "00:00", "12:00")),
    ],
)
def test_block_out_requests_are_read_as_a_day_and_optional_times(text, expected):
    assert tuple(requests.parse_blockout_request(text, TODAY)) == expected


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("block out please", "Which day"),
        ("block out Thursday 4 December", "is a Friday, not a Thursday"),
        ("block out 31 February", "not a date"),
    ],
)
def test_an_unclear_block_out_gets_a_question(text, asks):
    answer = requests.parse_blockout_request(text, TODAY)
    assert isinstance(answer, requests.NeedsQuestion)
    assert asks in answer.question


# --- issue #12: "next Tuesday" is read the same way by both readers ---------------------------

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@pytest.mark.parametrize("said_on", range(7), ids=DAY_NAMES)
@pytest.mark.parametrize("named", range(7), ids=DAY_NAMES)
def test_block_out_reads_next_weekday_as_the_booking_reader_does(said_on, named):
    now = NOW + dt.timedelta(days=said_on)
    when = dates.parse_when(f"next {DAY_NAMES[named]}", now)
    answer = requests.parse_blockout_request(f"block out next {DAY_NAMES[named]}", now.date())
    if when.choices:
        assert isinstance(answer, requests.NeedsQuestion)
        assert answer.question.startswith(when.question)
        assert [c.day for c in answer.choices] == [c.start.date() for c in when.choices]
    else:
        assert answer == requests.BlockoutRequest(when.start.date(), None, None)


def test_blocking_out_next_tuesday_afternoon_on_a_monday_offers_both_tuesdays_with_the_hours():
    answer = requests.parse_blockout_request("block out next tuesday afternoon", TODAY)
    assert answer.question.startswith("Do you mean Tuesday 24 November (tomorrow) or Tuesday 1 December?")
    assert answer.choices == (
        requests.BlockoutRequest(dt.date(2026, 11, 24), "12:00", "23:59"),
        requests.BlockoutRequest(dt.date(2026, 12, 1), "12:00", "23:59"),
    )
    assert requests.parse_blockout_request("block out this tuesday", TODAY) == (
        dt.date(2026, 11, 24),
        None,
        None,
    )


# --- issue #14: one date reader. The old reader's cases, read by knowledge.text.dates ------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("open surgery tuesdays 3-4", ((1,), "15:00", "16:00", 15, 1, TODAY, dt.date(2026, 12, 18))),
        ("open tuesdays 7 to 8", ((1,), "19:00", "20:00", 15, 1, TODAY, dt.date(2026, 12, 18))),
        ("open tuesdays 3 and 4", ((1,), "15:00", "16:00", 15, 1, TODAY, dt.date(2026, 12, 18))),
        ("open tuesdays 11 to 1", ((1,), "11:00", "13:00", 15, 1, TODAY, dt.date(2026, 12, 18))),
        ("open tuesdays 8 to 9pm", ((1,), "20:00", "21:00", 15, 1, TODAY, dt.date(2026, 12, 18))),
        ("open tuesdays midday to 1", ((1,), "12:00", "13:00", 15, 1, TODAY, dt.date(2026, 12, 18))),
        ("open tuesdays 3.15-4.15", ((1,), "15:15", "16:15", 15, 1, TODAY, dt.date(2026, 12, 18))),
        ("open tuesdays 3pm-4pm capacity 3", ((1,), "15:00", "16:00", 15, 3, TODAY, dt.date(2026, 12, 18))),
        ("open tuesdays 3pm-5pm an hour each", ((1,), "15:00", "17:00", 60, 1, TODAY, dt.date(2026, 12, 18))),
        (
            "open tuesdays 3pm-4pm, two people per slot",
            ((1,), "15:00", "16:00", 15, 2, TODAY, dt.date(2026, 12, 18)),
        ),
        ("open tuesdays 2-4 in 20 min slots", ((1,), "14:00", "16:00", 20, 1, TODAY, dt.date(2026, 12, 18))),
        (
            "open every weekday 8 to 9",
            ((0, 1, 2, 3, 4), "08:00", "09:00", 15, 1, TODAY, dt.date(2026, 12, 18)),
        ),
        ("open tuesdays 9-10am for 6 weeks", ((1,), "09:00", "10:00", 15, 1, TODAY, dt.date(2027, 1, 3))),
        (
            "open tuesdays 3-4 from the 4th",
            ((1,), "15:00", "16:00", 15, 1, dt.date(2026, 12, 4), dt.date(2026, 12, 18)),
        ),
        ("open tuesdays 3-4 until the 18th", ((1,), "15:00", "16:00", 15, 1, TODAY, dt.date(2026, 12, 18))),
        ("open tuesdays 3-4 until 18/12", ((1,), "15:00", "16:00", 15, 1, TODAY, dt.date(2026, 12, 18))),
        ("open tuesdays 3-4 until Dec 18th", ((1,), "15:00", "16:00", 15, 1, TODAY, dt.date(2026, 12, 18))),
        (
            "open tuesdays 3-4 from 1 december to 18 december",
            ((1,), "15:00", "16:00", 15, 1, dt.date(2026, 12, 1), dt.date(2026, 12, 18)),
        ),
        (
            "open tuesdays 3-4 1 december - 18 december",
            ((1,), "15:00", "16:00", 15, 1, TODAY, dt.date(2026, 12, 18)),
        ),
        (
            "open tuesdays 3-4 as of 1 december",
            ((1,), "15:00", "16:00", 15, 1, dt.date(2026, 12, 1), dt.date(2026, 12, 18)),
        ),
        (
            "open mondays 3-4 until easter",
            ((0,), "15:00", "16:00", 15, 1, dt.date(2027, 1, 5), dt.date(2027, 3, 26)),
        ),
        (
            "open tuesdays 2 - 4, summer term",
            ((1,), "14:00", "16:00", 15, 1, dt.date(2027, 4, 12), dt.date(2027, 7, 21)),
        ),
    ],
)
def test_the_old_readers_surgery_requests_are_read_the_same_by_the_one_reader(calendar, text, expected):
    request = requests.parse_surgery_request(text, today=TODAY, calendar=calendar)
    assert isinstance(request, requests.SurgeryRequest), request
    assert as_tuple(request) == expected


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        (
            "open tuesdays 3-4 until 31 February",
            '"31 february" is not a date I recognise. Please write dates',
        ),
        ("open Tuesdays 4pm to 2pm", "ends before it starts"),
        ("open 3-4", "Which day of the week?"),
    ],
)
def test_a_surgery_request_the_reader_cannot_settle_gets_its_question(calendar, text, asks):
    answer = requests.parse_surgery_request(text, today=TODAY, calendar=calendar)
    assert isinstance(answer, requests.NeedsQuestion)
    assert asks in answer.question


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("block out today after school", (TODAY, "15:00", "23:59")),
        ("block out friday all day", (dt.date(2026, 11, 27), None, None)),
        ("block out friday from 2pm", (dt.date(2026, 11, 27), "14:00", "23:59")),
        ("block out friday after 2", (dt.date(2026, 11, 27), "14:00", "23:59")),
        ("block out friday since 2pm", (dt.date(2026, 11, 27), "14:00", "23:59")),
        ("block out friday until 11am", (dt.date(2026, 11, 27), "00:00", "11:00")),
        ("block out friday up to 11am", (dt.date(2026, 11, 27), "00:00", "11:00")),
        ("block out friday at 2pm", (dt.date(2026, 11, 27), None, None)),  # a time alone is no window
        ("block out tomorrow 9-10am", (dt.date(2026, 11, 24), "09:00", "10:00")),
        ("block out 12.30-1 tomorrow", (dt.date(2026, 11, 24), "12:30", "13:00")),
        ("block out 4 dec 1pm-3pm", (dt.date(2026, 12, 4), "13:00", "15:00")),
        ("block out tuesday 3 to 4", (dt.date(2026, 11, 24), "15:00", "16:00")),
        ("block out thurs 2:15 to 3:45", (dt.date(2026, 11, 26), "14:15", "15:45")),
        ("block out friday the 4th", (dt.date(2026, 12, 4), None, None)),
        ("I've got parents evening on the 8th so no surgery that day", (dt.date(2026, 12, 8), None, None)),
    ],
)
def test_the_old_readers_block_outs_are_read_the_same_by_the_one_reader(text, expected):
    assert tuple(requests.parse_blockout_request(text, TODAY)) == expected


@pytest.mark.parametrize(
    "phrase",
    [
        "monday",
        "tuesday",
        "this thursday",
        "tuesday week",
        "tomorrow",
        "tmrw",
        "the 4th",
        "4/12",
        "friday 4 dec",
    ],
)
@pytest.mark.parametrize("said_on", range(7))
def test_a_block_out_day_is_the_day_the_booking_side_reads(phrase, said_on):
    """The defect issue #14 closes: "Tuesday week" and "Monday" said on a Monday were read one
    way when the SENCo blocked out and another when a teacher booked."""
    now = NOW + dt.timedelta(days=said_on)
    readings = dates.day_readings(phrase, now)
    answer = requests.parse_blockout_request(f"block out {phrase}", now.date())
    assert tuple(answer)[0] == readings[0][0]


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("block out next week", "Which day should I block out?"),
        ("block out 5th-6th march", "Which day should I block out?"),
        ("block out 20 november", "Friday 20 November 2026 has already passed"),
        ("block out tuesday from 25 to 30", "couldn't read"),
    ],
)
def test_a_block_out_the_reader_cannot_settle_to_one_day_is_asked(text, asks):
    answer = requests.parse_blockout_request(text, TODAY)
    assert isinstance(answer, requests.NeedsQuestion)
    assert asks in answer.question


def test_the_one_reader_also_names_lunchtime_and_pm_which_the_old_reader_blocked_all_day():
    assert requests.parse_blockout_request("block out friday lunchtime", TODAY) == (
        dt.date(2026, 11, 27),
        "12:00",
        "13:30",
    )
    assert requests.parse_blockout_request("block out friday pm", TODAY) == (
        dt.date(2026, 11, 27),
        "12:00",
        "23:59",
    )
    assert requests.parse_blockout_request("block out friday am", TODAY) == (
        dt.date(2026, 11, 27),
        "00:00",
        "12:00",
    )

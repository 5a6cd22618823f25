"""The .ics file of a booking, read back with `icalendar` as a calendar program would."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest

from knowledge.shared.db import unit_of_work
from knowledge.shared.models import Booking
from knowledge.surgery import booking as bookings
from knowledge.surgery.calendar_file import booking_ics, ics_filename
from tests.unit.test_booking import NOW, add_slot, staff

UTC = dt.timezone.utc
# 15:15 UK on Tuesday 23 March 2027 (GMT) and Tuesday 30 March 2027 (BST, clocks changed on the 28th).
WINTER_1515_UK = dt.datetime(2027, 3, 23, 15, 15, tzinfo=UTC)
SUMMER_1515_UK = dt.datetime(2027, 3, 30, 14, 15, tzinfo=UTC)
STAMP = dt.datetime(2027, 3, 1, 8, 0, 5, tzinfo=UTC)
SCHOOL_NAME = "Example Primary School"


def ics_of(booking: Booking, *, cancelled: bool = False, location: str | None = "Room 4") -> bytes:
    return booking_ics(
        booking,
        booking.slot,
        school_name=SCHOOL_NAME,
        location=location,
        organiser_email="senco@example.sch.uk",
        cancelled=cancelled,
        now=STAMP,
    )


def parse(data: bytes) -> tuple[icalendar.Calendar, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(data)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return calendar, events[0]


def unfolded(data: bytes) -> str:
    return data.decode("utf-8").replace("\r\n ", "")


@pytest.fixture
def made(settings) -> int:
    slot_id = add_slot(settings, starts_at=WINTER_1515_UK)
    with unit_of_work(settings.database_url) as session:
        return bookings.book(
            session,
            staff(session, "U0EXTEACH1"),
            slot_id,
            topic="ehcp_paperwork",
            note="Annual review, Year 4; paperwork due",
            now=NOW,
        ).id


def test_a_booking_is_one_confirmed_event_request_in_utc(settings, made):
    with unit_of_work(settings.database_url) as session:
        booking = session.get(Booking, made)
        data = ics_of(booking)
        uid = booking.uid
    calendar, event = parse(data)
    assert str(calendar["method"]) == "REQUEST"
    assert str(calendar["version"]) == "2.0"
    assert "SENCo surgery" in str(calendar["prodid"])
    assert str(event["uid"]) == uid
    assert event["sequence"] == 0
    assert str(event["summary"]) == "SENCo surgery: EHCP paperwork"
    assert str(event["status"]) == "CONFIRMED"
    assert str(event["organizer"]) == "mailto:senco@example.sch.uk"
    assert str(event["location"]) == "Room 4"
    assert event.decoded("dtstart") == WINTER_1515_UK
    assert event.decoded("dtend") == WINTER_1515_UK + dt.timedelta(minutes=15)
    text = unfolded(data)
    assert "DTSTART:20270323T151500Z" in text and "DTEND:20270323T153000Z" in text
    assert "DTSTAMP:20270301T080005Z" in text


def test_no_attendee_is_ever_listed(settings, made):
    with unit_of_work(settings.database_url) as session:
        data = ics_of(session.get(Booking, made))
    assert b"ATTENDEE" not in data
    assert b"Example" not in data.replace(b"Example Primary School", b"")  # no one's name


def test_text_with_commas_semicolons_and_new_lines_is_escaped(settings, made):
    with unit_of_work(settings.database_url) as session:
        data = ics_of(session.get(Booking, made), location="Room 4, Block B; first floor")
    text = unfolded(data)
    assert "LOCATION:Room 4\\, Block B\\; first floor" in text
    assert "Note: Annual review\\, Year 4\\; paperwork due" in text
    assert "SENCo surgery at Example Primary School\\nTopic: EHCP paperwork\\n" in text
    _, event = parse(data)
    assert str(event["description"]) == (
        "SENCo surgery at Example Primary School\n"
        "Topic: EHCP paperwork\n"
        "Note: Annual review, Year 4; paperwork due"
    )
    assert str(event["location"]) == "Room 4, Block B; first floor"


def test_after_a_move_across_the_clock_change_the_uid_stays_and_the_sequence_goes_up(settings, made):
    summer = add_slot(settings, starts_at=SUMMER_1515_UK)
    with unit_of_work(settings.database_url) as session:
        before = ics_of(session.get(Booking, made))
        bookings.move(session, staff(session, "U0EXTEACH1"), made, summer, now=NOW)
    with unit_of_work(settings.database_url) as session:
        after = ics_of(session.get(Booking, made))
    (_, old), (_, new) = parse(before), parse(after)
    assert str(new["uid"]) == str(old["uid"])
    assert new["sequence"] > old["sequence"]
    assert "DTSTART:20270330T141500Z" in unfolded(after)  # 15:15 BST is 14:15 UTC
    assert new.decoded("dtstart") == dt.datetime(2027, 3, 30, 14, 15, tzinfo=UTC)


def test_a_cancellation_is_method_cancel_with_status_cancelled_and_a_higher_sequence(settings, made):
    with unit_of_work(settings.database_url) as session:
        before = ics_of(session.get(Booking, made))
        cancelled = bookings.cancel(session, staff(session, "U0EXTEACH1"), made, now=NOW)
        data = ics_of(cancelled, cancelled=True)
    (_, old), (calendar, event) = parse(before), parse(data)
    assert str(calendar["method"]) == "CANCEL"
    assert str(event["status"]) == "CANCELLED"
    assert str(event["uid"]) == str(old["uid"])
    assert event["sequence"] > old["sequence"]


def test_organiser_and_location_are_optional(settings, made):
    with unit_of_work(settings.database_url) as session:
        booking = session.get(Booking, made)
        data = booking_ics(
            booking, booking.slot, school_name=SCHOOL_NAME, location=None, organiser_email=None, now=STAMP
        )
    _, event = parse(data)
    assert "organizer" not in event and "location" not in event


def test_the_file_name_uses_the_uk_date(settings):
    just_after_midnight_bst = dt.datetime(2027, 6, 1, 23, 30, tzinfo=UTC)  # 00:30 on 2 June, UK time
    slot_id = add_slot(settings, starts_at=just_after_midnight_bst)
    with unit_of_work(settings.database_url) as session:
        booking = bookings.book(session, staff(session, "U0EXTEACH1"), slot_id, topic="reading", now=NOW)
        assert ics_filename(booking) == "senco-surgery-2027-06-02.ics"

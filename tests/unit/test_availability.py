"""The SENCo's availability: weekly surgeries in UK time, block-outs, what is offered. Reading
what the SENCo types is tests/unit/test_surgery_requests.py. Real SQLite database, real school
calendar file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from knowledge.schools.calendar import CalendarError, SchoolCalendar
from knowledge.schools.staff import NotAllowed, find_staff
from knowledge.shared.db import unit_of_work
from knowledge.shared.models import Booking, BookingAudit, SurgeryBlockout, SurgeryPattern, SurgerySlot
from knowledge.surgery import availability as av
from knowledge.surgery import booking as bookings
from knowledge.surgery import requests

SCHOOL = "example-primary"
UK = ZoneInfo("Europe/London")
UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=UK)  # Monday, GMT
TODAY = NOW.date()


def uk(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UK)


@pytest.fixture
def calendar(settings) -> SchoolCalendar:
    return SchoolCalendar.load(settings.school_calendar)


def staff(session, slack_id: str):
    return find_staff(session, SCHOOL, slack_id)


def open_autumn_tuesdays(settings, calendar, now=NOW, **overrides) -> av.OpenResult:
    """The SENCo opens Tuesdays 15:15-16:15 in 15-minute slots for the autumn term."""
    args = dict(
        weekday=1,
        start="15:15",
        end="16:15",
        slot_minutes=15,
        starts_on=dt.date(2026, 9, 2),
        ends_on=dt.date(2026, 12, 18),
        calendar=calendar,
        now=now,
    )
    args.update(overrides)
    with unit_of_work(settings.database_url) as session:
        return av.open_weekly_surgery(session, staff(session, "U0EXSENCO1"), **args)


def all_slots(settings) -> list[SurgerySlot]:
    with unit_of_work(settings.database_url) as session:
        return list(session.execute(select(SurgerySlot).order_by(SurgerySlot.starts_at)).scalars())


# --- the school calendar -----------------------------------------------------------------


def test_the_example_calendar_is_marked_as_example_data(calendar):
    assert calendar.example is True
    assert [t.name for t in calendar.terms] == ["Autumn term 2026", "Spring term 2027", "Summer term 2027"]


@pytest.mark.parametrize(
    ("day", "school_day", "reason"),
    [
        (dt.date(2026, 11, 24), True, None),  # an ordinary Tuesday in term
        (dt.date(2026, 11, 28), False, "a weekend"),
        (dt.date(2026, 11, 27), False, "INSET day"),
        (dt.date(2026, 10, 27), False, "October half term"),
        (dt.date(2027, 5, 31), False, "Spring bank holiday"),  # the most specific closure is named
        (dt.date(2026, 12, 23), False, "the school holidays"),
    ],
)
def test_a_school_day_is_a_weekday_in_term_that_is_not_a_closure(calendar, day, school_day, reason):
    assert calendar.is_school_day(day) is school_day
    assert calendar.day_off_reason(day) == reason


def test_closure_reason_names_only_listed_closures(calendar):
    assert calendar.closure_reason(dt.date(2027, 2, 17)) == "February half term"
    assert calendar.closure_reason(dt.date(2026, 11, 28)) is None


@pytest.mark.parametrize(
    ("phrase", "today", "expected"),
    [
        ("the autumn term", TODAY, (dt.date(2026, 9, 2), dt.date(2026, 12, 18))),
        ("this term", TODAY, (dt.date(2026, 9, 2), dt.date(2026, 12, 18))),
        ("next term", TODAY, (dt.date(2027, 1, 5), dt.date(2027, 3, 26))),
        ("spring term", TODAY, (dt.date(2027, 1, 5), dt.date(2027, 3, 26))),
        ("Summer term 2027", TODAY, (dt.date(2027, 4, 12), dt.date(2027, 7, 21))),
        ("this term", dt.date(2026, 12, 28), (dt.date(2027, 1, 5), dt.date(2027, 3, 26))),  # in a holiday
    ],
)
def test_terms_are_found_by_the_names_people_use(calendar, phrase, today, expected):
    assert calendar.term_named(phrase, today) == expected


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("terms:\n  - {name: Autumn, starts: 2026-12-18, ends: 2026-09-02}\n", r'terms entry 1 \("Autumn"\)'),
        ("terms:\n  - {name: Autumn, starts: 2026-13-02, ends: 2026-12-18}\n", r"terms entry 1.*not a date"),
        (
            "terms:\n  - {name: Autumn, starts: 2026-09-02, ends: 2026-12-18}\n"
            "closures:\n  - {from: 2026-10-30, to: 2026-10-26, reason: Half term}\n",
            r'closures entry 1 \("Half term"\): to \(2026-10-26\) is before from',
        ),
        (
            "terms:\n  - {name: Autumn, starts: 2026-09-02, ends: 2026-12-18}\n"
            "closures:\n  - {date: 2026-11-27}\n",
            r"closures entry 1: `reason` is missing",
        ),
    ],
)
def test_a_broken_calendar_file_names_the_entry_to_fix(tmp_path: Path, entry, message):
    path = tmp_path / "calendar.yml"
    path.write_text(entry, encoding="utf-8")
    with pytest.raises(CalendarError, match=message):
        SchoolCalendar.load(path)


# --- opening slots -----------------------------------------------------------------------


def test_a_teacher_can_neither_open_slots_nor_block_out_nor_add_one(settings, calendar):
    with unit_of_work(settings.database_url) as session:
        teacher = staff(session, "U0EXTEACH1")
        with pytest.raises(NotAllowed):
            av.open_weekly_surgery(
                session,
                teacher,
                weekday=1,
                start="15:15",
                end="16:15",
                slot_minutes=15,
                starts_on=TODAY,
                ends_on=dt.date(2026, 12, 18),
                calendar=calendar,
                now=NOW,
            )
        with pytest.raises(NotAllowed):
            av.block_out(session, teacher, day=dt.date(2026, 12, 1), reason="off", now=NOW)
        with pytest.raises(NotAllowed):
            av.add_extra_slot(session, teacher, starts_at=uk(2026, 12, 2, 15), calendar=calendar, now=NOW)
    assert all_slots(settings) == []


def test_the_senco_opens_tuesday_surgeries_for_the_rest_of_the_autumn_term(settings, calendar):
    result = open_autumn_tuesdays(settings, calendar)

    assert result.created == 16  # 4 slots on 24 Nov, 1, 8 and 15 Dec
    slots = all_slots(settings)
    local = [s.starts_at.astimezone(UK) for s in slots]
    assert sorted({t.date() for t in local}) == [
        dt.date(2026, 11, 24),
        dt.date(2026, 12, 1),
        dt.date(2026, 12, 8),
        dt.date(2026, 12, 15),
    ]
    assert [t.strftime("%H:%M") for t in local[:4]] == ["15:15", "15:30", "15:45", "16:00"]
    assert all(calendar.is_school_day(t.date()) for t in local)
    assert {(s.origin, s.pattern_id, s.status, s.capacity) for s in slots} == {
        ("pattern", result.pattern_id, "open", 1)
    }
    assert result.first_slot == uk(2026, 11, 24, 15, 15)
    assert result.last_slot == uk(2026, 12, 15, 16, 0)
    with unit_of_work(settings.database_url) as session:
        pattern = session.get(SurgeryPattern, result.pattern_id)
        assert (pattern.weekday, pattern.start_time, pattern.end_time) == (1, "15:15", "16:15")
        audit = session.execute(select(BookingAudit).where(BookingAudit.action == "open")).scalar_one()
        assert audit.booking_id is None
        assert audit.staff_id == staff(session, "U0EXSENCO1").id
        assert "16 created" in audit.detail


def test_slots_keep_uk_wall_clock_time_across_the_clock_change_and_skip_half_term(settings, calendar):
    result = open_autumn_tuesdays(
        settings,
        calendar,
        now=uk(2026, 10, 1, 9),
        starts_on=dt.date(2026, 10, 1),
        ends_on=dt.date(2026, 11, 10),
    )

    assert result.created == 20  # 6, 13, 20 Oct, 3, 10 Nov
    assert result.skipped_closed == 4
    assert result.closed_days == ((dt.date(2026, 10, 27), "October half term"),)
    assert "No surgery on Tuesday 27 October (October half term)." in result.summary()
    assert result.summary().startswith("Opened 20 slots: the first is Tuesday 6 October 2026 at 3:15pm")
    starts = [s.starts_at for s in all_slots(settings)]
    assert dt.datetime(2026, 10, 20, 14, 15, tzinfo=UTC) in starts  # BST
    assert dt.datetime(2026, 11, 3, 15, 15, tzinfo=UTC) in starts  # GMT
    assert not [s for s in starts if s.astimezone(UK).date() == dt.date(2026, 10, 27)]
    assert {s.astimezone(UK).strftime("%H:%M") for s in starts} == {"15:15", "15:30", "15:45", "16:00"}


def test_opening_the_same_surgery_twice_creates_nothing_new(settings, calendar):
    first = open_autumn_tuesdays(settings, calendar)
    again = open_autumn_tuesdays(settings, calendar)

    assert (again.created, again.skipped_existing) == (0, 16)
    assert again.pattern_id == first.pattern_id
    assert len(all_slots(settings)) == 16
    with unit_of_work(settings.database_url) as session:
        assert session.execute(select(func.count(SurgeryPattern.id))).scalar_one() == 1


def test_a_slot_that_has_started_is_never_created_nor_offered(settings, calendar):
    during_surgery = uk(2026, 11, 24, 15, 20)
    result = open_autumn_tuesdays(settings, calendar, now=during_surgery)

    assert result.created == 15
    assert result.first_slot == uk(2026, 11, 24, 15, 30)
    with unit_of_work(settings.database_url) as session:
        session.add(
            SurgerySlot(
                school_ref=SCHOOL,
                starts_at=uk(2026, 11, 24, 9, 0),
                ends_at=uk(2026, 11, 24, 9, 15),
                capacity=1,
            )
        )
    with unit_of_work(settings.database_url) as session:
        offered = av.free_slots_between(session, SCHOOL, now=during_surgery, limit=100)
    assert offered[0].starts_at == uk(2026, 11, 24, 15, 30)
    assert all(s.starts_at > during_surgery for s in offered)


def test_a_partial_block_out_leaves_out_only_the_times_it_covers(settings, calendar):
    with unit_of_work(settings.database_url) as session:
        av.block_out(
            session,
            staff(session, "U0EXSENCO1"),
            day=dt.date(2026, 12, 1),
            start="15:30",
            end="16:00",
            reason="meeting",
            now=NOW,
        )
    result = open_autumn_tuesdays(settings, calendar)

    assert (result.created, result.skipped_blocked) == (14, 2)
    on_first = [s.starts_at.astimezone(UK) for s in all_slots(settings)]
    assert [t.strftime("%H:%M") for t in on_first if t.date() == dt.date(2026, 12, 1)] == ["15:15", "16:00"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"start": "16:15", "end": "15:15"}, "end after it starts"),
        ({"slot_minutes": 3}, "5 to 120 minutes"),
        ({"slot_minutes": 90}, "doesn't fit"),
        ({"capacity": 11}, "1 to 10 people"),
        ({"start": "25:00"}, "not a time"),
        ({"starts_on": dt.date(2026, 12, 18), "ends_on": dt.date(2026, 12, 1)}, "before the first"),
        ({"starts_on": dt.date(2026, 9, 2), "ends_on": dt.date(2027, 12, 1)}, "at most a year"),
    ],
)
def test_a_surgery_that_makes_no_sense_is_refused_with_a_message_to_show(
    settings, calendar, overrides, message
):
    with pytest.raises(av.AvailabilityError, match=message):
        open_autumn_tuesdays(settings, calendar, **overrides)
    assert all_slots(settings) == []


def test_an_extra_slot_is_made_on_a_school_day_but_refused_on_a_closure_or_in_the_past(settings, calendar):
    with unit_of_work(settings.database_url) as session:
        senco = staff(session, "U0EXSENCO1")
        slot = av.add_extra_slot(
            session, senco, starts_at=uk(2026, 11, 25, 12, 30), minutes=20, calendar=calendar, now=NOW
        )
        assert (slot.origin, slot.ends_at) == ("extra", uk(2026, 11, 25, 12, 50))
        with pytest.raises(av.AvailabilityError, match=r"no school on Friday 27 November 2026 \(INSET day\)"):
            av.add_extra_slot(session, senco, starts_at=uk(2026, 11, 27, 15), calendar=calendar, now=NOW)
        with pytest.raises(av.AvailabilityError, match="already passed"):
            av.add_extra_slot(session, senco, starts_at=uk(2026, 11, 20, 15), calendar=calendar, now=NOW)
        with pytest.raises(av.AvailabilityError, match="already a slot"):
            av.add_extra_slot(session, senco, starts_at=uk(2026, 11, 25, 12, 40), calendar=calendar, now=NOW)


# --- block-outs --------------------------------------------------------------------------


def book_first_december_slot(settings) -> int:
    with unit_of_work(settings.database_url) as session:
        slot = av.free_slots_between(
            session, SCHOOL, now=NOW, start=uk(2026, 12, 1), end=uk(2026, 12, 2), limit=1
        )[0]
        return bookings.book(session, staff(session, "U0EXTEACH1"), slot.id, topic="reading", now=NOW).id


def test_blocking_out_a_day_hides_its_slots_and_returns_the_bookings_to_tell(settings, calendar):
    open_autumn_tuesdays(settings, calendar)
    booking_id = book_first_december_slot(settings)

    with unit_of_work(settings.database_url) as session:
        result = av.block_out(
            session, staff(session, "U0EXSENCO1"), day=dt.date(2026, 12, 1), reason="Annual review", now=NOW
        )
    with unit_of_work(settings.database_url) as session:
        on_the_day = av.free_slots_between(
            session, SCHOOL, now=NOW, start=uk(2026, 12, 1), end=uk(2026, 12, 2)
        )
        assert on_the_day == []
        assert len(av.free_slots_between(session, SCHOOL, now=NOW, limit=100)) == 12
        assert session.get(Booking, booking_id).status == "active"  # never cancelled silently
        assert session.execute(select(BookingAudit).where(BookingAudit.action == "block")).scalar_one()

    assert result.slots_blocked == 4
    assert [b.id for b in result.bookings] == [booking_id]
    assert result.affected_bookings == (
        av.AffectedBooking(booking_id, "U0EXTEACH1", "Mr D. Example", uk(2026, 12, 1, 15, 15)),
    )


def test_unblocking_reopens_the_days_slots(settings, calendar):
    open_autumn_tuesdays(settings, calendar)
    with unit_of_work(settings.database_url) as session:
        av.block_out(session, staff(session, "U0EXSENCO1"), day=dt.date(2026, 12, 1), reason=None, now=NOW)
    with unit_of_work(settings.database_url) as session:
        result = av.unblock(session, staff(session, "U0EXSENCO1"), day=dt.date(2026, 12, 1))
    assert result == av.UnblockResult(blockouts_removed=1, slots_reopened=4)
    with unit_of_work(settings.database_url) as session:
        assert len(av.free_slots_between(session, SCHOOL, now=NOW, limit=100)) == 16
        assert session.execute(select(func.count(SurgeryBlockout.id))).scalar_one() == 0
        with pytest.raises(av.AvailabilityError, match="Nothing is blocked out"):
            av.unblock(session, staff(session, "U0EXSENCO1"), day=dt.date(2026, 12, 1))


def test_a_slot_stays_blocked_while_another_block_out_still_covers_it(settings, calendar):
    open_autumn_tuesdays(settings, calendar)
    day = dt.date(2026, 12, 1)
    with unit_of_work(settings.database_url) as session:
        senco = staff(session, "U0EXSENCO1")
        av.block_out(session, senco, day=day, start="15:00", end="15:40", reason=None, now=NOW)
        av.block_out(session, senco, day=day, start="15:50", end="17:00", reason=None, now=NOW)
    with unit_of_work(settings.database_url) as session:
        result = av.unblock(session, staff(session, "U0EXSENCO1"), day=day, start="15:00", end="15:40")
    assert result == av.UnblockResult(blockouts_removed=1, slots_reopened=2)  # 15:15 and 15:30


def test_a_day_in_the_past_cannot_be_blocked_out(settings):
    with unit_of_work(settings.database_url) as session, pytest.raises(av.AvailabilityError, match="passed"):
        av.block_out(session, staff(session, "U0EXSENCO1"), day=dt.date(2026, 11, 20), reason=None, now=NOW)


# --- what is offered, and who is booked ----------------------------------------------------


def test_free_slots_between_keeps_to_the_window_and_next_free_after_skips_the_taken_one(settings, calendar):
    open_autumn_tuesdays(settings, calendar)
    with unit_of_work(settings.database_url) as session:
        window = av.free_slots_between(session, SCHOOL, now=NOW, start=uk(2026, 12, 8), end=uk(2026, 12, 9))
        assert [s.starts_at.astimezone(UK).strftime("%d %H:%M") for s in window] == [
            "08 15:15",
            "08 15:30",
            "08 15:45",
            "08 16:00",
        ]
        after = av.next_free_after(session, SCHOOL, now=NOW, after=uk(2026, 11, 24, 16, 0))
        assert [s.starts_at for s in after] == [
            uk(2026, 12, 1, 15, 15),
            uk(2026, 12, 1, 15, 30),
            uk(2026, 12, 1, 15, 45),
        ]


def test_only_the_senco_or_admin_sees_who_is_booked_on_a_day(settings, calendar):
    open_autumn_tuesdays(settings, calendar)
    booking_id = book_first_december_slot(settings)
    with unit_of_work(settings.database_url) as session:
        with pytest.raises(NotAllowed):
            av.bookings_on_day(session, staff(session, "U0EXTEACH1"), day=dt.date(2026, 12, 1))
        for manager in ("U0EXSENCO1", "U0EXADMIN1"):
            rows = av.bookings_on_day(session, staff(session, manager), day=dt.date(2026, 12, 1))
            assert [(b.id, slot.starts_at, who.slack_user_id) for b, slot, who in rows] == [
                (booking_id, uk(2026, 12, 1, 15, 15), "U0EXTEACH1")
            ]
        assert av.bookings_on_day(session, staff(session, "U0EXSENCO1"), day=dt.date(2026, 12, 8)) == []


# --- opening what the SENCo asked for ------------------------------------------------------


def test_a_parsed_request_opens_one_pattern_per_weekday(settings, calendar):
    request = requests.parse_surgery_request(
        "open Tuesdays and Thursdays 3:15-4:15 this term", today=TODAY, calendar=calendar
    )
    with unit_of_work(settings.database_url) as session:
        results = av.open_request(session, staff(session, "U0EXSENCO1"), request, calendar=calendar, now=NOW)
    assert [r.created for r in results] == [16, 16]  # Thursdays 26 Nov, 3, 10 and 17 Dec
    assert {s.pattern_id for s in all_slots(settings)} == {r.pattern_id for r in results}

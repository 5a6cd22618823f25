"""SENCo surgery booking in the domain layer: roles, rules, audit, and no double booking ever."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from bot.settings import PROJECT_ROOT
from knowledge import booking as bookings
from knowledge.db import unit_of_work
from knowledge.models import Booking, BookingAudit, StaffMember, SurgerySlot
from knowledge.staff import NotAllowed, UnknownStaff, find_staff, load_roster, sync_roster

SCHOOL = "example-primary"
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone.utc)
TUESDAY_1515 = dt.datetime(2026, 11, 24, 15, 15, tzinfo=dt.timezone.utc)


@pytest.fixture
def school(settings):
    """The example school with its example staff roster (loaded by `load_everything`)."""
    return settings


def test_the_roster_is_loaded_with_the_school_and_leavers_are_deactivated(settings):
    with unit_of_work(settings.database_url) as session:
        assert find_staff(session, SCHOOL, "U0EXTEACH1").name == "Mr D. Example"
        roster = [
            e
            for e in load_roster(PROJECT_ROOT / "school_data/example_staff.yml")
            if e.slack_user_id != "U0EXTEACH1"
        ]
        sync_roster(session, SCHOOL, roster)
        with pytest.raises(UnknownStaff):
            find_staff(session, SCHOOL, "U0EXTEACH1")


def add_slot(settings, starts_at=TUESDAY_1515, capacity=1) -> int:
    with unit_of_work(settings.database_url) as session:
        slot = SurgerySlot(
            school_ref=SCHOOL,
            starts_at=starts_at,
            ends_at=starts_at + dt.timedelta(minutes=15),
            capacity=capacity,
        )
        session.add(slot)
        session.flush()
        return slot.id


def staff(session, slack_id: str) -> StaffMember:
    return find_staff(session, SCHOOL, slack_id)


def test_an_unknown_slack_user_is_told_to_ask_the_senco(school):
    with unit_of_work(school.database_url) as session, pytest.raises(UnknownStaff, match="ask the SENCo"):
        find_staff(session, SCHOOL, "U0NOBODY")


def test_a_teacher_books_a_slot_and_sees_it(school):
    slot_id = add_slot(school)
    with unit_of_work(school.database_url) as session:
        teacher = staff(session, "U0EXTEACH1")
        made = bookings.book(session, teacher, slot_id, topic="reading", note="Year 3 phonics", now=NOW)
        assert [b.id for b in bookings.bookings_of(session, teacher)] == [made.id]
        assert session.get(SurgerySlot, slot_id).booked == 1


def test_a_full_slot_is_not_offered_and_a_past_slot_never(school):
    full = add_slot(school)
    past = add_slot(school, starts_at=NOW - dt.timedelta(days=1))
    free = add_slot(school, starts_at=TUESDAY_1515 + dt.timedelta(minutes=15))
    with unit_of_work(school.database_url) as session:
        bookings.book(session, staff(session, "U0EXTEACH1"), full, topic="other", now=NOW)
        offered = [s.id for s in bookings.free_slots(session, SCHOOL, NOW)]
    assert offered == [free]
    assert past not in offered


def test_the_booking_rules(school):
    slot_id = add_slot(school)
    later_same_day = add_slot(school, starts_at=TUESDAY_1515 + dt.timedelta(minutes=30))
    soon = add_slot(school, starts_at=NOW + dt.timedelta(minutes=30))
    with unit_of_work(school.database_url) as session:
        teacher = staff(session, "U0EXTEACH1")
        with pytest.raises(bookings.BookingRefused, match="topic"):
            bookings.book(session, teacher, slot_id, topic="gossip", now=NOW)
        with pytest.raises(bookings.BookingRefused, match="pupils' names"):
            bookings.book(session, teacher, slot_id, topic="reading", note="x" * 201, now=NOW)
        with pytest.raises(bookings.BookingRefused, match="too soon"):
            bookings.book(session, teacher, soon, topic="reading", now=NOW)
        bookings.book(session, teacher, slot_id, topic="reading", now=NOW)
        with pytest.raises(bookings.BookingRefused, match="already have a booking that day"):
            bookings.book(session, teacher, later_same_day, topic="reading", now=NOW)


def test_the_senco_can_override_the_rules_and_it_is_audited(school):
    soon = add_slot(school, starts_at=NOW + dt.timedelta(minutes=30))
    with unit_of_work(school.database_url) as session:
        senco, teacher = staff(session, "U0EXSENCO1"), staff(session, "U0EXTEACH1")
        made = bookings.book(session, teacher, soon, topic="behaviour", now=NOW, override_by=senco)
        audit = (
            session.execute(select(BookingAudit).where(BookingAudit.booking_id == made.id)).scalars().all()
        )
        assert {(a.action, a.staff_id) for a in audit} == {("book", teacher.id), ("override", senco.id)}
        with pytest.raises(NotAllowed):
            bookings.book(session, teacher, soon, topic="behaviour", now=NOW, override_by=teacher)


def test_a_teacher_cannot_see_others_bookings_but_the_senco_can(school):
    slot_id = add_slot(school)
    with unit_of_work(school.database_url) as session:
        one, other, senco = (
            staff(session, "U0EXTEACH1"),
            staff(session, "U0EXTEACH2"),
            staff(session, "U0EXSENCO1"),
        )
        bookings.book(session, one, slot_id, topic="reading", now=NOW)
        with pytest.raises(NotAllowed):
            bookings.bookings_of(session, other, of=one)
        assert len(bookings.bookings_of(session, senco, of=one)) == 1


def test_a_cancelled_slot_becomes_free_again(school):
    slot_id = add_slot(school)
    with unit_of_work(school.database_url) as session:
        made = bookings.book(session, staff(session, "U0EXTEACH1"), slot_id, topic="reading", now=NOW)
        bookings.cancel(session, staff(session, "U0EXTEACH1"), made.id, now=NOW)
        assert slot_id in [s.id for s in bookings.free_slots(session, SCHOOL, NOW)]
        bookings.book(session, staff(session, "U0EXTEACH2"), slot_id, topic="other", now=NOW)


def test_someone_elses_booking_is_cancelled_only_by_the_senco(school):
    slot_id = add_slot(school)
    with unit_of_work(school.database_url) as session:
        made = bookings.book(session, staff(session, "U0EXTEACH1"), slot_id, topic="reading", now=NOW)
        with pytest.raises(NotAllowed):
            bookings.cancel(session, staff(session, "U0EXTEACH2"), made.id, now=NOW)
        bookings.cancel(session, staff(session, "U0EXSENCO1"), made.id, now=NOW)


def _many_teachers(settings, count: int) -> list[int]:
    with unit_of_work(settings.database_url) as session:
        people = [
            StaffMember(
                school_ref=SCHOOL, slack_user_id=f"U0LOAD{i:04d}", name=f"Teacher {i}", role="teacher"
            )
            for i in range(count)
        ]
        session.add_all(people)
        session.flush()
        return [p.id for p in people]


def race_for_one_slot(database_url: str, slot_id: int, staff_ids: list[int]) -> dict[str, int]:
    """Everyone clicks the same slot at the same moment, each in their own session."""
    outcomes = {"booked": 0, "taken": 0, "error": 0}
    lock = threading.Lock()
    start = threading.Barrier(len(staff_ids))

    def click(staff_id: int) -> None:
        start.wait()
        try:
            with unit_of_work(database_url) as session:
                bookings.book(session, session.get(StaffMember, staff_id), slot_id, topic="other", now=NOW)
            result = "booked"
        except bookings.SlotTaken:
            result = "taken"
        except Exception:
            result = "error"
        with lock:
            outcomes[result] += 1

    threads = [threading.Thread(target=click, args=(s,)) for s in staff_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_fifty_teachers_clicking_one_slot_give_exactly_one_booking(school):
    slot_id = add_slot(school)
    outcomes = race_for_one_slot(school.database_url, slot_id, _many_teachers(school, 50))
    assert outcomes == {"booked": 1, "taken": 49, "error": 0}
    with unit_of_work(school.database_url) as session:
        assert session.execute(select(func.count(Booking.id))).scalar_one() == 1
        assert session.get(SurgerySlot, slot_id).booked == 1

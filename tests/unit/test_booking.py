"""SENCo surgery booking in the domain layer: roles, rules, audit, and no double booking ever."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from knowledge.schools.staff import NotAllowed, UnknownStaff, find_staff, load_roster, sync_roster
from knowledge.shared.db import unit_of_work
from knowledge.shared.models import Booking, BookingAudit, StaffMember, SurgerySlot
from knowledge.shared.settings import PROJECT_ROOT
from knowledge.surgery import booking as bookings
from tests import builders

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
    return builders.add_slot(settings.database_url, SCHOOL, starts_at, capacity=capacity)


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


# --- Calendar identity, rules from settings, UK days ----------------------------------------

WEDNESDAY_1515 = TUESDAY_1515 + dt.timedelta(days=1)


def audit_of(session, booking_id: int) -> list[tuple[str, int, str | None]]:
    rows = session.execute(
        select(BookingAudit).where(BookingAudit.booking_id == booking_id).order_by(BookingAudit.id)
    ).scalars()
    return [(a.action, a.staff_id, a.detail) for a in rows]


def test_a_booking_gets_a_stable_unique_calendar_uid_and_sequence_zero(school):
    one, two = add_slot(school), add_slot(school, starts_at=WEDNESDAY_1515)
    with unit_of_work(school.database_url) as session:
        first = bookings.book(session, staff(session, "U0EXTEACH1"), one, topic="reading", now=NOW)
        second = bookings.book(session, staff(session, "U0EXTEACH2"), two, topic="other", now=NOW)
        assert first.uid.startswith("booking-") and first.uid.endswith(f"@{SCHOOL}.sendbot")
        assert first.uid != second.uid
        assert (first.sequence, second.sequence) == (0, 0)
        assert len(first.uid) <= Booking.uid.type.length
    assert len(bookings.new_uid("x" * 64)) <= Booking.uid.type.length


def test_the_rules_come_from_the_settings(settings):
    custom = dataclasses.replace(
        settings,
        bookings_per_teacher_per_day=2,
        booking_min_notice_minutes=30,
        cancel_min_notice_minutes=15,
        timezone="Europe/London",
    )
    assert bookings.BookingRules.from_settings(custom) == bookings.BookingRules(
        per_teacher_per_day=2,
        min_notice=dt.timedelta(minutes=30),
        min_cancel_notice=dt.timedelta(minutes=15),
        tz="Europe/London",
    )
    assert bookings.BookingRules.from_settings(settings) == bookings.BookingRules()


def test_refusals_are_friendly_and_say_what_to_do_next(school):
    soon = add_slot(school, starts_at=NOW + dt.timedelta(minutes=30))
    first, same_day = add_slot(school), add_slot(school, starts_at=TUESDAY_1515 + dt.timedelta(hours=1))
    with unit_of_work(school.database_url) as session:
        teacher = staff(session, "U0EXTEACH1")
        with pytest.raises(bookings.BookingRefused) as too_soon:
            bookings.book(session, teacher, soon, topic="reading", now=NOW)
        assert "at least 2 hours ahead" in str(too_soon.value)
        assert "choose a later slot" in str(too_soon.value)
        bookings.book(session, teacher, first, topic="reading", now=NOW)
        with pytest.raises(bookings.BookingRefused) as that_day:
            bookings.book(session, teacher, same_day, topic="reading", now=NOW)
        assert "slot on another day" in str(that_day.value)
        assert "move your existing booking" in str(that_day.value)


def test_the_note_hint_and_the_200_character_limit(school):
    assert bookings.NOTE_HINT == "Optional, up to 200 characters. Please don't include pupils' names."
    slot_id = add_slot(school)
    with unit_of_work(school.database_url) as session:
        made = bookings.book(
            session, staff(session, "U0EXTEACH1"), slot_id, topic="other", note="n" * 200, now=NOW
        )
        assert len(made.note) == 200


# 00:30 BST on 2 June 2027 is 23:30 UTC on 1 June: the UK day and the UTC day differ.
BST_NOW = dt.datetime(2027, 5, 31, 9, 0, tzinfo=dt.timezone.utc)
UK_1_JUNE_2330 = dt.datetime(2027, 6, 1, 22, 30, tzinfo=dt.timezone.utc)
UK_2_JUNE_0030 = dt.datetime(2027, 6, 1, 23, 30, tzinfo=dt.timezone.utc)
UK_2_JUNE_1000 = dt.datetime(2027, 6, 2, 9, 0, tzinfo=dt.timezone.utc)


def test_the_per_day_limit_counts_uk_days_not_utc_days(school):
    late_1_june = add_slot(school, starts_at=UK_1_JUNE_2330)
    early_2_june = add_slot(school, starts_at=UK_2_JUNE_0030)
    morning_2_june = add_slot(school, starts_at=UK_2_JUNE_1000)
    with unit_of_work(school.database_url) as session:
        teacher = staff(session, "U0EXTEACH1")
        # Same UTC day (1 June), different UK days: both allowed.
        bookings.book(session, teacher, late_1_june, topic="reading", now=BST_NOW)
        bookings.book(session, teacher, early_2_june, topic="reading", now=BST_NOW)
        # Different UTC days, same UK day (2 June): refused.
        with pytest.raises(bookings.BookingRefused, match="already have a booking that day"):
            bookings.book(session, teacher, morning_2_june, topic="reading", now=BST_NOW)


def test_uk_day_bounds_follow_local_midnight_including_the_short_day():
    start, end = bookings.uk_day_bounds(UK_2_JUNE_0030)
    assert (start, end) == (
        dt.datetime(2027, 6, 1, 23, 0, tzinfo=dt.timezone.utc),
        dt.datetime(2027, 6, 2, 23, 0, tzinfo=dt.timezone.utc),
    )
    clocks_go_forward = dt.datetime(2027, 3, 28, 12, 0, tzinfo=dt.timezone.utc)
    start, end = bookings.uk_day_bounds(clocks_go_forward)
    assert end - start == dt.timedelta(hours=23)


# --- Moving ------------------------------------------------------------------------------------


def test_moving_keeps_the_id_and_uid_bumps_the_sequence_and_frees_the_old_slot(school):
    old, new = add_slot(school), add_slot(school, starts_at=WEDNESDAY_1515)
    with unit_of_work(school.database_url) as session:
        teacher = staff(session, "U0EXTEACH1")
        made = bookings.book(session, teacher, old, topic="reading", now=NOW)
        booking_id, uid = made.id, made.uid
    with unit_of_work(school.database_url) as session:
        moved = bookings.move(session, staff(session, "U0EXTEACH1"), booking_id, new, now=NOW)
        assert (moved.id, moved.uid, moved.sequence, moved.slot_id) == (booking_id, uid, 1, new)
        assert moved.slot.id == new
    with unit_of_work(school.database_url) as session:
        assert session.get(SurgerySlot, old).booked == 0
        assert session.get(SurgerySlot, new).booked == 1
        teacher = staff(session, "U0EXTEACH1")
        assert audit_of(session, booking_id) == [
            ("book", teacher.id, None),
            ("move", teacher.id, f"slot {old} -> {new}"),
        ]
        assert old in [s.id for s in bookings.free_slots(session, SCHOOL, NOW)]


def test_moving_to_a_slot_just_taken_raises_and_leaves_the_booking_intact(school):
    old, wanted = add_slot(school), add_slot(school, starts_at=WEDNESDAY_1515)
    with unit_of_work(school.database_url) as session:
        booking_id = bookings.book(session, staff(session, "U0EXTEACH1"), old, topic="reading", now=NOW).id
    with unit_of_work(school.database_url) as session:  # someone else, a moment earlier
        bookings.book(session, staff(session, "U0EXTEACH2"), wanted, topic="other", now=NOW)
    with unit_of_work(school.database_url) as session, pytest.raises(bookings.SlotTaken):
        bookings.move(session, staff(session, "U0EXTEACH1"), booking_id, wanted, now=NOW)
        # the caller's transaction carries on and commits: nothing of the failed move is in it
    with unit_of_work(school.database_url) as session:
        kept = session.get(Booking, booking_id)
        assert (kept.slot_id, kept.sequence, kept.status) == (old, 0, "active")
        assert session.get(SurgerySlot, old).booked == 1
        assert session.get(SurgerySlot, wanted).booked == 1
        assert [a[0] for a in audit_of(session, booking_id)] == ["book"]


def test_a_teacher_cannot_move_someone_elses_booking_but_the_senco_can(school):
    old, new = add_slot(school), add_slot(school, starts_at=WEDNESDAY_1515)
    with unit_of_work(school.database_url) as session:
        booking_id = bookings.book(session, staff(session, "U0EXTEACH1"), old, topic="reading", now=NOW).id
    with unit_of_work(school.database_url) as session, pytest.raises(NotAllowed):
        bookings.move(session, staff(session, "U0EXTEACH2"), booking_id, new, now=NOW)
    with unit_of_work(school.database_url) as session:
        senco = staff(session, "U0EXSENCO1")
        moved = bookings.move(session, senco, booking_id, new, now=NOW)
        assert moved.staff_id == staff(session, "U0EXTEACH1").id
        assert audit_of(session, booking_id)[1:] == [
            ("move", senco.id, f"slot {old} -> {new}"),
            ("override", senco.id, "move"),
        ]


def test_the_owner_moves_within_the_rules_and_the_moved_booking_does_not_count_against_its_day(school):
    old = add_slot(school)
    same_day_later = add_slot(school, starts_at=TUESDAY_1515 + dt.timedelta(hours=1))
    too_soon = add_slot(school, starts_at=NOW + dt.timedelta(minutes=30))
    with unit_of_work(school.database_url) as session:
        teacher = staff(session, "U0EXTEACH1")
        made = bookings.book(session, teacher, old, topic="reading", now=NOW)
        with pytest.raises(bookings.BookingRefused, match="too soon"):
            bookings.move(session, teacher, made.id, too_soon, now=NOW)
        with pytest.raises(bookings.BookingRefused, match="already the time"):
            bookings.move(session, teacher, made.id, old, now=NOW)
        bookings.move(session, teacher, made.id, same_day_later, now=NOW)
        with pytest.raises(bookings.BookingRefused, match="too late to move"):
            bookings.move(session, teacher, made.id, old, now=TUESDAY_1515 + dt.timedelta(minutes=30))


def test_a_slot_of_another_school_is_not_found(school):
    old = add_slot(school)
    with unit_of_work(school.database_url) as session:
        elsewhere = SurgerySlot(
            school_ref="other-school",
            starts_at=WEDNESDAY_1515,
            ends_at=WEDNESDAY_1515 + dt.timedelta(minutes=15),
        )
        session.add(elsewhere)
        session.flush()
        teacher = staff(session, "U0EXTEACH1")
        made = bookings.book(session, teacher, old, topic="reading", now=NOW)
        with pytest.raises(bookings.BookingRefused, match="can't find that slot"):
            bookings.move(session, teacher, made.id, elsewhere.id, now=NOW)


# --- Cancelling ----------------------------------------------------------------------------------


def test_cancelling_bumps_the_sequence_frees_the_slot_and_cannot_happen_twice(school):
    slot_id = add_slot(school)
    with unit_of_work(school.database_url) as session:
        booking_id = bookings.book(
            session, staff(session, "U0EXTEACH1"), slot_id, topic="reading", now=NOW
        ).id
    with unit_of_work(school.database_url) as session:
        done = bookings.cancel(session, staff(session, "U0EXTEACH1"), booking_id, now=NOW)
        assert (done.status, done.sequence, done.cancelled_at) == ("cancelled", 1, NOW)
        with pytest.raises(bookings.BookingRefused, match="can't find that booking"):
            bookings.cancel(session, staff(session, "U0EXSENCO1"), booking_id, now=NOW)
    with unit_of_work(school.database_url) as session:
        assert session.get(SurgerySlot, slot_id).booked == 0
        assert [s.id for s in bookings.free_slots(session, SCHOOL, NOW)] == [slot_id]


def test_moved_and_cancelled_bookings_can_be_read_after_the_unit_of_work(school):
    """Callers build replies and calendar files from the returned booking, sometimes after commit."""
    old, new = add_slot(school), add_slot(school, starts_at=WEDNESDAY_1515)
    with unit_of_work(school.database_url) as session:
        booking_id = bookings.book(session, staff(session, "U0EXTEACH1"), old, topic="reading", now=NOW).id
    with unit_of_work(school.database_url) as session:
        moved = bookings.move(session, staff(session, "U0EXTEACH1"), booking_id, new, now=NOW)
    assert (moved.sequence, moved.slot.starts_at) == (1, WEDNESDAY_1515)
    assert moved.staff.slack_user_id == "U0EXTEACH1"
    with unit_of_work(school.database_url) as session:
        done = bookings.cancel(session, staff(session, "U0EXTEACH1"), booking_id, now=NOW)
    assert (done.status, done.sequence, done.slot.id) == ("cancelled", 2, new)
    assert done.staff.slack_user_id == "U0EXTEACH1"


# --- issue #12 --------------------------------------------------------------------------------

TWO_A_DAY = bookings.BookingRules(per_teacher_per_day=2)


def test_booking_a_slot_one_already_holds_is_refused_as_already_theirs_even_when_two_a_day_are_allowed(
    school,
):
    group = add_slot(school, capacity=3)
    with unit_of_work(school.database_url) as session:
        teacher, senco = staff(session, "U0EXTEACH1"), staff(session, "U0EXSENCO1")
        made = bookings.book(session, teacher, group, topic="reading", now=NOW, rules=TWO_A_DAY)
        with pytest.raises(bookings.AlreadyBooked, match="already booked this slot") as refused:
            bookings.book(session, teacher, group, topic="behaviour", now=NOW, rules=TWO_A_DAY)
        assert refused.value.booking_id == made.id
        with pytest.raises(bookings.BookingRefused, match="Mr D. Example already has a place in that slot"):
            bookings.book(session, teacher, group, topic="reading", now=NOW, override_by=senco)
        assert session.get(SurgerySlot, group).booked == 1


def test_moving_a_booking_onto_a_slot_one_already_holds_is_refused_as_already_theirs(school):
    group = add_slot(school, capacity=3)
    other = add_slot(school, starts_at=TUESDAY_1515 + dt.timedelta(minutes=30))
    with unit_of_work(school.database_url) as session:
        teacher = staff(session, "U0EXTEACH1")
        bookings.book(session, teacher, group, topic="reading", now=NOW, rules=TWO_A_DAY)
        second = bookings.book(session, teacher, other, topic="reading", now=NOW, rules=TWO_A_DAY)
        with pytest.raises(bookings.AlreadyBooked):
            bookings.move(session, teacher, second.id, group, now=NOW, rules=TWO_A_DAY)
        assert session.get(SurgerySlot, group).booked == 1


@pytest.mark.parametrize(
    ("topic", "label", "in_a_sentence"),
    [
        ("reading", "Reading", "reading"),
        ("behaviour", "Behaviour", "behaviour"),
        ("ehcp_paperwork", "EHCP paperwork", "EHCP paperwork"),
        ("access_arrangements", "Access arrangements", "access arrangements"),
        ("other", "Something else", "something else"),
    ],
)
def test_a_topic_has_one_label_and_reads_in_lower_case_inside_a_sentence_except_acronyms(
    topic, label, in_a_sentence
):
    assert bookings.topic_label(topic) == label
    assert bookings.topic_words(topic) == in_a_sentence

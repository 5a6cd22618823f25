"""Booking reminders and the SENCo's morning digest: on time, in UK time, and never twice."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from knowledge.shared.db import unit_of_work
from knowledge.shared.models import Booking, BookingReminder, DigestRun, StaffMember, SurgerySlot
from knowledge.surgery import booking as bookings
from knowledge.surgery import reminders
from knowledge.text import uk_time
from tests.unit.test_booking import NOW, SCHOOL, TUESDAY_1515, _many_teachers, add_slot, staff

UTC = dt.timezone.utc
DAY_BEFORE_1515 = TUESDAY_1515 - dt.timedelta(hours=24)  # Monday 23 November 2026, 15:15 GMT
HOUR_BEFORE = TUESDAY_1515 - dt.timedelta(hours=1)


class Outbox:
    """A recorded fake Slack `send`; it raises when told to."""

    def __init__(self, fail_with: BaseException | None = None) -> None:
        self.sent: list[tuple[str, str]] = []
        self.fail_with = fail_with
        self.lock = threading.Lock()

    def __call__(self, slack_user_id: str, text: str) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        with self.lock:
            self.sent.append((slack_user_id, text))


class ProcessDied(BaseException):
    """Stands for the process being killed while it talks to Slack (not an ordinary error)."""


def book(
    settings, slot_id: int, slack_id: str = "U0EXTEACH1", *, topic: str = "reading", note: str = ""
) -> int:
    with unit_of_work(settings.database_url) as session:
        return bookings.book(session, staff(session, slack_id), slot_id, topic=topic, note=note, now=NOW).id


def reminder_rows(settings, booking_id: int | None = None) -> list[tuple[str, int, dt.datetime, str]]:
    with unit_of_work(settings.database_url) as session:
        query = select(BookingReminder).order_by(BookingReminder.due_at, BookingReminder.id)
        if booking_id is not None:
            query = query.where(BookingReminder.booking_id == booking_id)
        return [(r.kind, r.sequence, r.due_at, r.status) for r in session.execute(query).scalars()]


def run(settings, now: dt.datetime, outbox: Outbox) -> reminders.ReminderRun:
    return reminders.send_due(settings.database_url, now=now, send=outbox)


# --- Scheduling ---------------------------------------------------------------------------------


def test_a_booking_creates_a_24_hour_and_a_1_hour_reminder(settings):
    booking_id = book(settings, add_slot(settings))
    assert reminder_rows(settings, booking_id) == [
        ("24h", 0, DAY_BEFORE_1515, "pending"),
        ("1h", 0, HOUR_BEFORE, "pending"),
    ]


def test_a_reminder_already_past_at_booking_time_is_not_made(settings):
    three_hours_ahead = add_slot(settings, starts_at=NOW + dt.timedelta(hours=3))
    booking_id = book(settings, three_hours_ahead)
    assert reminder_rows(settings, booking_id) == [("1h", 0, NOW + dt.timedelta(hours=2), "pending")]


def test_reminders_across_the_clock_change_are_due_at_uk_wall_clock_times(settings):
    # Clocks went back at 01:00 UTC on Sunday 25 October 2026; both days are then GMT (= UTC).
    monday_1515_uk = dt.datetime(2026, 10, 26, 15, 15, tzinfo=UTC)
    with unit_of_work(settings.database_url) as session:
        slot = SurgerySlot(
            school_ref=SCHOOL, starts_at=monday_1515_uk, ends_at=monday_1515_uk + dt.timedelta(minutes=15)
        )
        session.add(slot)
        session.flush()
        made = bookings.book(
            session,
            staff(session, "U0EXTEACH1"),
            slot.id,
            topic="behaviour",
            now=dt.datetime(2026, 10, 20, tzinfo=UTC),
        )
        booking_id = made.id
    rows = reminder_rows(settings, booking_id)
    sunday_1515_utc = dt.datetime(2026, 10, 25, 15, 15, tzinfo=UTC)
    assert [(kind, due) for kind, _, due, _ in rows] == [
        ("24h", sunday_1515_utc),
        ("1h", dt.datetime(2026, 10, 26, 14, 15, tzinfo=UTC)),
    ]
    assert rows[0][2].astimezone(ZoneInfo("Europe/London")).strftime("%H:%M %Z") == "15:15 GMT"
    outbox = Outbox()
    assert run(settings, sunday_1515_utc - dt.timedelta(minutes=1), outbox) == reminders.ReminderRun()
    assert run(settings, sunday_1515_utc, outbox) == reminders.ReminderRun(sent=1)
    assert outbox.sent[0][1].startswith(
        "Reminder: your SENCo surgery slot is tomorrow, Monday 26 October at 3:15pm (topic: behaviour)."
    )


# --- Sending ------------------------------------------------------------------------------------


def test_each_reminder_is_sent_at_its_time_exactly_once(settings):
    booking_id = book(settings, add_slot(settings), note="Year 3 phonics")
    outbox = Outbox()
    assert run(settings, DAY_BEFORE_1515 - dt.timedelta(seconds=1), outbox) == reminders.ReminderRun()
    assert run(settings, DAY_BEFORE_1515, outbox) == reminders.ReminderRun(sent=1)
    assert run(settings, DAY_BEFORE_1515, outbox) == reminders.ReminderRun()
    assert outbox.sent == [
        (
            "U0EXTEACH1",
            "Reminder: your SENCo surgery slot is tomorrow, Tuesday 24 November at 3:15pm (topic: reading). "
            "If you can no longer make it, please let the SENCo know.",
        )
    ]
    assert run(settings, HOUR_BEFORE, outbox) == reminders.ReminderRun(sent=1)
    assert run(settings, HOUR_BEFORE + dt.timedelta(minutes=5), outbox) == reminders.ReminderRun()
    assert outbox.sent[1][1].startswith(
        "Reminder: your SENCo surgery slot is today, Tuesday 24 November at 3:15pm"
    )
    assert [status for *_, status in reminder_rows(settings, booking_id)] == ["sent", "sent"]
    with unit_of_work(settings.database_url) as session:
        sent_at = (
            session.execute(select(BookingReminder.sent_at).order_by(BookingReminder.id)).scalars().all()
        )
    assert sent_at == [DAY_BEFORE_1515, HOUR_BEFORE]


def test_a_reminder_names_no_one_and_not_the_note(settings):
    book(settings, add_slot(settings), note="About Sam Smith's reading")
    outbox = Outbox()
    run(settings, HOUR_BEFORE, outbox)
    for _, text in outbox.sent:
        assert "Example" not in text and "Sam" not in text


def test_three_schedulers_at_once_send_each_reminder_once(settings):
    teacher_ids = _many_teachers(settings, 8)
    slot_ids = [add_slot(settings, starts_at=TUESDAY_1515 + dt.timedelta(minutes=15 * i)) for i in range(8)]
    with unit_of_work(settings.database_url) as session:
        for staff_id, slot_id in zip(teacher_ids, slot_ids, strict=True):
            bookings.book(session, session.get(StaffMember, staff_id), slot_id, topic="other", now=NOW)
    outbox, start = Outbox(), threading.Barrier(3)
    all_24h_due = DAY_BEFORE_1515 + dt.timedelta(hours=3)
    runs: list[reminders.ReminderRun] = []

    def scheduler() -> None:
        start.wait()
        runs.append(run(settings, all_24h_due, outbox))

    threads = [threading.Thread(target=scheduler) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.sent for r in runs) == len(outbox.sent) == 8
    assert sorted(user for user, _ in outbox.sent) == [f"U0LOAD{i:04d}" for i in range(8)]
    assert [(kind, status) for kind, _, _, status in reminder_rows(settings)] == [("24h", "sent")] * 8 + [
        ("1h", "pending")
    ] * 8


def test_a_late_reminder_before_the_start_is_sent_with_the_right_day_word(settings):
    book(settings, add_slot(settings))
    outbox = Outbox()
    # The scheduler was down all night: the 24h reminder is hours late but the slot is still ahead.
    morning = dt.datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    assert run(settings, morning, outbox) == reminders.ReminderRun(sent=1)
    assert outbox.sent[0][1].startswith(
        "Reminder: your SENCo surgery slot is today, Tuesday 24 November at 3:15pm"
    )
    # A late 1h reminder still before the start is sent as well.
    assert run(settings, TUESDAY_1515 - dt.timedelta(minutes=5), outbox) == reminders.ReminderRun(sent=1)


def test_when_both_are_due_at_once_only_the_1_hour_reminder_is_sent(settings):
    booking_id = book(settings, add_slot(settings))
    outbox = Outbox()
    assert run(settings, HOUR_BEFORE + dt.timedelta(minutes=15), outbox) == reminders.ReminderRun(
        sent=1, skipped=1
    )
    assert len(outbox.sent) == 1
    assert [status for *_, status in reminder_rows(settings, booking_id)] == ["skipped", "sent"]


def test_a_reminder_more_than_10_minutes_after_the_start_is_skipped(settings):
    booking_id = book(settings, add_slot(settings))
    outbox = Outbox()
    assert run(settings, TUESDAY_1515 + dt.timedelta(minutes=11), outbox) == reminders.ReminderRun(skipped=2)
    assert outbox.sent == []
    assert [status for *_, status in reminder_rows(settings, booking_id)] == ["skipped", "skipped"]


def test_after_a_move_only_the_reminders_of_the_new_time_are_sent(settings):
    old = add_slot(settings)
    new = add_slot(settings, starts_at=TUESDAY_1515 + dt.timedelta(days=2, hours=-5))  # Thursday 10:15
    booking_id = book(settings, old)
    with unit_of_work(settings.database_url) as session:
        bookings.move(session, staff(session, "U0EXTEACH1"), booking_id, new, now=NOW)
    new_start = TUESDAY_1515 + dt.timedelta(days=2, hours=-5)
    assert reminder_rows(settings, booking_id) == [
        ("24h", 0, DAY_BEFORE_1515, "superseded"),
        ("1h", 0, HOUR_BEFORE, "superseded"),
        ("24h", 1, new_start - dt.timedelta(hours=24), "pending"),
        ("1h", 1, new_start - dt.timedelta(hours=1), "pending"),
    ]
    outbox = Outbox()
    for hour in range(0, 80):
        run(settings, NOW + dt.timedelta(hours=hour), outbox)
    assert [text.split(" (topic")[0] for _, text in outbox.sent] == [
        "Reminder: your SENCo surgery slot is tomorrow, Thursday 26 November at 10:15am",
        "Reminder: your SENCo surgery slot is today, Thursday 26 November at 10:15am",
    ]


def test_after_a_cancel_no_reminder_is_sent(settings):
    booking_id = book(settings, add_slot(settings))
    with unit_of_work(settings.database_url) as session:
        bookings.cancel(session, staff(session, "U0EXTEACH1"), booking_id, now=NOW)
    assert [status for *_, status in reminder_rows(settings, booking_id)] == ["cancelled", "cancelled"]
    outbox = Outbox()
    assert run(settings, TUESDAY_1515, outbox) == reminders.ReminderRun()
    assert outbox.sent == []


def test_a_reminder_of_a_booking_cancelled_behind_its_back_is_skipped(settings):
    """Defence in depth: a pending row whose booking is cancelled (e.g. by hand) is not sent."""
    booking_id = book(settings, add_slot(settings))
    with unit_of_work(settings.database_url) as session:
        session.execute(update(Booking).where(Booking.id == booking_id).values(status="cancelled"))
    outbox = Outbox()
    assert run(settings, HOUR_BEFORE, outbox) == reminders.ReminderRun(skipped=2)
    assert outbox.sent == []


def test_a_failed_send_is_recorded_and_never_retried(settings):
    booking_id = book(settings, add_slot(settings))
    broken = Outbox(fail_with=RuntimeError("slack said channel_not_found"))
    assert run(settings, DAY_BEFORE_1515, broken) == reminders.ReminderRun(failed=1)
    with unit_of_work(settings.database_url) as session:
        row = session.execute(select(BookingReminder).where(BookingReminder.kind == "24h")).scalar_one()
        assert (row.status, row.detail) == ("failed", "RuntimeError: slack said channel_not_found")
    working = Outbox()
    assert run(settings, DAY_BEFORE_1515 + dt.timedelta(minutes=1), working) == reminders.ReminderRun()
    assert run(settings, HOUR_BEFORE, working) == reminders.ReminderRun(sent=1)  # only the 1h one
    assert [status for *_, status in reminder_rows(settings, booking_id)] == ["failed", "sent"]


def test_a_long_error_is_truncated(settings):
    book(settings, add_slot(settings))
    run(settings, DAY_BEFORE_1515, Outbox(fail_with=ValueError("x" * 1000)))
    with unit_of_work(settings.database_url) as session:
        detail = session.execute(
            select(BookingReminder.detail).where(BookingReminder.status == "failed")
        ).scalar_one()
    assert len(detail) == 300 and detail.startswith("ValueError: xxx")


def test_a_reminder_interrupted_by_a_crash_is_never_resent_and_is_marked_failed(settings):
    booking_id = book(settings, add_slot(settings))
    with pytest.raises(ProcessDied):  # claimed (committed as `sending`), then the process died in the send
        run(settings, DAY_BEFORE_1515, Outbox(fail_with=ProcessDied()))
    assert [status for *_, status in reminder_rows(settings, booking_id)] == ["sending", "pending"]

    after_restart = Outbox()
    assert run(settings, DAY_BEFORE_1515 + dt.timedelta(minutes=1), after_restart) == reminders.ReminderRun()
    assert after_restart.sent == []

    later = DAY_BEFORE_1515 + dt.timedelta(minutes=20)
    assert reminders.stale_sending(settings.database_url, later, dt.timedelta(minutes=30)) == []
    stale = reminders.stale_sending(settings.database_url, later, dt.timedelta(minutes=10))
    assert [(r.kind, r.claimed_at) for r in stale] == [("24h", DAY_BEFORE_1515)]
    assert reminders.fail_stale(settings.database_url, now=later, older_than=dt.timedelta(minutes=10)) == 1
    with unit_of_work(settings.database_url) as session:
        row = session.get(BookingReminder, stale[0].id)
        assert (row.status, row.detail) == ("failed", "interrupted; not resent to avoid a duplicate")
    assert reminders.stale_sending(settings.database_url, later, dt.timedelta(minutes=10)) == []
    assert run(settings, later, after_restart) == reminders.ReminderRun()
    assert after_restart.sent == []


def test_the_module_documents_the_never_twice_decisions():
    doc = reminders.__doc__
    assert "never resent automatically" in doc and "`failed` is **terminal**" in doc


# --- Wording ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hour", "minute", "words"),
    [(15, 15, "3:15pm"), (15, 0, "3pm"), (0, 30, "12:30am"), (12, 0, "12pm"), (9, 5, "9:05am")],
)
def test_clock_words(hour, minute, words):
    assert uk_time.clock_words(dt.datetime(2026, 11, 24, hour, minute)) == words


def test_reminder_text_names_the_topic_as_the_menu_does_in_a_sentence():
    starts = dt.datetime(2026, 11, 24, 15, 15, tzinfo=UTC)
    text = reminders.reminder_text(starts, "other", now=starts - dt.timedelta(hours=24))
    assert "(topic: something else)" in text
    text = reminders.reminder_text(starts, "access_arrangements", now=starts - dt.timedelta(hours=24))
    assert "(topic: access arrangements)" in text


def test_reminder_text_uses_uk_summer_time():
    starts = dt.datetime(2027, 6, 1, 14, 15, tzinfo=UTC)  # 15:15 BST
    text = reminders.reminder_text(starts, "ehcp_paperwork", now=starts - dt.timedelta(hours=1))
    assert text.startswith(
        "Reminder: your SENCo surgery slot is today, Tuesday 1 June at 3:15pm (topic: EHCP paperwork)."
    )


# --- Morning digest -----------------------------------------------------------------------------

TUESDAY_0730 = dt.datetime(2026, 11, 24, 7, 30, tzinfo=UTC)  # GMT: UK time is UTC


def digest(settings, now: dt.datetime, outbox: Outbox, **kwargs) -> int:
    return reminders.send_digests(settings.database_url, now=now, send=outbox, **kwargs)


def add_other_school(settings) -> None:
    """A second school in the same database, with its own SENCo, teacher and booking (by hand)."""
    with unit_of_work(settings.database_url) as session:
        senco = StaffMember(
            school_ref="other-school", slack_user_id="U0OTSENCO1", name="Dr Z. Other", role="senco"
        )
        teacher = StaffMember(
            school_ref="other-school", slack_user_id="U0OTTEACH1", name="Mx Y. Otherteacher", role="teacher"
        )
        slot = SurgerySlot(
            school_ref="other-school",
            starts_at=TUESDAY_1515,
            ends_at=TUESDAY_1515 + dt.timedelta(minutes=15),
            booked=1,
        )
        session.add_all([senco, teacher, slot])
        session.flush()
        session.add(
            Booking(slot_id=slot.id, staff_id=teacher.id, topic="behaviour", uid="other-1@x", sequence=0)
        )


def test_the_senco_gets_one_digest_a_day_listing_todays_bookings_in_time_order(settings):
    book(
        settings, add_slot(settings, starts_at=TUESDAY_1515 + dt.timedelta(minutes=15)), note="Year 3 phonics"
    )
    book(
        settings,
        add_slot(settings),
        "U0EXTEACH2",
        topic="ehcp_paperwork",
        note="Annual review <!channel> & more",
    )
    book(
        settings, add_slot(settings, starts_at=TUESDAY_1515 + dt.timedelta(days=1)), topic="other"
    )  # tomorrow
    outbox = Outbox()
    assert [digest(settings, TUESDAY_0730 + dt.timedelta(minutes=m), outbox) for m in (0, 1, 60)] == [1, 0, 0]
    assert outbox.sent == [
        (
            "U0EXSENCO1",
            "Good morning. SENCo surgery bookings today, Tuesday 24 November:\n"
            "• 3:15pm: Ms E. Example, EHCP paperwork (note: Annual review &lt;!channel&gt; &amp; more)\n"
            "• 3:30pm: Mr D. Example, reading (note: Year 3 phonics)",
        )
    ]
    with unit_of_work(settings.database_url) as session:
        runs = session.execute(select(DigestRun)).scalars().all()
        assert [(r.day, r.status) for r in runs] == [(dt.date(2026, 11, 24), "sent")]


def test_no_digest_before_the_digest_time(settings):
    outbox = Outbox()
    assert digest(settings, TUESDAY_0730 - dt.timedelta(minutes=1), outbox) == 0
    assert digest(settings, TUESDAY_0730 + dt.timedelta(minutes=29), outbox, digest_time="08:00") == 0
    assert outbox.sent == []
    with unit_of_work(settings.database_url) as session:
        assert session.execute(select(DigestRun)).scalars().all() == []


def test_the_digest_time_is_uk_time_in_summer_too(settings):
    outbox = Outbox()
    summer_0729_uk = dt.datetime(2027, 6, 1, 6, 29, tzinfo=UTC)
    assert digest(settings, summer_0729_uk, outbox) == 0
    assert digest(settings, summer_0729_uk + dt.timedelta(minutes=1), outbox) == 1


def test_an_empty_day_says_so(settings):
    outbox = Outbox()
    assert digest(settings, TUESDAY_0730, outbox) == 1
    assert outbox.sent == [("U0EXSENCO1", "Good morning. No surgery bookings today.")]


def test_other_schools_bookings_never_appear(settings):
    book(settings, add_slot(settings))
    add_other_school(settings)
    outbox = Outbox()
    assert digest(settings, TUESDAY_0730, outbox) == 2
    texts = dict(outbox.sent)
    assert "Mr D. Example" in texts["U0EXSENCO1"] and "Otherteacher" not in texts["U0EXSENCO1"]
    assert "Otherteacher" in texts["U0OTSENCO1"] and "Mr D. Example" not in texts["U0OTSENCO1"]


def test_no_digest_on_a_non_school_day_and_none_for_admins_or_leavers(settings):
    outbox = Outbox()
    assert digest(settings, TUESDAY_0730, outbox, calendar_is_school_day=lambda day: False) == 0
    with unit_of_work(settings.database_url) as session:
        session.execute(update(StaffMember).where(StaffMember.role == "senco").values(active=False))
    assert digest(settings, TUESDAY_0730, outbox, calendar_is_school_day=lambda day: True) == 0
    assert outbox.sent == []


def test_a_failed_digest_is_recorded_and_not_resent_that_day(settings):
    assert digest(settings, TUESDAY_0730, Outbox(fail_with=RuntimeError("down"))) == 0
    outbox = Outbox()
    assert digest(settings, TUESDAY_0730 + dt.timedelta(hours=1), outbox) == 0
    with unit_of_work(settings.database_url) as session:
        assert session.execute(select(DigestRun.status)).scalars().all() == ["failed"]
    assert digest(settings, TUESDAY_0730 + dt.timedelta(days=1), outbox) == 1  # the next day is a new day


def test_the_digest_names_topics_as_the_booking_menu_does(settings):
    book(settings, add_slot(settings), topic="other")
    book(settings, add_slot(settings, starts_at=TUESDAY_1515 + dt.timedelta(minutes=15)), "U0EXTEACH2",
         topic="access_arrangements")  # fmt: skip
    outbox = Outbox()
    digest(settings, TUESDAY_0730, outbox)
    ((_, text),) = outbox.sent
    assert text.endswith(
        "• 3:15pm: Mr D. Example, something else\n• 3:30pm: Ms E. Example, access arrangements"
    )

"""Booking reminders (24 hours and 1 hour before) and the SENCo's morning digest, by Slack DM.

Why it is built this way
------------------------
Reminders are rows in `booking_reminders`, made when a booking is made or moved, so they
survive a restart and a second scheduler process sees the same work.

The rule is **never twice**. A sender claims one reminder with one conditional UPDATE
(`pending` -> `sending`, `WHERE status = 'pending'`) in its own short transaction and
commits *before* it calls Slack, so two schedulers can never both own it. Slack is called
outside any transaction (a slow API call must not hold the database's write lock), then a
second short transaction records `sent` or `failed`.

If the process dies between the claim and that record, the row stays in `sending`, and we
cannot know whether the DM went out. Such a row is **never resent automatically**: a
missed reminder is a small inconvenience, a duplicate is noise people learn to ignore.
`stale_sending` lists these rows and `fail_stale` marks them `failed` with the detail
"interrupted; not resent to avoid a duplicate", so they show up for a person to look at.

`failed` is **terminal** for the same reason: a Slack error such as a timeout may come
after the message was delivered, so a failed reminder is not retried. The detail column
says why it failed.

A reminder is `skipped` (not sent) when its booking was cancelled, its booking was moved
(`superseded`: the reminder was for the old time), the teacher has left the roster, or
the slot started more than ten minutes ago. A late reminder whose slot has not started is
still worth sending, and its wording ("today", "tomorrow") comes from the real times. A
24-hour reminder that is so late that the 1-hour one is also due is skipped, so the
teacher gets one message, not two at once.

The morning digest is "exactly once per SENCo per day" by the unique (staff_id, day) of
`digest_runs`: the row is inserted (status `sending`) and committed first; an
IntegrityError means another run already did it. As with reminders, a `failed` or
interrupted digest is not resent that day.

Texts are Slack mrkdwn. Words people typed (notes) and names from the roster are escaped
(&, <, >) so that a note can never mention @channel or a user. A reminder only ever
names the time and topic: never another person.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from knowledge.shared.db import unit_of_work
from knowledge.shared.models import Booking, BookingReminder, DigestRun, StaffMember, SurgerySlot
from knowledge.surgery.booking import topic_words, uk_day_bounds
from knowledge.text.markup import slack_escape
from knowledge.text.uk_time import UK_TZ, clock_words, date_words

Send = Callable[[str, str], None]

REMINDER_OFFSETS: dict[str, dt.timedelta] = {"24h": dt.timedelta(hours=24), "1h": dt.timedelta(hours=1)}
LATE_GRACE = dt.timedelta(minutes=10)
STALE_DETAIL = "interrupted; not resent to avoid a duplicate"
DETAIL_CHARS = 300
NO_BOOKINGS = "No surgery bookings today."

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReminderRun:
    sent: int = 0
    failed: int = 0
    skipped: int = 0


@dataclass(frozen=True)
class _Claimed:
    """A reminder or digest this process owns (status `sending`) and must now deliver."""

    row_id: int
    slack_user_id: str
    text: str


# --- Scheduling (inside the booking's transaction) --------------------------------------


def schedule_for(session: Session, booking: Booking, now: dt.datetime) -> list[BookingReminder]:
    """Make the reminders of the booking's current time; a kind already past due is left out."""
    existing = set(
        session.execute(
            select(BookingReminder.kind).where(
                BookingReminder.booking_id == booking.id, BookingReminder.sequence == booking.sequence
            )
        ).scalars()
    )
    made = []
    for kind, offset in REMINDER_OFFSETS.items():
        due_at = booking.slot.starts_at - offset
        if due_at < now or kind in existing:
            continue
        made.append(
            BookingReminder(
                booking_id=booking.id, kind=kind, sequence=booking.sequence, due_at=due_at, status="pending"
            )
        )
    session.add_all(made)
    session.flush()
    return made


def supersede(session: Session, booking_id: int, current_sequence: int) -> int:
    """Pending reminders of an earlier time of this booking (it was moved) will not be sent."""
    return _set_pending(
        session,
        booking_id,
        "superseded",
        BookingReminder.sequence < current_sequence,
    )


def cancel_pending(session: Session, booking_id: int) -> int:
    """The booking was cancelled: none of its pending reminders will be sent."""
    return _set_pending(session, booking_id, "cancelled")


def _set_pending(session: Session, booking_id: int, status: str, *extra) -> int:
    return session.execute(
        update(BookingReminder)
        .where(BookingReminder.booking_id == booking_id, BookingReminder.status == "pending", *extra)
        .values(status=status)
        .execution_options(synchronize_session="fetch")
    ).rowcount


# --- Sending reminders -------------------------------------------------------------------


def send_due(
    database_url: str,
    *,
    now: dt.datetime,
    send: Send,
    tz: str = UK_TZ,
    batch: int = 100,
) -> ReminderRun:
    """Send every pending reminder that is due, each at most once. Safe to run in parallel."""
    with unit_of_work(database_url) as session:
        due = list(
            session.execute(
                select(BookingReminder.id)
                .where(BookingReminder.status == "pending", BookingReminder.due_at <= now)
                .order_by(BookingReminder.due_at, BookingReminder.id)
                .limit(batch)
            ).scalars()
        )
    outcomes: Counter[str] = Counter()
    for reminder_id in due:
        outcomes[_send_one(database_url, reminder_id, now=now, send=send, tz=tz)] += 1
    return ReminderRun(sent=outcomes["sent"], failed=outcomes["failed"], skipped=outcomes["skipped"])


def _send_one(database_url: str, reminder_id: int, *, now: dt.datetime, send: Send, tz: str) -> str:
    """'sent', 'failed', 'skipped', or 'other' when another process claimed it first."""
    claimed = _claim_reminder(database_url, reminder_id, now=now, tz=tz)
    if claimed is None:
        return "other"
    if claimed == "skipped":
        return "skipped"
    error = _deliver(send, claimed)
    _finish_reminder(database_url, reminder_id, now=now, error=error)
    return "sent" if error is None else "failed"


def _claim_reminder(
    database_url: str, reminder_id: int, *, now: dt.datetime, tz: str
) -> _Claimed | Literal["skipped"] | None:
    with unit_of_work(database_url) as session:
        claimed = session.execute(
            update(BookingReminder)
            .where(BookingReminder.id == reminder_id, BookingReminder.status == "pending")
            .values(status="sending", claimed_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            return None
        reminder = session.get(BookingReminder, reminder_id)
        outcome = _skip_reason(session, reminder, now)
        if outcome is not None:
            reminder.status, reminder.detail = outcome
            return "skipped"
        booking = reminder.booking
        text = reminder_text(booking.slot.starts_at, booking.topic, now=now, tz=tz)
        return _Claimed(reminder.id, booking.staff.slack_user_id, text)


def _skip_reason(session: Session, reminder: BookingReminder, now: dt.datetime) -> tuple[str, str] | None:
    """(status, detail) when this reminder must not be sent; None when it should be."""
    booking = reminder.booking
    if booking.status != "active":
        return "skipped", "booking cancelled"
    if reminder.sequence != booking.sequence:
        return "superseded", "booking moved"
    if not booking.staff.active:
        return "skipped", "no longer on the staff roster"
    if now > booking.slot.starts_at + LATE_GRACE:
        return "skipped", "too late: the slot has already started"
    if reminder.kind == "24h" and _one_hour_reminder_due(session, reminder, now):
        return "skipped", "overtaken by the 1-hour reminder"
    return None


def _one_hour_reminder_due(session: Session, reminder: BookingReminder, now: dt.datetime) -> bool:
    return (
        session.execute(
            select(BookingReminder.id).where(
                BookingReminder.booking_id == reminder.booking_id,
                BookingReminder.sequence == reminder.sequence,
                BookingReminder.kind == "1h",
                BookingReminder.due_at <= now,
            )
        ).first()
        is not None
    )


def _deliver(send: Send, claimed: _Claimed) -> Exception | None:
    """Call Slack (outside any transaction). Any error is returned, to be recorded."""
    try:
        send(claimed.slack_user_id, claimed.text)
    except Exception as exc:  # whatever the sender raised is recorded; failed is terminal
        log.warning("Slack DM failed (%s); not retried", type(exc).__name__)
        return exc
    return None


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:DETAIL_CHARS]


def _finish_reminder(
    database_url: str, reminder_id: int, *, now: dt.datetime, error: Exception | None
) -> None:
    if error is None:
        values: dict = {"status": "sent", "sent_at": now, "detail": None}
        # A row marked failed as stale while Slack was slow was in fact sent: say so.
        from_status: tuple[str, ...] = ("sending", "failed")
    else:
        values, from_status = {"status": "failed", "detail": _describe(error)}, ("sending",)
    with unit_of_work(database_url) as session:
        session.execute(
            update(BookingReminder)
            .where(BookingReminder.id == reminder_id, BookingReminder.status.in_(from_status))
            .values(**values)
            .execution_options(synchronize_session=False)
        )


# --- Interrupted sends --------------------------------------------------------------------


def stale_sending(database_url: str, now: dt.datetime, older_than: dt.timedelta) -> list[BookingReminder]:
    """Reminders claimed more than `older_than` ago and never finished: the sender died."""
    with unit_of_work(database_url) as session:
        return list(
            session.execute(
                select(BookingReminder)
                .where(BookingReminder.status == "sending", BookingReminder.claimed_at <= now - older_than)
                .order_by(BookingReminder.claimed_at, BookingReminder.id)
            ).scalars()
        )


def fail_stale(database_url: str, *, now: dt.datetime, older_than: dt.timedelta) -> int:
    """Mark interrupted reminders failed (never resent: see the module docstring). Returns how many."""
    with unit_of_work(database_url) as session:
        return session.execute(
            update(BookingReminder)
            .where(BookingReminder.status == "sending", BookingReminder.claimed_at <= now - older_than)
            .values(status="failed", detail=STALE_DETAIL)
            .execution_options(synchronize_session=False)
        ).rowcount


# --- Wording -------------------------------------------------------------------------------


def reminder_text(starts_at: dt.datetime, topic: str, *, now: dt.datetime, tz: str = UK_TZ) -> str:
    """The reminder DM; "today"/"tomorrow" are worked out in UK time from the real times."""
    zone = ZoneInfo(tz)
    start, today = starts_at.astimezone(zone), now.astimezone(zone).date()
    topic_part = f"(topic: {topic_words(topic)})"
    if now >= starts_at:
        return f"Reminder: your SENCo surgery slot started at {clock_words(start)} today {topic_part}."
    day_word = {0: "today", 1: "tomorrow"}.get((start.date() - today).days)
    when = f"{day_word}, {date_words(start.date())}" if day_word else f"on {date_words(start.date())}"
    return (
        f"Reminder: your SENCo surgery slot is {when} at {clock_words(start)} {topic_part}. "
        "If you can no longer make it, please let the SENCo know."
    )


# --- The SENCo's morning digest -------------------------------------------------------------


def send_digests(
    database_url: str,
    *,
    now: dt.datetime,
    send: Send,
    digest_time: str = "07:30",
    calendar_is_school_day: Callable[[dt.date], bool] | None = None,
    tz: str = UK_TZ,
    school_day: Callable[[str, dt.date], bool] | None = None,
) -> int:
    """Each active SENCo gets today's bookings once, at or after `digest_time` UK time.

    `school_day(school_ref, day)` asks each school's own calendar (a trust's schools can
    have different INSET days). Returns how many digests were sent by this call.
    """
    local_now = now.astimezone(ZoneInfo(tz))
    today = local_now.date()
    if local_now.time() < _parse_clock(digest_time):
        return 0
    if calendar_is_school_day is not None and not calendar_is_school_day(today):
        return 0
    sent = 0
    for staff_id, school_ref in _senco_ids(database_url):
        if school_day is not None and not school_day(school_ref, today):
            continue
        claimed = _claim_digest(database_url, staff_id, today, now=now, tz=tz)
        if claimed is None:
            continue
        error = _deliver(send, claimed)
        _finish_digest(database_url, claimed.row_id, error)
        sent += error is None
    return sent


def _parse_clock(value: str) -> dt.time:
    hours, minutes = value.strip().split(":")
    return dt.time(int(hours), int(minutes))


def _senco_ids(database_url: str) -> list[tuple[int, str]]:
    """(staff id, school) of every active SENCo; a shared SENCo has one row per school."""
    with unit_of_work(database_url) as session:
        return [
            (row.id, row.school_ref)
            for row in session.execute(
                select(StaffMember.id, StaffMember.school_ref)
                .where(StaffMember.role == "senco", StaffMember.active.is_(True))
                .order_by(StaffMember.id)
            )
        ]


def _claim_digest(
    database_url: str, staff_id: int, day: dt.date, *, now: dt.datetime, tz: str
) -> _Claimed | None:
    """Insert today's DigestRun (committed before sending); None when it already exists."""
    try:
        with unit_of_work(database_url) as session:
            senco = session.get(StaffMember, staff_id)
            run = DigestRun(school_ref=senco.school_ref, staff_id=senco.id, day=day, status="sending", at=now)
            session.add(run)
            session.flush()
            text = digest_text(_bookings_on(session, senco.school_ref, day, tz), day, tz)
            return _Claimed(run.id, senco.slack_user_id, text)
    except IntegrityError:
        return None


def _bookings_on(
    session: Session, school_ref: str, day: dt.date, tz: str
) -> list[tuple[Booking, StaffMember]]:
    """The school's active bookings on a UK day, in time order (for the SENCo's own digest)."""
    day_start, day_end = uk_day_bounds(dt.datetime.combine(day, dt.time(12), tzinfo=ZoneInfo(tz)), tz)
    return [
        (booking, member)
        for booking, member in session.execute(
            select(Booking, StaffMember)
            .join(SurgerySlot, Booking.slot_id == SurgerySlot.id)
            .join(StaffMember, Booking.staff_id == StaffMember.id)
            .where(
                SurgerySlot.school_ref == school_ref,
                StaffMember.school_ref == school_ref,
                Booking.status == "active",
                SurgerySlot.starts_at >= day_start,
                SurgerySlot.starts_at < day_end,
            )
            .order_by(SurgerySlot.starts_at, Booking.id)
        )
    ]


def digest_text(rows: list[tuple[Booking, StaffMember]], day: dt.date, tz: str = UK_TZ) -> str:
    """The SENCo's digest: time, teacher, topic and note of each booking today."""
    if not rows:
        return f"Good morning. {NO_BOOKINGS}"
    zone = ZoneInfo(tz)
    lines = [f"Good morning. SENCo surgery bookings today, {date_words(day)}:"]
    for booking, member in rows:
        line = (
            f"• {clock_words(booking.slot.starts_at.astimezone(zone))}: "
            f"{slack_escape(member.name)}, {topic_words(booking.topic)}"
        )
        if booking.note:
            line += f" (note: {slack_escape(booking.note)})"
        lines.append(line)
    return "\n".join(lines)


def _finish_digest(database_url: str, run_id: int, error: Exception | None) -> None:
    with unit_of_work(database_url) as session:
        session.execute(
            update(DigestRun)
            .where(DigestRun.id == run_id, DigestRun.status == "sending")
            .values(status="sent" if error is None else "failed")
            .execution_options(synchronize_session=False)
        )

"""Booking SENCo surgery slots: atomic claims, cancellations, the booking rules, audit.

The claim on a slot is one conditional UPDATE
    UPDATE surgery_slots SET booked = booked + 1
    WHERE id = :slot AND status = 'open' AND booked < capacity AND starts_at > :now
inside the booking's transaction. The database applies it atomically (SQLite takes its
write lock; PostgreSQL locks the row), so when many people click the same slot at once
exactly `capacity` of them get it and every other one is told it was just taken.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from knowledge.models import Booking, BookingAudit, StaffMember, SurgerySlot
from knowledge.staff import require_slot_manager

TOPICS = ("reading", "behaviour", "ehcp_paperwork", "access_arrangements", "other")
MAX_NOTE_CHARS = 200


class BookingRefused(ValueError):
    """A booking that cannot be made; the message is safe to show to the person."""


class SlotTaken(BookingRefused):
    def __init__(self) -> None:
        super().__init__("Sorry, that slot was just taken.")


@dataclass(frozen=True)
class BookingRules:
    per_teacher_per_day: int = 1
    min_notice: dt.timedelta = dt.timedelta(hours=2)
    min_cancel_notice: dt.timedelta = dt.timedelta(hours=1)


def free_slots(session: Session, school_ref: str, now: dt.datetime, limit: int = 10) -> list[SurgerySlot]:
    """Open slots with room, in the future, soonest first. Slots in the past are never offered."""
    return list(
        session.execute(
            select(SurgerySlot)
            .where(
                SurgerySlot.school_ref == school_ref,
                SurgerySlot.status == "open",
                SurgerySlot.booked < SurgerySlot.capacity,
                SurgerySlot.starts_at > now,
            )
            .order_by(SurgerySlot.starts_at)
            .limit(limit)
        ).scalars()
    )


def _check_rules(
    session: Session, member: StaffMember, slot: SurgerySlot, now: dt.datetime, rules: BookingRules
) -> None:
    if slot.starts_at - now < rules.min_notice:
        raise BookingRefused("That slot is too soon to book. Please choose a later one.")
    day_start = slot.starts_at.replace(hour=0, minute=0, second=0, microsecond=0)
    same_day = session.execute(
        select(func.count(Booking.id))
        .join(SurgerySlot)
        .where(
            Booking.staff_id == member.id,
            Booking.status == "active",
            SurgerySlot.starts_at >= day_start,
            SurgerySlot.starts_at < day_start + dt.timedelta(days=1),
        )
    ).scalar_one()
    if same_day >= rules.per_teacher_per_day:
        raise BookingRefused("You already have a booking that day. Please choose another day.")


def book(
    session: Session,
    member: StaffMember,
    slot_id: int,
    *,
    topic: str,
    note: str = "",
    now: dt.datetime,
    rules: BookingRules = BookingRules(),
    override_by: StaffMember | None = None,
) -> Booking:
    """Claim a place in a slot for `member`. Raises `SlotTaken` or `BookingRefused`."""
    if topic not in TOPICS:
        raise BookingRefused(f"Please choose a topic: {', '.join(t.replace('_', ' ') for t in TOPICS)}.")
    note = " ".join((note or "").split())
    if len(note) > MAX_NOTE_CHARS:
        raise BookingRefused(
            f"The note can be at most {MAX_NOTE_CHARS} characters. Please don't include pupils' names."
        )
    slot = session.get(SurgerySlot, slot_id)
    if slot is None or slot.school_ref != member.school_ref:
        raise BookingRefused("I can't find that slot.")
    if override_by is not None:
        require_slot_manager(override_by)
    else:
        _check_rules(session, member, slot, now, rules)
    claimed = session.execute(
        update(SurgerySlot)
        .where(
            SurgerySlot.id == slot_id,
            SurgerySlot.status == "open",
            SurgerySlot.booked < SurgerySlot.capacity,
            SurgerySlot.starts_at > now,
        )
        .values(booked=SurgerySlot.booked + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise SlotTaken()
    booking = Booking(slot_id=slot_id, staff_id=member.id, topic=topic, note=note or None)
    session.add(booking)
    session.flush()
    session.add(BookingAudit(booking_id=booking.id, staff_id=member.id, action="book"))
    if override_by is not None:
        session.add(
            BookingAudit(
                booking_id=booking.id, staff_id=override_by.id, action="override", detail="booking rules"
            )
        )
    return booking


def cancel(
    session: Session,
    member: StaffMember,
    booking_id: int,
    *,
    now: dt.datetime,
    rules: BookingRules = BookingRules(),
) -> Booking:
    """Cancel a booking: the owner (within the notice rule) or the SENCo/admin (audited)."""
    booking = session.get(Booking, booking_id)
    if booking is None or booking.status != "active" or booking.staff.school_ref != member.school_ref:
        raise BookingRefused("I can't find that booking.")
    slot = booking.slot
    if booking.staff_id != member.id:
        require_slot_manager(member)
        session.add(
            BookingAudit(booking_id=booking.id, staff_id=member.id, action="override", detail="cancel")
        )
    elif slot.starts_at - now < rules.min_cancel_notice:
        raise BookingRefused("It's too late to cancel that booking here. Please tell the SENCo directly.")
    booking.status = "cancelled"
    booking.cancelled_at = now
    session.execute(
        update(SurgerySlot)
        .where(SurgerySlot.id == slot.id, SurgerySlot.booked > 0)
        .values(booked=SurgerySlot.booked - 1)
        .execution_options(synchronize_session=False)
    )
    session.add(BookingAudit(booking_id=booking.id, staff_id=member.id, action="cancel"))
    return booking


def bookings_of(session: Session, viewer: StaffMember, *, of: StaffMember | None = None) -> list[Booking]:
    """Someone's active bookings. Seeing another person's needs the SENCo or admin role."""
    target = of or viewer
    if target.id != viewer.id:
        require_slot_manager(viewer)
    return list(
        session.execute(
            select(Booking)
            .join(SurgerySlot)
            .where(Booking.staff_id == target.id, Booking.status == "active")
            .order_by(SurgerySlot.starts_at)
        ).scalars()
    )

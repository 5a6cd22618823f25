"""Booking SENCo surgery slots: atomic claims, moves, cancellations, the booking rules, audit.

The claim on a slot is one conditional UPDATE
    UPDATE surgery_slots SET booked = booked + 1
    WHERE id = :slot AND status = 'open' AND booked < capacity AND starts_at > :now
inside the booking's transaction. The database applies it atomically (SQLite takes its
write lock; PostgreSQL locks the row), so when many people click the same slot at once
exactly `capacity` of them get it and every other one is told it was just taken.

A move claims the new slot the same way *before* it releases the old one, so a move to
a slot someone has just taken fails with `SlotTaken` and leaves the booking as it was.
Changes to the booking row itself (move, cancel) are conditional UPDATEs as well
(`WHERE status = 'active' AND slot_id = :old`), so a double click or a teacher and the
SENCo acting at the same moment cannot release the same place twice.

Every booking has a calendar identity: `uid` never changes (a moved booking is the same
calendar event) and `sequence` goes up on every move and cancellation, which is what
calendar programs need to replace or remove the event they already have.

The rules (one booking per teacher per UK calendar day, notice before booking and
cancelling) are checked here, in the domain layer, not only in the dialogue. The SENCo
or an admin may break them; that is written to the audit table. Nobody holds two places in
one slot: a second click on one's own slot is `AlreadyBooked`, checked before the rules, so
the person is told the slot is already theirs rather than about the per-day limit.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from knowledge.schools.staff import require_slot_manager
from knowledge.shared.models import Booking, BookingAudit, StaffMember, SurgerySlot
from knowledge.text.uk_time import UK_TZ

if TYPE_CHECKING:
    from knowledge.shared.settings import Settings

TOPICS = ("reading", "behaviour", "ehcp_paperwork", "access_arrangements", "other")
# What each topic is called wherever a person sees it: the booking menu, calendar titles, and
# (through `topic_words`) inside sentences.
TOPIC_LABELS = {
    "reading": "Reading",
    "behaviour": "Behaviour",
    "ehcp_paperwork": "EHCP paperwork",
    "access_arrangements": "Access arrangements",
    "other": "Something else",
}
MAX_NOTE_CHARS = 200
# A pupil's name in a free-text note cannot be detected reliably (names are also
# ordinary words, and a check would give false comfort), so the UI asks instead.
NOTE_HINT = "Optional, up to 200 characters. Please don't include pupils' names."
UID_DOMAIN = "sendbot"


class BookingRefused(ValueError):
    """A booking that cannot be made; the message is safe to show to the person."""


class SlotTaken(BookingRefused):
    def __init__(self) -> None:
        super().__init__("Sorry, that slot was just taken.")


class AlreadyBooked(BookingRefused):
    """The person already holds a place in this slot (a second click on their own booking)."""

    def __init__(self, booking_id: int) -> None:
        super().__init__("You've already booked this slot.")
        self.booking_id = booking_id


@dataclass(frozen=True)
class BookingRules:
    per_teacher_per_day: int = 1
    min_notice: dt.timedelta = dt.timedelta(hours=2)
    min_cancel_notice: dt.timedelta = dt.timedelta(hours=1)
    tz: str = UK_TZ  # the "day" of the per-day limit is a school (UK) day

    @classmethod
    def from_settings(cls, settings: Settings) -> BookingRules:
        return cls(
            per_teacher_per_day=settings.bookings_per_teacher_per_day,
            min_notice=dt.timedelta(minutes=settings.booking_min_notice_minutes),
            min_cancel_notice=dt.timedelta(minutes=settings.cancel_min_notice_minutes),
            tz=settings.timezone,
        )


def _reminders() -> ModuleType:
    """`knowledge.surgery.reminders` uses this module's topic labels and UK days: imported on first use."""
    from knowledge.surgery import reminders

    return reminders


def topic_label(topic: str) -> str:
    """A topic's label as the booking menu shows it, e.g. "Reading", "EHCP paperwork"."""
    return TOPIC_LABELS.get(topic, topic.replace("_", " ").capitalize())


def topic_words(topic: str) -> str:
    """A topic inside a sentence ("about reading", "about EHCP paperwork"): the label in lower
    case, except a first word that is an acronym, which keeps its capitals."""
    label = topic_label(topic)
    first = label.split(" ", 1)[0]
    if len(first) > 1 and first.isupper():
        return label
    return label[:1].lower() + label[1:]


def _duration_words(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes % 60 == 0 and minutes >= 60:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def uk_day_bounds(moment: dt.datetime, tz: str = UK_TZ) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants at which the local calendar day containing `moment` starts and ends.

    Local midnight is used rather than "24 hours later": the day of a clock change is 23
    or 25 hours long, and a UK day is not the UTC day for the seven months of BST.
    """
    zone = ZoneInfo(tz)
    day = moment.astimezone(zone).date()
    start = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    return start.astimezone(dt.timezone.utc), end.astimezone(dt.timezone.utc)


def free_slots_query(school_ref: str, after: dt.datetime):
    """Open slots with room starting after `after`, soonest first: the one definition of "free"."""
    return (
        select(SurgerySlot)
        .where(
            SurgerySlot.school_ref == school_ref,
            SurgerySlot.status == "open",
            SurgerySlot.booked < SurgerySlot.capacity,
            SurgerySlot.starts_at > after,
        )
        .order_by(SurgerySlot.starts_at)
    )


def free_slots(session: Session, school_ref: str, now: dt.datetime, limit: int = 10) -> list[SurgerySlot]:
    """Open slots with room, in the future, soonest first. Slots in the past are never offered."""
    return list(session.execute(free_slots_query(school_ref, now).limit(limit)).scalars())


def _check_notice(slot: SurgerySlot, now: dt.datetime, rules: BookingRules) -> None:
    if slot.starts_at - now < rules.min_notice:
        raise BookingRefused(
            f"That slot is too soon to book here: surgery slots need booking at least "
            f"{_duration_words(rules.min_notice)} ahead. Please choose a later slot, "
            "or message the SENCo directly if it's urgent."
        )


def _check_day_limit(
    session: Session,
    member: StaffMember,
    slot: SurgerySlot,
    rules: BookingRules,
    ignore_booking_id: int | None = None,
) -> None:
    # Lock the teacher's row (PostgreSQL; SQLite has no row locks) so that two requests of the
    # same teacher at the same moment are counted one after the other.
    session.execute(select(StaffMember.id).where(StaffMember.id == member.id).with_for_update())
    day_start, day_end = uk_day_bounds(slot.starts_at, rules.tz)
    query = (
        select(func.count(Booking.id))
        .join(SurgerySlot, Booking.slot_id == SurgerySlot.id)
        .where(
            Booking.staff_id == member.id,
            Booking.status == "active",
            SurgerySlot.starts_at >= day_start,
            SurgerySlot.starts_at < day_end,
        )
    )
    if ignore_booking_id is not None:
        query = query.where(Booking.id != ignore_booking_id)
    same_day = session.execute(query).scalar_one()
    if same_day >= rules.per_teacher_per_day:
        already = "a booking" if same_day == 1 else f"{same_day} bookings"
        raise BookingRefused(
            f"You already have {already} that day, and it's "
            f"{rules.per_teacher_per_day} per person per day so everyone gets a turn. "
            "Please choose a slot on another day, "
            "or move your existing booking if this time suits you better."
        )


def _check_not_already_theirs(
    session: Session,
    member: StaffMember,
    slot_id: int,
    ignore_booking_id: int | None = None,
    acting: StaffMember | None = None,
) -> None:
    """A place in a slot the person already holds is refused as theirs, before any other rule:
    "you already have a booking that day" would be true but beside the point. `acting` is the
    SENCo or admin doing it for them, who is told in the third person."""
    # The teacher's row lock (PostgreSQL) orders two clicks of the same person; see _check_day_limit.
    session.execute(select(StaffMember.id).where(StaffMember.id == member.id).with_for_update())
    query = select(Booking.id).where(
        Booking.staff_id == member.id, Booking.slot_id == slot_id, Booking.status == "active"
    )
    if ignore_booking_id is not None:
        query = query.where(Booking.id != ignore_booking_id)
    held = session.execute(query.limit(1)).scalar_one_or_none()
    if held is not None and acting is not None and acting.id != member.id:
        raise BookingRefused(f"{member.name} already has a place in that slot.")
    if held is not None:
        raise AlreadyBooked(held)


def _check_rules(
    session: Session,
    member: StaffMember,
    slot: SurgerySlot,
    now: dt.datetime,
    rules: BookingRules,
    ignore_booking_id: int | None = None,
) -> None:
    _check_notice(slot, now, rules)
    _check_day_limit(session, member, slot, rules, ignore_booking_id)


def _check_note(note: str) -> str:
    note = " ".join((note or "").split())
    if len(note) > MAX_NOTE_CHARS:
        raise BookingRefused(
            f"The note can be at most {MAX_NOTE_CHARS} characters. Please don't include pupils' names."
        )
    return note


def _claim(session: Session, slot_id: int, now: dt.datetime) -> bool:
    """The atomic claim: one conditional UPDATE; True when this transaction got a place."""
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
    _expire_booked(session, slot_id)
    return claimed == 1


def _release(session: Session, slot_id: int) -> None:
    session.execute(
        update(SurgerySlot)
        .where(SurgerySlot.id == slot_id, SurgerySlot.booked > 0)
        .values(booked=SurgerySlot.booked - 1)
        .execution_options(synchronize_session=False)
    )
    _expire_booked(session, slot_id)


def _expire_booked(session: Session, slot_id: int) -> None:
    """The UPDATEs bypass the ORM; make a loaded slot re-read its count when next used."""
    slot = session.identity_map.get(session.identity_key(SurgerySlot, slot_id))
    if slot is not None:
        session.expire(slot, ["booked"])


def new_uid(school_ref: str) -> str:
    """A calendar UID that is unique and never changes for the life of the booking."""
    return f"booking-{uuid.uuid4()}@{school_ref[:40]}.{UID_DOMAIN}"


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
        raise BookingRefused(f"Please choose a topic: {', '.join(topic_label(t) for t in TOPICS)}.")
    note = _check_note(note)
    slot = session.get(SurgerySlot, slot_id)
    if slot is None or slot.school_ref != member.school_ref:
        raise BookingRefused("I can't find that slot.")
    if override_by is not None:
        require_slot_manager(override_by)
    _check_not_already_theirs(session, member, slot_id, acting=override_by)
    if override_by is None:
        _check_rules(session, member, slot, now, rules)
    if not _claim(session, slot_id, now):
        raise SlotTaken()
    booking = Booking(
        slot_id=slot_id,
        staff_id=member.id,
        topic=topic,
        note=note or None,
        uid=new_uid(member.school_ref),
        sequence=0,
    )
    session.add(booking)
    session.flush()
    session.add(BookingAudit(booking_id=booking.id, staff_id=member.id, action="book"))
    if override_by is not None:
        session.add(
            BookingAudit(
                booking_id=booking.id,
                staff_id=override_by.id,
                action="override",
                detail="booking rules",
            )
        )
    _reminders().schedule_for(session, booking, now)
    return booking


def _active_booking(session: Session, member: StaffMember, booking_id: int) -> Booking:
    booking = session.get(Booking, booking_id)
    if booking is None or booking.status != "active" or booking.staff.school_ref != member.school_ref:
        raise BookingRefused("I can't find that booking.")
    return booking


def move(
    session: Session,
    member: StaffMember,
    booking_id: int,
    new_slot_id: int,
    *,
    now: dt.datetime,
    rules: BookingRules = BookingRules(),
) -> Booking:
    """Move a booking to another slot, keeping its id and calendar UID.

    The owner may move it when the old time is still outside the cancellation notice and
    the new time outside the booking notice (the per-day limit ignores the booking being
    moved). The SENCo or an admin may move anyone's booking; that is audited as an
    override. Raises `SlotTaken` (the booking is then unchanged), `BookingRefused` or
    `NotAllowed`.
    """
    booking = _active_booking(session, member, booking_id)
    is_owner = booking.staff_id == member.id
    if not is_owner:
        require_slot_manager(member)
    old_slot = booking.slot
    new_slot = session.get(SurgerySlot, new_slot_id)
    if new_slot is None or new_slot.school_ref != old_slot.school_ref:
        raise BookingRefused("I can't find that slot.")
    if new_slot.id == old_slot.id:
        raise BookingRefused("That's already the time of this booking.")
    if old_slot.starts_at <= now:
        raise BookingRefused("That booking has already started, so it can't be moved.")
    _check_not_already_theirs(
        session, booking.staff, new_slot.id, ignore_booking_id=booking.id, acting=None if is_owner else member
    )
    if is_owner:
        _check_move_rules(session, member, booking, new_slot, now, rules)
    if not _claim(session, new_slot.id, now):
        raise SlotTaken()
    if not _repoint(session, booking, old_slot, new_slot):
        _release(session, new_slot.id)  # give back the place this attempt took
        raise BookingRefused("That booking was changed a moment ago. Please look at your bookings again.")
    _release(session, old_slot.id)
    detail = f"slot {old_slot.id} -> {new_slot.id}"
    session.add(BookingAudit(booking_id=booking.id, staff_id=member.id, action="move", detail=detail))
    if not is_owner:
        session.add(BookingAudit(booking_id=booking.id, staff_id=member.id, action="override", detail="move"))
    _reminders().supersede(session, booking.id, booking.sequence)
    _reminders().schedule_for(session, booking, now)
    return booking


def _check_move_rules(
    session: Session,
    member: StaffMember,
    booking: Booking,
    new_slot: SurgerySlot,
    now: dt.datetime,
    rules: BookingRules,
) -> None:
    if booking.slot.starts_at - now < rules.min_cancel_notice:
        raise BookingRefused(
            "It's too late to move that booking here. Please tell the SENCo directly and they can move it."
        )
    _check_rules(session, member, new_slot, now, rules, ignore_booking_id=booking.id)


def _repoint(session: Session, booking: Booking, old_slot: SurgerySlot, new_slot: SurgerySlot) -> bool:
    """Point the booking at the new slot and bump its sequence, only if nobody changed it first."""
    changed = session.execute(
        update(Booking)
        .where(Booking.id == booking.id, Booking.status == "active", Booking.slot_id == old_slot.id)
        .values(slot_id=new_slot.id, sequence=Booking.sequence + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    # Re-read just what changed, so the returned booking is complete even after the session closes.
    session.refresh(booking, ["slot_id", "sequence", "status"])
    if changed == 1:
        set_committed_value(booking, "slot", new_slot)
    return changed == 1


def cancel(
    session: Session,
    member: StaffMember,
    booking_id: int,
    *,
    now: dt.datetime,
    rules: BookingRules = BookingRules(),
) -> Booking:
    """Cancel a booking: the owner (within the notice rule) or the SENCo/admin (audited).

    The place is freed, reminders not yet sent are cancelled, and `sequence` goes up so
    the cancellation calendar file replaces the event people already have.
    """
    booking = _active_booking(session, member, booking_id)
    slot = booking.slot
    is_owner = booking.staff_id == member.id
    if not is_owner:
        require_slot_manager(member)
    elif slot.starts_at - now < rules.min_cancel_notice:
        raise BookingRefused("It's too late to cancel that booking here. Please tell the SENCo directly.")
    changed = session.execute(
        update(Booking)
        .where(Booking.id == booking.id, Booking.status == "active")
        .values(status="cancelled", cancelled_at=now, sequence=Booking.sequence + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(booking, ["status", "cancelled_at", "sequence"])
    if changed != 1:
        raise BookingRefused("I can't find that booking.")
    _release(session, slot.id)
    if not is_owner:
        session.add(
            BookingAudit(booking_id=booking.id, staff_id=member.id, action="override", detail="cancel")
        )
    session.add(BookingAudit(booking_id=booking.id, staff_id=member.id, action="cancel"))
    _reminders().cancel_pending(session, booking.id)
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

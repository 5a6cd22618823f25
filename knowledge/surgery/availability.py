"""The SENCo's availability: weekly surgeries, one-off slots, block-outs, and what is free.

Why it lives in the domain layer: who may change availability (the SENCo or an admin) is
checked here, not only in the dialogue, and the rules that keep the offer honest are
applied in one place whichever channel asks:

- Surgery times are UK wall-clock times. "Tuesdays 15:15" means a quarter past three in
  October and in November alike, so each slot is converted to UTC for its own date.
- Slots are made only on school days (the school calendar), never in the past, never on
  top of an existing slot, and never inside a block-out. Opening the same surgery twice
  makes nothing new.
- Blocking out time never cancels a booking behind anyone's back: the bookings that fall
  inside are returned so the bot can tell those teachers.
- The SENCo types requests in her own words; `knowledge.surgery.requests` reads them (with
  the one date reader, `knowledge.text.dates`) into the requests `open_request` and
  `block_out` carry out.

About 700 lines, over the usual 600, because slots, weekly patterns and block-outs are one set of
rules over the same rows: each change must see the others (a block-out hides pattern slots, a
pattern skips block-outs).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.schools.calendar import SchoolCalendar
from knowledge.schools.staff import require_slot_manager
from knowledge.shared.models import (
    Booking,
    BookingAudit,
    StaffMember,
    SurgeryBlockout,
    SurgeryPattern,
    SurgerySlot,
)
from knowledge.surgery.booking import free_slots_query
from knowledge.text.uk_time import UK_TZ, WEEKDAY_NAMES, clock_words, date_words

if TYPE_CHECKING:  # the request is read in `requests`, which uses the checks here
    from knowledge.surgery.requests import SurgeryRequest

MIN_SLOT_MINUTES, MAX_SLOT_MINUTES = 5, 120
MIN_CAPACITY, MAX_CAPACITY = 1, 10
MAX_RANGE_DAYS = 366
DEFAULT_SLOT_MINUTES = 15
DEFAULT_CAPACITY = 1
END_OF_DAY = "23:59"


class AvailabilityError(ValueError):
    """A change to availability that cannot be made; the message is safe to show."""


# --- results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenResult:
    """What opening a weekly surgery did. Counts are slots; `closed_days` says why days were skipped."""

    pattern_id: int | None
    created: int
    skipped_closed: int
    skipped_existing: int
    skipped_blocked: int = 0
    skipped_past: int = 0
    first_slot: dt.datetime | None = None
    last_slot: dt.datetime | None = None
    closed_days: tuple[tuple[dt.date, str], ...] = ()

    def summary(self, tz: str = UK_TZ) -> str:
        zone = ZoneInfo(tz)
        if self.created:
            first, last = self.first_slot.astimezone(zone), self.last_slot.astimezone(zone)
            first_words = (
                f"{date_words(first.date(), year=True)} at {clock_words(first, noon_and_midnight=True)}"
            )
            last_words = (
                f"{date_words(last.date(), year=True)} at {clock_words(last, noon_and_midnight=True)}"
            )
            parts = [
                f"Opened {_plural(self.created, 'slot')}: the first is {first_words}, the last {last_words}."
            ]
        else:
            parts = ["No new slots were made."]
        if self.skipped_existing:
            parts.append(f"{_plural(self.skipped_existing, 'slot')} already existed at those times.")
        if self.closed_days:
            by_reason: dict[str, list[str]] = {}
            for day, why in self.closed_days:
                by_reason.setdefault(why, []).append(date_words(day))
            days = "; ".join(f"{', '.join(dates)} ({why})" for why, dates in by_reason.items())
            parts.append(f"No surgery on {days}.")
        if self.skipped_blocked:
            parts.append(f"{_plural(self.skipped_blocked, 'slot')} left out because of your block-outs.")
        return " ".join(parts)


@dataclass(frozen=True)
class AffectedBooking:
    """An active booking inside a block-out: the bot tells this teacher."""

    booking_id: int
    staff_slack_id: str
    staff_name: str
    starts_at: dt.datetime


@dataclass(frozen=True)
class BlockResult:
    blockout_id: int
    day: dt.date
    start: str | None
    end: str | None
    slots_blocked: int
    bookings: tuple[Booking, ...]
    affected_bookings: tuple[AffectedBooking, ...]


@dataclass(frozen=True)
class UnblockResult:
    blockouts_removed: int
    slots_reopened: int


# --- times and days --------------------------------------------------------------------


def parse_hhmm(value: str) -> dt.time:
    """'15:15' (or '15.15') -> time; anything else is an `AvailabilityError`."""
    match = re.fullmatch(r"\s*(\d{1,2})[:.](\d{2})\s*", str(value or ""))
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise AvailabilityError(
            f'"{value}" is not a time I can use. Please use the 24-hour clock, e.g. 15:15.'
        )
    return dt.time(int(match[1]), int(match[2]))


def _minutes(value: str | dt.time) -> int:
    time = parse_hhmm(value) if isinstance(value, str) else value
    return time.hour * 60 + time.minute


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _at(day: dt.date, minutes: int, zone: ZoneInfo) -> dt.datetime:
    """A UK wall-clock time on `day`, as an aware UTC datetime (BST or GMT as that date has it)."""
    local = dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), tzinfo=zone)
    return local.astimezone(dt.timezone.utc)


def _day_bounds(day: dt.date, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """[UK midnight, next UK midnight) in UTC: 23 or 25 hours on clock-change days."""
    return _at(day, 0, zone), _at(day + dt.timedelta(days=1), 0, zone)


def local_today(now: dt.datetime, tz: str = UK_TZ) -> dt.date:
    return _aware(now, "now").astimezone(ZoneInfo(tz)).date()


def _aware(value: dt.datetime, what: str) -> dt.datetime:
    if value.tzinfo is None:
        raise AvailabilityError(f"{what} must carry a time zone.")
    return value


def say_time(hhmm: str) -> str:
    """'15:15' -> '3:15pm', '15:00' -> '3pm', '12:00' -> 'noon'."""
    return clock_words(parse_hhmm(hhmm), noon_and_midnight=True)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


# --- checks ----------------------------------------------------------------------------


def check_pattern(
    *,
    weekday: int,
    start: str,
    end: str,
    slot_minutes: int,
    capacity: int,
    starts_on: dt.date,
    ends_on: dt.date,
) -> tuple[int, int]:
    """Validate a weekly surgery; returns the window in minutes after midnight (UK time)."""
    if not 0 <= weekday <= 6:
        raise AvailabilityError("Please choose a day of the week, Monday to Friday.")
    begin, finish = _minutes(start), _minutes(end)
    if begin >= finish:
        raise AvailabilityError(
            f"The surgery must end after it starts (you said {say_time(start)} to {say_time(end)})."
        )
    _check_length_and_capacity(slot_minutes, capacity)
    if finish - begin < slot_minutes:
        raise AvailabilityError(
            f"A {slot_minutes}-minute slot doesn't fit between {say_time(start)} and {say_time(end)}."
        )
    if ends_on < starts_on:
        raise AvailabilityError(
            f"The last day ({date_words(ends_on, year=True)}) is before the first "
            f"({date_words(starts_on, year=True)})."
        )
    if (ends_on - starts_on).days > MAX_RANGE_DAYS:
        raise AvailabilityError(
            "I can open at most a year of slots at a time. Please choose a shorter range."
        )
    return begin, finish


def _check_length_and_capacity(slot_minutes: int, capacity: int) -> None:
    if not MIN_SLOT_MINUTES <= slot_minutes <= MAX_SLOT_MINUTES:
        raise AvailabilityError(
            f"Slots can be {MIN_SLOT_MINUTES} to {MAX_SLOT_MINUTES} minutes long (you said {slot_minutes})."
        )
    if not MIN_CAPACITY <= capacity <= MAX_CAPACITY:
        raise AvailabilityError(
            f"Each slot can take {MIN_CAPACITY} to {MAX_CAPACITY} people (you said {capacity})."
        )


def slot_windows(begin: int, finish: int, slot_minutes: int) -> list[tuple[int, int]]:
    """Back-to-back slots from `begin`; leftover minutes at the end are simply not a slot."""
    return [(s, s + slot_minutes) for s in range(begin, finish - slot_minutes + 1, slot_minutes)]


def _covers(blockout: SurgeryBlockout, begin: int, finish: int) -> bool:
    if blockout.start_time is None:
        return True
    return begin < _minutes(blockout.end_time or END_OF_DAY) and finish > _minutes(blockout.start_time)


def _blockouts_by_day(
    session: Session, school_ref: str, first: dt.date, last: dt.date
) -> dict[dt.date, list[SurgeryBlockout]]:
    found: dict[dt.date, list[SurgeryBlockout]] = {}
    for blockout in session.execute(
        select(SurgeryBlockout).where(
            SurgeryBlockout.school_ref == school_ref,
            SurgeryBlockout.day >= first,
            SurgeryBlockout.day <= last,
        )
    ).scalars():
        found.setdefault(blockout.day, []).append(blockout)
    return found


def _existing_intervals(
    session: Session, school_ref: str, begins: dt.datetime, ends: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime]]:
    return [
        (row.starts_at, row.ends_at)
        for row in session.execute(
            select(SurgerySlot.starts_at, SurgerySlot.ends_at).where(
                SurgerySlot.school_ref == school_ref,
                SurgerySlot.starts_at < ends,
                SurgerySlot.ends_at > begins,
            )
        )
    ]


def _overlaps(
    intervals: list[tuple[dt.datetime, dt.datetime]], begins: dt.datetime, ends: dt.datetime
) -> bool:
    return any(s < ends and e > begins for s, e in intervals)


def _audit(session: Session, manager: StaffMember, action: str, detail: str) -> None:
    session.add(BookingAudit(booking_id=None, staff_id=manager.id, action=action, detail=detail[:300]))


# --- opening slots ---------------------------------------------------------------------


def open_weekly_surgery(
    session: Session,
    manager: StaffMember,
    *,
    weekday: int,
    start: str,
    end: str,
    slot_minutes: int,
    capacity: int = DEFAULT_CAPACITY,
    starts_on: dt.date,
    ends_on: dt.date,
    calendar: SchoolCalendar,
    now: dt.datetime,
    tz: str = UK_TZ,
) -> OpenResult:
    """Make the slots of a weekly surgery on every school day in range (idempotent, audited)."""
    require_slot_manager(manager)
    begin, finish = check_pattern(
        weekday=weekday,
        start=start,
        end=end,
        slot_minutes=slot_minutes,
        capacity=capacity,
        starts_on=starts_on,
        ends_on=ends_on,
    )
    zone, school = ZoneInfo(tz), manager.school_ref
    windows = slot_windows(begin, finish, slot_minutes)
    today = local_today(now, tz)
    blockouts = _blockouts_by_day(session, school, starts_on, ends_on)
    taken = _existing_intervals(
        session, school, _day_bounds(starts_on, zone)[0], _day_bounds(ends_on, zone)[1]
    )
    plan: list[tuple[dt.datetime, dt.datetime]] = []
    skipped = {"closed": 0, "existing": 0, "blocked": 0, "past": 0}
    closed_days: list[tuple[dt.date, str]] = []
    for day in _days_on_weekday(starts_on, ends_on, weekday):
        if day < today:
            skipped["past"] += len(windows)
            continue
        reason = calendar.day_off_reason(day)
        if reason:
            closed_days.append((day, reason))
            skipped["closed"] += len(windows)
            continue
        for slot_begin, slot_end in windows:
            begins, ends = _at(day, slot_begin, zone), _at(day, slot_end, zone)
            if any(_covers(b, slot_begin, slot_end) for b in blockouts.get(day, ())):
                skipped["blocked"] += 1
            elif begins <= now:
                skipped["past"] += 1
            elif _overlaps(taken, begins, ends):
                skipped["existing"] += 1
            else:
                plan.append((begins, ends))
                taken.append((begins, ends))
    pattern_id = _pattern_for(
        session,
        manager,
        weekday,
        _hhmm(begin),
        _hhmm(finish),
        slot_minutes,
        capacity,
        starts_on,
        ends_on,
        plan,
    )
    session.add_all(
        SurgerySlot(
            school_ref=school,
            starts_at=begins,
            ends_at=ends,
            capacity=capacity,
            booked=0,
            status="open",
            origin="pattern",
            pattern_id=pattern_id,
        )
        for begins, ends in plan
    )
    _audit(
        session,
        manager,
        "open",
        f"weekly {WEEKDAY_NAMES[weekday]} {_hhmm(begin)}-{_hhmm(finish)}, {slot_minutes} min, "
        f"capacity {capacity}, {starts_on}..{ends_on} (pattern {pattern_id}): {len(plan)} created, "
        f"{skipped['existing']} existing, {skipped['closed']} closed, {skipped['blocked']} blocked",
    )
    session.flush()
    return OpenResult(
        pattern_id=pattern_id,
        created=len(plan),
        skipped_closed=skipped["closed"],
        skipped_existing=skipped["existing"],
        skipped_blocked=skipped["blocked"],
        skipped_past=skipped["past"],
        first_slot=plan[0][0] if plan else None,
        last_slot=plan[-1][0] if plan else None,
        closed_days=tuple(closed_days),
    )


def _days_on_weekday(first: dt.date, last: dt.date, weekday: int) -> list[dt.date]:
    day = first + dt.timedelta(days=(weekday - first.weekday()) % 7)
    days = []
    while day <= last:
        days.append(day)
        day += dt.timedelta(days=7)
    return days


def _pattern_for(
    session: Session,
    manager: StaffMember,
    weekday: int,
    start: str,
    end: str,
    slot_minutes: int,
    capacity: int,
    starts_on: dt.date,
    ends_on: dt.date,
    plan: list,
) -> int | None:
    """The same surgery opened again reuses its pattern; a pattern is only made when it makes slots."""
    same = session.execute(
        select(SurgeryPattern.id).where(
            SurgeryPattern.school_ref == manager.school_ref,
            SurgeryPattern.active.is_(True),
            SurgeryPattern.weekday == weekday,
            SurgeryPattern.start_time == start,
            SurgeryPattern.end_time == end,
            SurgeryPattern.slot_minutes == slot_minutes,
            SurgeryPattern.capacity == capacity,
            SurgeryPattern.starts_on == starts_on,
            SurgeryPattern.ends_on == ends_on,
        )
    ).scalar()
    if same is not None or not plan:
        return same
    pattern = SurgeryPattern(
        school_ref=manager.school_ref,
        weekday=weekday,
        start_time=start,
        end_time=end,
        slot_minutes=slot_minutes,
        capacity=capacity,
        starts_on=starts_on,
        ends_on=ends_on,
        active=True,
        created_by=manager.id,
    )
    session.add(pattern)
    session.flush()
    return pattern.id


def open_request(
    session: Session,
    manager: StaffMember,
    request: SurgeryRequest,
    *,
    calendar: SchoolCalendar,
    now: dt.datetime,
    tz: str = UK_TZ,
) -> list[OpenResult]:
    """Open what `requests.parse_surgery_request` understood: one weekly pattern per weekday named."""
    return [
        open_weekly_surgery(
            session,
            manager,
            weekday=weekday,
            start=request.start,
            end=request.end,
            slot_minutes=request.slot_minutes,
            capacity=request.capacity,
            starts_on=request.starts_on,
            ends_on=request.ends_on,
            calendar=calendar,
            now=now,
            tz=tz,
        )
        for weekday in request.weekdays
    ]


def add_extra_slot(
    session: Session,
    manager: StaffMember,
    *,
    starts_at: dt.datetime,
    minutes: int = DEFAULT_SLOT_MINUTES,
    capacity: int = DEFAULT_CAPACITY,
    calendar: SchoolCalendar,
    now: dt.datetime,
    tz: str = UK_TZ,
) -> SurgerySlot:
    """A one-off slot on a school day, in the future, clear of other slots and block-outs."""
    require_slot_manager(manager)
    starts_at = _aware(starts_at, "The slot time").astimezone(dt.timezone.utc)
    _check_length_and_capacity(minutes, capacity)
    if starts_at <= now:
        raise AvailabilityError("That time has already passed. Please choose a time in the future.")
    zone = ZoneInfo(tz)
    local = starts_at.astimezone(zone)
    reason = calendar.day_off_reason(local.date())
    if reason:
        raise AvailabilityError(
            f"There's no school on {date_words(local.date(), year=True)} ({reason}), "
            "so I can't add a surgery slot then."
        )
    ends_at = starts_at + dt.timedelta(minutes=minutes)
    begin = local.hour * 60 + local.minute
    blockouts = _blockouts_by_day(session, manager.school_ref, local.date(), local.date())
    if any(_covers(b, begin, begin + minutes) for b in blockouts.get(local.date(), ())):
        raise AvailabilityError("You've blocked out that time. Unblock it first if you'd like a slot then.")
    if _existing_intervals(session, manager.school_ref, starts_at, ends_at):
        raise AvailabilityError("There's already a slot at that time.")
    slot = SurgerySlot(
        school_ref=manager.school_ref,
        starts_at=starts_at,
        ends_at=ends_at,
        capacity=capacity,
        booked=0,
        status="open",
        origin="extra",
    )
    session.add(slot)
    session.flush()
    _audit(session, manager, "open", f"extra slot {slot.id} at {local:%Y-%m-%d %H:%M} UK, {minutes} min")
    return slot


# --- block-outs ------------------------------------------------------------------------


def _window(start: str | None, end: str | None) -> tuple[str | None, str | None]:
    """Normalise a block-out window: (None, None) is the whole day; one end open runs to the edge."""
    if start is None and end is None:
        return None, None
    begin, finish = _minutes(start or "00:00"), _minutes(end or END_OF_DAY)
    if begin >= finish:
        raise AvailabilityError(
            f"The block-out must end after it starts ({say_time(_hhmm(begin))} to {say_time(_hhmm(finish))})."
        )
    return _hhmm(begin), _hhmm(finish)


def _utc_window(
    day: dt.date, start: str | None, end: str | None, zone: ZoneInfo
) -> tuple[dt.datetime, dt.datetime]:
    if start is None:
        return _day_bounds(day, zone)
    return _at(day, _minutes(start), zone), _at(day, _minutes(end or END_OF_DAY), zone)


def block_out(
    session: Session,
    manager: StaffMember,
    *,
    day: dt.date,
    start: str | None = None,
    end: str | None = None,
    reason: str | None = None,
    now: dt.datetime,
    tz: str = UK_TZ,
) -> BlockResult:
    """Record a block-out and hide the slots inside it. Bookings there stay: they are returned."""
    require_slot_manager(manager)
    if day < local_today(now, tz):
        raise AvailabilityError(f"{date_words(day, year=True)} has already passed.")
    start, end = _window(start, end)
    zone = ZoneInfo(tz)
    reason = " ".join((reason or "").split())[:200] or None
    blockout = SurgeryBlockout(
        school_ref=manager.school_ref,
        day=day,
        start_time=start,
        end_time=end,
        reason=reason,
        created_by=manager.id,
    )
    session.add(blockout)
    session.flush()
    begins, ends = _utc_window(day, start, end, zone)
    slots = list(
        session.execute(
            select(SurgerySlot).where(
                SurgerySlot.school_ref == manager.school_ref,
                SurgerySlot.starts_at < ends,
                SurgerySlot.ends_at > begins,
            )
        ).scalars()
    )
    for slot in slots:
        slot.status = "blocked"
    rows = session.execute(
        select(Booking, SurgerySlot, StaffMember)
        .join(SurgerySlot, Booking.slot_id == SurgerySlot.id)
        .join(StaffMember, Booking.staff_id == StaffMember.id)
        .where(Booking.status == "active", SurgerySlot.id.in_([s.id for s in slots]))
        .order_by(SurgerySlot.starts_at, Booking.id)
    ).all()
    window = "all day" if start is None else f"{start}-{end}"
    _audit(
        session,
        manager,
        "block",
        f"{day} {window} (block-out {blockout.id}): {len(slots)} slots blocked, "
        f"{len(rows)} bookings affected",
    )
    session.flush()
    return BlockResult(
        blockout_id=blockout.id,
        day=day,
        start=start,
        end=end,
        slots_blocked=len(slots),
        bookings=tuple(booking for booking, _, _ in rows),
        affected_bookings=tuple(
            AffectedBooking(booking.id, member.slack_user_id, member.name, slot.starts_at)
            for booking, slot, member in rows
        ),
    )


def unblock(
    session: Session,
    manager: StaffMember,
    *,
    day: dt.date,
    start: str | None = None,
    end: str | None = None,
    tz: str = UK_TZ,
) -> UnblockResult:
    """Remove the day's block-outs (those overlapping start-end, if given) and reopen their slots.

    A slot stays blocked while another block-out still covers it.
    """
    require_slot_manager(manager)
    zone = ZoneInfo(tz)
    on_day = _blockouts_by_day(session, manager.school_ref, day, day).get(day, [])
    if start is None and end is None:
        targets = on_day
    else:
        start, end = _window(start, end)
        targets = [b for b in on_day if _covers(b, _minutes(start), _minutes(end))]
    if not targets:
        raise AvailabilityError(f"Nothing is blocked out on {date_words(day, year=True)}.")
    remaining = [b for b in on_day if b not in targets]
    for blockout in targets:
        session.delete(blockout)
    begins, ends = _day_bounds(day, zone)
    reopened = 0
    for slot in session.execute(
        select(SurgerySlot).where(
            SurgerySlot.school_ref == manager.school_ref,
            SurgerySlot.status == "blocked",
            SurgerySlot.starts_at >= begins,
            SurgerySlot.starts_at < ends,
        )
    ).scalars():
        local = slot.starts_at.astimezone(zone)
        slot_begin = local.hour * 60 + local.minute
        slot_end = slot_begin + int((slot.ends_at - slot.starts_at).total_seconds() // 60)
        if not any(_covers(b, slot_begin, slot_end) for b in remaining):
            slot.status = "open"
            reopened += 1
    _audit(
        session, manager, "unblock", f"{day}: {len(targets)} block-outs removed, {reopened} slots reopened"
    )
    session.flush()
    return UnblockResult(blockouts_removed=len(targets), slots_reopened=reopened)


# --- what is free, and who is booked ---------------------------------------------------


def free_slots_between(
    session: Session,
    school_ref: str,
    *,
    now: dt.datetime,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    limit: int = 10,
) -> list[SurgerySlot]:
    """Open slots with room, starting after `now` and inside [start, end) when given, soonest first."""
    query = free_slots_query(school_ref, now)
    if start is not None:
        query = query.where(SurgerySlot.starts_at >= start)
    if end is not None:
        query = query.where(SurgerySlot.starts_at < end)
    return list(session.execute(query.limit(limit)).scalars())


def next_free_after(
    session: Session, school_ref: str, *, now: dt.datetime, after: dt.datetime, limit: int = 3
) -> list[SurgerySlot]:
    """The next free slots after `after` (e.g. the slot that was just taken), never in the past."""
    return list(session.execute(free_slots_query(school_ref, max(now, after)).limit(limit)).scalars())


def bookings_on_day(
    session: Session, manager: StaffMember, *, day: dt.date, tz: str = UK_TZ
) -> list[tuple[Booking, SurgerySlot, StaffMember]]:
    """Who is booked on a UK day, in time order. Only the SENCo or an admin sees this."""
    require_slot_manager(manager)
    begins, ends = _day_bounds(day, ZoneInfo(tz))
    rows = session.execute(
        select(Booking, SurgerySlot, StaffMember)
        .join(SurgerySlot, Booking.slot_id == SurgerySlot.id)
        .join(StaffMember, Booking.staff_id == StaffMember.id)
        .where(
            SurgerySlot.school_ref == manager.school_ref,
            Booking.status == "active",
            SurgerySlot.starts_at >= begins,
            SurgerySlot.starts_at < ends,
        )
        .order_by(SurgerySlot.starts_at, Booking.id)
    ).all()
    return [(booking, slot, member) for booking, slot, member in rows]

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
- The SENCo types requests in her own words; `parse_surgery_request` and
  `parse_blockout_request` read them with plain regular expressions and ask for exactly
  what is missing rather than guessing.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.schools.calendar import SchoolCalendar, Term, UnknownTerm
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
from knowledge.text.dates import next_weekday, which_day_question
from knowledge.text.uk_time import UK_TZ, WEEKDAY_NAMES, clock_words, date_words, day_month_words

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
    """Open what `parse_surgery_request` understood: one weekly pattern per weekday named."""
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


# --- reading what the SENCo types ------------------------------------------------------


class NeedsQuestion(str):
    """The request is missing something: this text is the question to ask (it says what, with an
    example). A `str`, so a caller may simply reply with it; `.question` reads the same text.
    When the question is which of two days ("block out next Tuesday" on a Monday), `choices`
    holds the request read either way, nearest first, for the caller to offer as buttons."""

    choices: tuple[BlockoutRequest, ...]

    def __new__(cls, question: str, choices: tuple[BlockoutRequest, ...] = ()) -> NeedsQuestion:
        made = super().__new__(cls, question)
        made.choices = tuple(choices)
        return made

    @property
    def question(self) -> str:
        return str(self)


@dataclass(frozen=True)
class SurgeryRequest:
    """A weekly surgery as the SENCo asked for it. `defaults` names what she did not say."""

    weekdays: tuple[int, ...]
    start: str
    end: str
    slot_minutes: int
    capacity: int
    starts_on: dt.date
    ends_on: dt.date
    defaults: tuple[str, ...] = ()
    range_label: str = ""

    def __post_init__(self) -> None:
        """Accept the JSON form from `as_dict` (lists, ISO dates) as well as Python values."""
        object.__setattr__(self, "weekdays", tuple(int(d) for d in self.weekdays))
        object.__setattr__(self, "defaults", tuple(self.defaults))
        for name in ("starts_on", "ends_on"):
            value = getattr(self, name)
            if not isinstance(value, dt.date):
                object.__setattr__(self, name, dt.date.fromisoformat(str(value)))

    @property
    def weekday(self) -> int:
        """The first weekday asked for; `open_request` opens every one of `weekdays`."""
        return self.weekdays[0]


def as_dict(request: SurgeryRequest) -> dict:
    """A JSON-safe copy, e.g. to carry in a confirmation button; `SurgeryRequest(**d)` reads it back."""
    return {
        "weekdays": list(request.weekdays),
        "start": request.start,
        "end": request.end,
        "slot_minutes": request.slot_minutes,
        "capacity": request.capacity,
        "starts_on": request.starts_on.isoformat(),
        "ends_on": request.ends_on.isoformat(),
        "defaults": list(request.defaults),
        "range_label": request.range_label,
    }


class BlockoutRequest(NamedTuple):
    day: dt.date
    start: str | None
    end: str | None


_WEEKDAY_WORDS = {
    "monday": 0,
    "mon": 0,
    "tuesday": 1,
    "tues": 1,
    "tue": 1,
    "wednesday": 2,
    "weds": 2,
    "wed": 2,
    "thursday": 3,
    "thurs": 3,
    "thur": 3,
    "thu": 3,
    "friday": 4,
    "fri": 4,
    "saturday": 5,
    "sunday": 6,
}
_WEEKDAY_RE = re.compile(r"\b(" + "|".join(sorted(_WEEKDAY_WORDS, key=len, reverse=True)) + r")s?\b")
_NEXT_WEEKDAY_RE = re.compile(r"\bnext\s+" + _WEEKDAY_RE.pattern)
_EVERY_WEEKDAY_RE = re.compile(r"\b(?:every|each)\s+(?:week\s*)?day\b|\bweekdays\b|\bmonday\s+to\s+friday\b")
_MONTH = (
    r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_ORD = r"(?:st|nd|rd|th)?"
_DATE_RES = (
    ("dmy", re.compile(rf"\b(\d{{1,2}}){_ORD}\s+(?:of\s+)?{_MONTH}\b\.?(?:,?\s+(20\d\d))?")),
    ("mdy", re.compile(rf"\b{_MONTH}\.?\s+(\d{{1,2}}){_ORD}\b(?:,?\s+(20\d\d))?")),
    ("num", re.compile(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?\b")),
    ("nth", re.compile(r"\bthe\s+(\d{1,2})(?:st|nd|rd|th)\b")),
)
_TIME = r"(?:\b\d{1,2}(?:[:.]\d{2})?(?![:.]?\d)(?:\s*(?:a\.m\.|p\.m\.|am\b|pm\b))?|\bnoon\b|\bmidday\b)"
_NOT_A_TIME_AFTER = (
    r"(?!\s*(?:-\s*)?(?:min|mins|minutes?|hours?|hrs?|people|persons?|per\b|places?|spaces?|teachers?))"
)
_RANGE_RE = re.compile(
    rf"(?:\b(?:from|between)\s+)?({_TIME})\s*(?:-|–|—|\bto\b|\btill\b|\btil\b|\buntil\b|\band\b)\s*"
    rf"({_TIME}){_NOT_A_TIME_AFTER}"
)
_FROM_TIME_RE = re.compile(rf"\b(?:from|after|since)\s+({_TIME}){_NOT_A_TIME_AFTER}")
_UNTIL_TIME_RE = re.compile(rf"\b(?:until|till|til|before|up\s+to)\s+({_TIME}){_NOT_A_TIME_AFTER}")
_SLOT_LENGTH_RES = (
    (re.compile(r"\b(\d{1,3})\s*(?:-\s*)?(?:minutes?|mins?|m)\b"), None),
    (re.compile(r"\bhalf[\s-]+(?:an[\s-]+)?hour"), 30),
    (re.compile(r"\b(?:an?|one|1)[\s-]+hour\b|\bhour[\s-]+long\b|\bhourly\b"), 60),
)
_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
_NUM = r"(\d{1,2}|" + "|".join(_NUMBER_WORDS) + r")"
_CAPACITY_RES = (
    re.compile(rf"\b{_NUM}\s*(?:people|persons?|teachers?|staff|places?|spaces?|bookings?)\b"),
    re.compile(rf"\b{_NUM}\s+(?:per|a|each|in\s+each)\s+slot\b"),
    re.compile(rf"\bcapacity\s*(?:of\s*)?{_NUM}\b"),
)
_UNTIL = r"(?:until|till|til|to|up\s+to|through|thru|ending|ends?|before)"
_HOLIDAY_RES = (
    (re.compile(rf"\b{_UNTIL}\s+(?:the\s+)?(?:christmas|xmas)\b"), "autumn", "until Christmas"),
    (re.compile(rf"\b{_UNTIL}\s+(?:the\s+)?easter\b"), "spring", "until Easter"),
    (re.compile(rf"\b{_UNTIL}\s+(?:the\s+)?summer\s+holidays?\b"), "summer", "until the summer holidays"),
)
_HALF_TERM_RE = re.compile(rf"\b{_UNTIL}\s+(?:the\s+)?half[\s-]*term\b")
_WEEKS_RE = re.compile(rf"\bfor\s+(?:the\s+next\s+)?{_NUM}\s+weeks?\b")
_TERM_RE = re.compile(
    r"\b(?:this|current|next)\s+term\b|\b(?:rest|end)\s+of\s+(?:the\s+)?term\b"
    r"|\b(?:autumn|spring|summer)(?:\s+term)?(?:\s+20\d\d)?\b"
)
_START_WORD_RE = re.compile(r"\b(?:from|starting|beginning|start|starts|as\s+of)\s+(?:on\s+)?(?:the\s+)?$")
_END_WORD_RE = re.compile(rf"(?:\b{_UNTIL}|-|–)\s+(?:and\s+including\s+)?(?:on\s+)?(?:the\s+)?$")

_EXAMPLE_SURGERY = '"Tuesdays 3:15 to 4:15, 15 minutes each, this term"'


def _number(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBER_WORDS[word]


def _normalise(text: str) -> str:
    return " ".join(text.lower().replace("’", "'").split())


def _blank(text: str, span: tuple[int, int]) -> str:
    """Remove a matched phrase without moving the rest (so later spans stay valid)."""
    return text[: span[0]] + " " * (span[1] - span[0]) + text[span[1] :]


def _read_time(token: str) -> tuple[int, int, str | None] | None:
    token = token.strip()
    if token in ("noon", "midday"):
        return 12, 0, "pm"
    match = re.fullmatch(r"(\d{1,2})(?:[:.](\d{2}))?\s*(a\.m\.|p\.m\.|am|pm)?", token)
    if not match:
        return None
    meridiem = match[3].replace(".", "") if match[3] else None
    return int(match[1]), int(match[2] or 0), meridiem


def _to_minutes(hour: int, minute: int, meridiem: str | None) -> int | None:
    """UK habits: '3:15' without am/pm is a quarter past three in the afternoon (hours 1 to 7)."""
    if minute > 59 or hour > 23 or (meridiem and not 1 <= hour <= 12):
        return None
    if meridiem == "pm" and hour < 12:
        hour += 12
    elif meridiem == "am" and hour == 12:
        hour = 0
    elif meridiem is None and 1 <= hour <= 7:
        hour += 12
    return hour * 60 + minute


def _time_range(first: str, second: str) -> tuple[int, int] | None:
    a, b = _read_time(first), _read_time(second)
    if a is None or b is None:
        return None
    begin, finish = _to_minutes(*a), _to_minutes(*b)
    if begin is None or finish is None:
        return None
    if a[2] is None and b[2] is not None:  # "9 to 10am", "8 to 9pm": the stated meridiem covers both
        shared = _to_minutes(a[0], a[1], b[2])
        if shared is not None and shared < finish:
            begin = shared
    if finish <= begin and b[2] is None and b[0] < 12:
        finish += 12 * 60
    return begin, finish


def _find_time_range(text: str) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
    """(minutes window, span) of the first "3:15 to 4:15"-like phrase; window None if unreadable."""
    match = _RANGE_RE.search(text)
    if not match:
        return None, None
    return _time_range(match[1], match[2]), match.span()


@dataclass(frozen=True)
class _FoundDate:
    day: dt.date | None
    span: tuple[int, int]
    problem: str = ""


def _find_dates(text: str, today: dt.date) -> list[_FoundDate]:
    """Every date written in `text` ("4 December", "Dec 4th", "4/12", "the 4th"), in order."""
    found: list[_FoundDate] = []
    taken: list[tuple[int, int]] = []
    for kind, regex in _DATE_RES:
        for match in regex.finditer(text):
            if any(s < match.end() and match.start() < e for s, e in taken):
                continue
            taken.append(match.span())
            found.append(_date_from(kind, match, today))
    return sorted(found, key=lambda f: f.span)


def _date_from(kind: str, match: re.Match, today: dt.date) -> _FoundDate:
    if kind == "dmy":
        day, month, year = int(match[1]), _MONTHS.index(match[2][:3]) + 1, match[3]
    elif kind == "mdy":
        day, month, year = int(match[2]), _MONTHS.index(match[1][:3]) + 1, match[3]
    elif kind == "num":
        day, month, year = int(match[1]), int(match[2]), match[3]
    else:
        day, month, year = int(match[1]), today.month, None
    if year is not None:
        year = int(year) + (2000 if len(year) == 2 else 0)
    try:
        if year is not None:
            return _FoundDate(dt.date(year, month, day), match.span())
        candidate = dt.date(today.year, month, day)
        if candidate < today:
            if kind == "nth":
                month, year = (1, today.year + 1) if month == 12 else (month + 1, today.year)
                candidate = dt.date(year, month, day)
            else:
                candidate = dt.date(today.year + 1, month, day)
        return _FoundDate(candidate, match.span())
    except ValueError:
        return _FoundDate(None, match.span(), f'"{match[0]}" is not a date I recognise.')


def _weekdays_in(text: str) -> tuple[int, ...]:
    if _EVERY_WEEKDAY_RE.search(text):
        return (0, 1, 2, 3, 4)
    days = [_WEEKDAY_WORDS[m[1]] for m in _WEEKDAY_RE.finditer(text)]
    return tuple(sorted(set(days)))


def _slot_length(text: str) -> int | None:
    for regex, fixed in _SLOT_LENGTH_RES:
        match = regex.search(text)
        if match:
            return fixed if fixed is not None else int(match[1])
    return None


def _capacity(text: str) -> int | None:
    for regex in _CAPACITY_RES:
        match = regex.search(text)
        if match:
            return _number(match[1])
    return None


def parse_surgery_request(
    text: str, *, today: dt.date, calendar: SchoolCalendar
) -> SurgeryRequest | NeedsQuestion:
    """Read "open Tuesdays 3:15 to 4:15, 15 minutes each, for the autumn term" and the like."""
    text = _normalise(text)
    dates = _find_dates(text, today)
    bad = next((d for d in dates if d.problem), None)
    if bad:
        return NeedsQuestion(f"{bad.problem} Please write dates like 18 December.")
    rest = text
    for found in dates:
        rest = _blank(rest, found.span)
    window, span = _find_time_range(rest)
    if span:
        rest = _blank(rest, span)
    weekdays = _weekdays_in(rest)
    missing = _missing_question(weekdays, window, span)
    if missing:
        return NeedsQuestion(missing)
    defaults = []
    slot_minutes = _slot_length(rest)
    if slot_minutes is None:
        slot_minutes = DEFAULT_SLOT_MINUTES
        defaults.append("slot length")
    capacity = _capacity(rest)
    if capacity is None:
        capacity = DEFAULT_CAPACITY
        defaults.append("capacity")
    dates_range = _date_range(text, rest, dates, today, calendar)
    if isinstance(dates_range, NeedsQuestion):
        return dates_range
    starts_on, ends_on, label, defaulted = dates_range
    if defaulted:
        defaults.append("dates")
    start, end = _hhmm(window[0]), _hhmm(window[1])
    try:
        for weekday in weekdays:
            check_pattern(
                weekday=weekday,
                start=start,
                end=end,
                slot_minutes=slot_minutes,
                capacity=capacity,
                starts_on=starts_on,
                ends_on=ends_on,
            )
    except AvailabilityError as problem:
        return NeedsQuestion(str(problem))
    return SurgeryRequest(
        weekdays, start, end, slot_minutes, capacity, starts_on, ends_on, tuple(defaults), label
    )


def _missing_question(
    weekdays: tuple[int, ...], window: tuple[int, int] | None, span: tuple[int, int] | None
) -> str | None:
    if not weekdays and span is None:
        return f"Which day of the week, and what times? For example: {_EXAMPLE_SURGERY}."
    if not weekdays:
        return f'Which day of the week? For example: "Tuesdays {_say_window(window)}".'
    days = _say_weekdays(weekdays)
    if span is None:
        return f'What times on {days}? For example: "3:15 to 4:15".'
    if window is None:
        return f'I couldn\'t read those times. What times on {days}? For example: "3:15 to 4:15".'
    return None


def _say_window(window: tuple[int, int] | None) -> str:
    if window is None:
        return "3:15 to 4:15"
    return f"{say_time(_hhmm(window[0]))} to {say_time(_hhmm(window[1]))}"


def _date_range(
    text: str, rest: str, dates: list[_FoundDate], today: dt.date, calendar: SchoolCalendar
) -> tuple[dt.date, dt.date, str, bool] | NeedsQuestion:
    """(starts_on, ends_on, label, defaulted) from the phrases about dates; the rest of this term if none."""
    explicit_start = explicit_end = None
    for found in dates:
        before = text[: found.span[0]]
        if _START_WORD_RE.search(before):
            explicit_start = found.day
        elif _END_WORD_RE.search(before):
            explicit_end = found.day
    try:
        term, label = _named_range(rest, today, calendar)
    except UnknownTerm as problem:
        return NeedsQuestion(str(problem))
    weeks = _WEEKS_RE.search(rest)
    defaulted = term is None and explicit_end is None and weeks is None
    if defaulted:
        term = calendar.current_or_next_term(today)
        if term is None:
            return NeedsQuestion(
                'The school calendar has no term coming up. Until when? For example: "until 18 December".'
            )
        label = term.name
    term_starts = term.starts if isinstance(term, Term) else None
    starts_on = explicit_start or (max(today, term_starts) if term_starts else today)
    if explicit_end:
        ends_on, label = explicit_end, ""
    elif weeks:
        ends_on, label = starts_on + dt.timedelta(weeks=_number(weeks[1]), days=-1), ""
    elif isinstance(term, dt.date):
        ends_on = term
    else:
        ends_on = term.ends
    if ends_on < today:
        return NeedsQuestion(
            f"{date_words(ends_on, year=True)} has already passed. Until when should I open slots?"
        )
    return starts_on, ends_on, label, defaulted


def _named_range(rest: str, today: dt.date, calendar: SchoolCalendar) -> tuple[Term | dt.date | None, str]:
    """A term, or an end date from "until Christmas" / "until half term"; (None, '') when not said."""
    for regex, season, label in _HOLIDAY_RES:
        if regex.search(rest):
            return calendar.term_for(f"{season} term", today), label
    if _HALF_TERM_RE.search(rest):
        half_term = next(
            (c for c in calendar.closures if c.starts > today and "half" in c.reason.lower()), None
        )
        if half_term is None:
            raise UnknownTerm("I can't find the next half term in the school calendar. Until when?")
        return half_term.starts - dt.timedelta(days=1), "until half term"
    match = _TERM_RE.search(rest)
    if match:
        term = calendar.term_for(match[0], today)
        return term, term.name
    return None, ""


def _say_weekdays(weekdays: tuple[int, ...]) -> str:
    if weekdays == (0, 1, 2, 3, 4):
        return "Mondays to Fridays"
    names = [f"{WEEKDAY_NAMES[d]}s" for d in weekdays]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _say_range(first: dt.date, last: dt.date) -> str:
    if first == last:
        return f"on {date_words(first, year=True)}"
    if first.year == last.year:
        return f"{day_month_words(first)} to {day_month_words(last)} {last.year}"
    return f"{day_month_words(first)} {first.year} to {day_month_words(last)} {last.year}"


def describe(request: SurgeryRequest) -> str:
    """One line to echo back: 'Tuesdays 3:15pm to 4:15pm, 15-minute slots, 1 person each, 2 September
    to 18 December 2026'. What was not said is marked as the default."""
    length = f"{request.slot_minutes}-minute slots"
    if "slot length" in request.defaults:
        length += " (the default)"
    people = "1 person each" if request.capacity == 1 else f"{request.capacity} people each"
    return (
        f"{_say_weekdays(request.weekdays)} {say_time(request.start)} to {say_time(request.end)}, "
        f"{length}, {people}, {_say_range(request.starts_on, request.ends_on)}"
    )


_PARTS_OF_DAY = (
    (re.compile(r"\b(?:all|whole)\s+day\b"), (None, None)),
    (re.compile(r"\bmorning\b"), ("00:00", "12:00")),
    (re.compile(r"\bafter\s*school\b"), ("15:00", END_OF_DAY)),
    (re.compile(r"\bafternoon\b"), ("12:00", END_OF_DAY)),
)
_EXAMPLE_BLOCKOUT = '"block out Friday 4 December" or "block out tomorrow afternoon"'


def parse_blockout_request(text: str, today: dt.date) -> BlockoutRequest | NeedsQuestion:
    """Read "block out 4 December", "block out tomorrow afternoon", "I'm off on Friday 4th Dec"."""
    text = _normalise(text)
    dates = _find_dates(text, today)
    bad = next((d for d in dates if d.problem), None)
    if bad:
        return NeedsQuestion(f"{bad.problem} Which day? For example: {_EXAMPLE_BLOCKOUT}.")
    rest = text
    for found in dates:
        rest = _blank(rest, found.span)
    days = _blockout_days(rest, dates, today)
    if isinstance(days, NeedsQuestion):
        return days
    if days[0] < today:
        return NeedsQuestion(f"{date_words(days[0], year=True)} has already passed. Which day did you mean?")
    hours = _blockout_hours(rest)
    if isinstance(hours, NeedsQuestion):
        return hours
    if len(days) > 1:  # "next Tuesday" on a Monday: asked, as the booking side asks
        return NeedsQuestion(
            which_day_question(days, today), tuple(BlockoutRequest(day, *hours) for day in days)
        )
    return BlockoutRequest(days[0], *hours)


def _blockout_days(rest: str, found: list[_FoundDate], today: dt.date) -> tuple[dt.date, ...] | NeedsQuestion:
    """The day to block out, or the two it may be ("next Tuesday", read as `knowledge.text.dates` does)."""
    named = [_WEEKDAY_WORDS[m[1]] for m in _WEEKDAY_RE.finditer(rest)]
    if found:
        day = found[0].day
        if named and named[0] != day.weekday():
            return NeedsQuestion(
                f"{day_month_words(day)} {day.year} is a {WEEKDAY_NAMES[day.weekday()]}, "
                f"not a {WEEKDAY_NAMES[named[0]]}. "
                "Which day did you mean?"
            )
        return (day,)
    if re.search(r"\btoday\b", rest):
        return (today,)
    if re.search(r"\btomorrow\b", rest):
        return (today + dt.timedelta(days=1),)
    after_next = _NEXT_WEEKDAY_RE.search(rest)
    if after_next:
        return next_weekday(_WEEKDAY_WORDS[after_next[1]], today)
    if named:
        return (today + dt.timedelta(days=(named[0] - today.weekday() - 1) % 7 + 1),)
    return NeedsQuestion(f"Which day should I block out? For example: {_EXAMPLE_BLOCKOUT}.")


def _blockout_hours(rest: str) -> tuple[str | None, str | None] | NeedsQuestion:
    window, span = _find_time_range(rest)
    if span is not None:
        if window is None:
            return NeedsQuestion('I couldn\'t read those times. For example: "block out Friday 2pm to 4pm".')
        return _hhmm(window[0]), _hhmm(window[1])
    for regex, edge in ((_FROM_TIME_RE, "from"), (_UNTIL_TIME_RE, "until")):
        match = regex.search(rest)
        if match:
            read = _read_time(match[1])
            minutes = _to_minutes(*read) if read else None
            if minutes is None:
                return NeedsQuestion('I couldn\'t read that time. For example: "block out Friday from 2pm".')
            return (_hhmm(minutes), END_OF_DAY) if edge == "from" else ("00:00", _hhmm(minutes))
    for regex, hours in _PARTS_OF_DAY:
        if regex.search(rest):
            return hours
    return None, None

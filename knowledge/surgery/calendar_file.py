"""The calendar file (.ics) sent with a booking, so it lands in the teacher's own calendar.

One VEVENT per booking, identified by the booking's `uid`, which never changes: a moved
booking is the same event at a new time, and a cancelled booking is that event with
STATUS:CANCELLED. Calendar programs replace the copy they have when SEQUENCE is higher,
which is why `knowledge.surgery.booking` bumps `sequence` on every move and cancellation.

Times are written in UTC (the trailing Z), so no VTIMEZONE block is needed and a slot at
a quarter past three UK time is right on both sides of the clock change.

The file lists no ATTENDEE: it goes to one person, and the names of others who use the
surgery are not theirs to see. The ORGANIZER, when given, is the SENCo's school address.
Text escaping (commas, semicolons, new lines) and line folding are left to `icalendar`.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress

from knowledge.shared.models import Booking, SurgerySlot
from knowledge.surgery.booking import topic_label
from knowledge.text.uk_time import UK_TZ

PRODID = "-//SEND assistant//SENCo surgery booking//EN"


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: give times in UTC with a time zone")
    return moment.astimezone(dt.timezone.utc)


def _description(booking: Booking, school_name: str) -> str:
    lines = [f"SENCo surgery at {school_name}", f"Topic: {topic_label(booking.topic)}"]
    if booking.note:
        lines.append(f"Note: {booking.note}")
    return "\n".join(lines)


def booking_ics(
    booking: Booking,
    slot: SurgerySlot,
    *,
    school_name: str,
    location: str | None,
    organiser_email: str | None,
    cancelled: bool = False,
    now: dt.datetime,
) -> bytes:
    """The booking as an iCalendar file: METHOD REQUEST, or CANCEL when it was cancelled."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")

    event = Event()
    event.add("uid", booking.uid or f"booking-{booking.id}@legacy.sendbot")  # rows made before uids
    event.add("sequence", booking.sequence)
    event.add("dtstamp", _utc(now))
    event.add("dtstart", _utc(slot.starts_at))
    event.add("dtend", _utc(slot.ends_at))
    event.add("summary", f"SENCo surgery: {topic_label(booking.topic)}")
    event.add("description", _description(booking, school_name))
    if location:
        event.add("location", location)
    if organiser_email:
        event.add("organizer", vCalAddress(f"mailto:{organiser_email}"))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    calendar.add_component(event)
    return calendar.to_ical()


def ics_filename(booking: Booking, tz: str = UK_TZ) -> str:
    """'senco-surgery-2026-11-24.ics': the slot's date in UK time."""
    day = booking.slot.starts_at.astimezone(ZoneInfo(tz)).date()
    return f"senco-surgery-{day.isoformat()}.ics"

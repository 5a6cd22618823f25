"""UK time in words, the way school messages write it: "3:15pm", "Tuesday 24 November".

Times are stored in UTC and shown in UK time (`UK_TZ`, which follows the clock change). Every
12-hour clock and every day written out in the bot's replies comes from here, so the surgery,
the reminders and the broadcasts cannot drift apart. The names are written out rather than
taken from `strftime`, whose day and month names follow the machine's locale.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from knowledge.shared.settings import UK_TZ

__all__ = [
    "MONTH_NAMES",
    "UK_TZ",
    "WEEKDAY_NAMES",
    "clock_words",
    "date_words",
    "day_month_words",
    "format_uk",
    "format_uk_range",
    "short_date_words",
]

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def clock_words(moment: dt.datetime | dt.time | tuple[int, int], *, noon_and_midnight: bool = False) -> str:
    """'3:15pm', '3pm', '12:30am': the way times are written in UK school messages.

    An (hour, minute) pair may be (24, 0), the midnight that ends a day ('12am'). With
    `noon_and_midnight`, 12:00 is 'noon' and 00:00 'midnight', as the SENCo's surgery hours are
    echoed back to her.
    """
    hour, minute = moment if isinstance(moment, tuple) else (moment.hour, moment.minute)
    if noon_and_midnight and minute == 0 and hour in (0, 12, 24):
        return "noon" if hour == 12 else "midnight"
    twelve = hour % 12 or 12
    suffix = "pm" if 12 <= hour < 24 else "am"
    return f"{twelve}{suffix}" if minute == 0 else f"{twelve}:{minute:02d}{suffix}"


def date_words(day: dt.date, *, year: bool = False) -> str:
    """'Tuesday 24 November' ('Tuesday 24 November 2026' with `year`)."""
    words = f"{WEEKDAY_NAMES[day.weekday()]} {day_month_words(day)}"
    return f"{words} {day.year}" if year else words


def day_month_words(day: dt.date) -> str:
    """'24 November': UK order, no leading zero."""
    return f"{day.day} {MONTH_NAMES[day.month - 1]}"


def short_date_words(day: dt.date) -> str:
    """'Tue 24 Nov', for buttons."""
    return f"{WEEKDAY_NAMES[day.weekday()][:3]} {day.day} {MONTH_NAMES[day.month - 1][:3]}"


def format_uk(moment: dt.datetime, tz: str = UK_TZ) -> str:
    """A moment as teachers write it: "Tuesday 24 November, 3:15pm" ("4pm" on the hour)."""
    local = moment.astimezone(ZoneInfo(tz))
    return f"{date_words(local.date())}, {clock_words(local)}"


def format_uk_range(start: dt.datetime, end: dt.datetime, tz: str = UK_TZ) -> str:
    """A window as words: "Tuesday 24 November, 3:15pm to 3:30pm", or whole days by name."""
    zone = ZoneInfo(tz)
    first, last = start.astimezone(zone), end.astimezone(zone)
    starts_at_midnight = (first.hour, first.minute) == (0, 0)
    ends_at_midnight = (last.hour, last.minute) == (0, 0)
    final_day = last.date() - dt.timedelta(days=1)
    if starts_at_midnight and ends_at_midnight:
        if final_day <= first.date():
            return date_words(first.date())
        return f"{date_words(first.date())} to {date_words(final_day)}"
    if ends_at_midnight:
        if final_day == first.date():
            return f"{format_uk(first, tz)} to midnight"
        return f"{format_uk(first, tz)} to the end of {date_words(final_day)}"
    if first.date() == last.date():
        return f"{format_uk(first, tz)} to {clock_words(last)}"
    return f"{format_uk(first, tz)} to {format_uk(last, tz)}"

"""UK time in words, the way school messages write it: "3:15pm", "Tuesday 24 November".

Times are stored in UTC and shown in UK time (`UK_TZ`, which follows the clock change).
"""

from __future__ import annotations

import datetime as dt

from knowledge.shared.settings import UK_TZ

__all__ = ["UK_TZ", "clock_words", "date_words"]


def clock_words(moment: dt.datetime) -> str:
    """'3:15pm', '3pm', '12:30am': the way times are written in UK school messages."""
    hour = moment.hour % 12 or 12
    suffix = "am" if moment.hour < 12 else "pm"
    return f"{hour}{suffix}" if moment.minute == 0 else f"{hour}:{moment.minute:02d}{suffix}"


def date_words(day: dt.date) -> str:
    """'Tuesday 24 November'."""
    return f"{day:%A} {day.day} {day:%B}"

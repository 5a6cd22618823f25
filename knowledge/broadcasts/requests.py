"""Reading the SENCo's request for a broadcast: who, what, when, and when to remind.

"remind all staff about the autism awareness training on Thursday 3:30pm in the library,
the day before and an hour before" becomes a `BroadcastRequest`: the audience as data
(`knowledge.broadcasts.audiences`), the event time (read by `knowledge.text.dates.parse_when`), the reminder
offsets, and a short message built from the request:

    "Reminder: autism awareness training, Thursday 26 November, 3:30pm, in the library."

The message names the date in full, not "tomorrow", because the same words go out at every
reminder. The SENCo sees it in the preview and may change it before confirming.

As elsewhere in the bot we ask rather than guess: no audience, no subject, or reminders
"before" an event whose exact time we could not read all come back as a question (a str).

Offsets are minutes before the event, as stored in `Broadcast.offsets_minutes`, with two
named exceptions: `NOW` (-1, send as soon as it is confirmed) and `MORNING_OF` (-2, 8am on
the day of the event, UK time, whatever time the event is: kept as a marker, not as minutes,
so it stays 8am if the event is moved). No offsets at all means "send now".
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from knowledge.broadcasts.audiences import Audience, parse_audience
from knowledge.text.dates import parse_when
from knowledge.text.uk_time import UK_TZ, date_words, format_uk

NOW = -1
MORNING_OF = -2
MORNING_TIME = dt.time(8, 0)

_NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "the": 1,
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
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty five": 45,
    "forty-five": 45,
}
_UNIT_MINUTES = {"minute": 1, "min": 1, "hour": 60, "day": 1440, "week": 10080}
_COUNT = r"(?:\d{1,3}|" + "|".join(re.escape(w) for w in sorted(_NUMBER_WORDS, key=len, reverse=True)) + ")"
_OFFSET = re.compile(
    r"\b(?:(?P<half>half an hour)|(?P<count>" + _COUNT + r")\s+(?P<unit>minute|min|hour|day|week)s?)"
    r"\s+(?:before|beforehand|ahead|earlier|prior)\b",
    re.IGNORECASE,
)
_MORNING = re.compile(
    r"\b(?:(?:on\s+)?the\s+morning(?:\s+of(?:\s+(?:it|the\s+day|the\s+event))?)?|that\s+morning|on\s+the\s+day)"
    r"(?=\s*(?:$|[,.;]|\band\b|\btoo\b|\bas well\b))",
    re.IGNORECASE,
)
_SEND_NOW = re.compile(r"\b(?:right\s+)?now\b|\bstraight away\b|\bimmediately\b", re.IGNORECASE)
_VERB = re.compile(
    r"^\s*(?:(?:please|can you|could you|would you)\s+)*"
    r"(?P<verb>remind|tell|notify|message|email|text|let|send(?:\s+(?:a|an)\s+(?:message|reminder|note)\s+to)?)"
    r"\s+(?P<rest>.+)$",
    re.IGNORECASE | re.DOTALL,
)
# Where the audience ends and the subject begins.
_SUBJECT_START = re.compile(
    r":|\b(?:about|regarding|that|know|to say|saying)\b|\b(?:right\s+)?now\b", re.IGNORECASE
)
_FALLBACK_SUBJECT_START = re.compile(r"\b(?:of|re)\b", re.IGNORECASE)
_WEEKDAYS = (
    "monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun"
)
_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december"
    "|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
# Where the subject ("the autism awareness training") ends and the time or place begins.
_WHEN_OR_PLACE = re.compile(
    r"\s*,?\s*(?:\bon\s+(?=(?:" + _WEEKDAYS + r"|the\s+\d|\d|tomorrow))"
    r"|\b(?:this|next|tomorrow|today|tonight)\b"
    r"|\bat\s+(?=\d|half|quarter|noon)|\bfrom\s+(?=\d)"
    r"|\b(?:" + _WEEKDAYS + r")\b"
    r"|\b\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:" + _MONTHS + r")\b"
    r"|\b\d{1,2}/\d{1,2}\b|\b\d{1,2}[:.]\d{2}\b|\b\d{1,2}\s*(?:am|pm)\b"
    r"|\b(?:in|at)\s+(?:the\s+|room\s+|classroom\s+))",
    re.IGNORECASE,
)
_PLACE = re.compile(
    r"\b(?P<place>(?:in|at)\s+(?:the\s+[a-z][\w'-]*(?:\s+(?!on\b|at\b|from\b)[a-z][\w'-]*){0,3}"
    r"|(?:room|classroom)\s+\w+))",
    re.IGNORECASE,
)
MAX_SUBJECT_CHARS = 120

ASK_WHO = (
    "Who should get it? For example \u201call staff\u201d, \u201cteachers\u201d, \u201cYear 3 parents\u201d "
    "or \u201ceveryone\u201d."
)
HOW_TO_ASK = (
    "Tell me who, what and when, for example \u201cremind all staff about the autism awareness training on "
    "Thursday 3:30pm in the library, the day before and an hour before\u201d, or \u201csend all staff now: "
    "fire drill at 2pm\u201d."
)


@dataclass(frozen=True)
class BroadcastRequest:
    """What the SENCo asked for, ready for `knowledge.broadcasts.sending.create_draft`."""

    audience: Audience
    text: str
    event_at: dt.datetime | None = None  # UTC
    offsets_minutes: list[int] = field(default_factory=list)  # [] = send now; see NOW, MORNING_OF
    subject: str = ""
    place: str = ""


def parse_broadcast_request(text: str, *, now: dt.datetime, tz: str = UK_TZ) -> BroadcastRequest | str:
    """The request read from the SENCo's words, or a question to ask back (a str)."""
    verb = _VERB.match(text.strip())
    if verb is None:
        return HOW_TO_ASK
    rest = verb["rest"].strip()
    split = _SUBJECT_START.search(rest) or _FALLBACK_SUBJECT_START.search(rest)
    if split is None:
        return "What is the message about? " + HOW_TO_ASK
    audience = parse_audience(rest[: split.start()])
    if audience is None:
        return ASK_WHO
    tail = rest[split.start() :]
    send_now = False
    leading_now = re.match(r"\s*(?:right\s+)?now\b\s*", tail, re.IGNORECASE)
    if leading_now:
        send_now, tail = True, tail[leading_now.end() :]
    if tail.startswith(":"):
        return _verbatim_request(audience, tail[1:], send_now, now=now, tz=tz)
    saying = re.match(r"(?:know\s+)?(?:that|to say|saying)\b\s*:?", tail, re.IGNORECASE)
    if saying:
        return _verbatim_request(audience, tail[saying.end() :], send_now, now=now, tz=tz)
    about = re.match(r"(?:know\s+)?(?:about|regarding|re|of)\b\s*:?", tail, re.IGNORECASE)
    subject = tail[about.end() :] if about else tail
    if subject.lstrip().startswith(":"):
        return _verbatim_request(audience, subject.lstrip()[1:], send_now, now=now, tz=tz)
    offsets, now_asked, subject = _offsets(subject)
    return _structured_request(audience, subject, offsets, send_now or now_asked, now=now, tz=tz)


def _trailing_offsets(words: str) -> tuple[list[int], bool, str]:
    """Offsets written after the SENCo's own message ("..., the day before and an hour before").

    Only a tail made of nothing but offsets counts, so the message itself ("the hall is now
    closed") is never cut. Returns (offsets, "now" asked for, the message without the tail).
    """
    points = sorted(
        {m.start() for m in re.finditer(",", words)}
        | {m.start() for m in _OFFSET.finditer(words)}
        | {m.start() for m in _MORNING.finditer(words)}
    )
    for point in points:
        offsets, send_now, leftover = _offsets(words[point:].lstrip(","))
        if offsets and not leftover:
            return offsets, send_now, words[:point]
    return [], False, words


def _offsets(text: str) -> tuple[list[int], bool, str]:
    """(offsets in minutes, whether "now" was asked for, the text without them)."""
    found: list[int] = []
    for match in _OFFSET.finditer(text):
        if match["half"]:
            found.append(30)
            continue
        count = match["count"].lower()
        number = int(count) if count.isdigit() else _NUMBER_WORDS[count]
        found.append(number * _UNIT_MINUTES[match["unit"].lower()])
    text = _OFFSET.sub(" ", text)
    if _MORNING.search(text):
        found.append(MORNING_OF)
        text = _MORNING.sub(" ", text)
    send_now = bool(_SEND_NOW.search(text))
    text = _SEND_NOW.sub(" ", text)
    text = re.sub(r"(?:\s*(?:,|\band\b|\btoo\b|\bas well\b|\breminders?\b|\bwith\b))+\s*$", "", text.strip())
    return sorted(set(n for n in found if n != 0), key=_order), send_now, text.strip(" ,")


def _order(offset: int) -> int:
    """Earliest send first: a week before, the day before, the morning of, an hour before."""
    return -offset if offset >= 0 else -(8 * 60 if offset == MORNING_OF else 10**9)


def _with_now(offsets: list[int], send_now: bool) -> list[int]:
    return [NOW, *offsets] if send_now and offsets else offsets


def _verbatim_request(
    audience: Audience, words: str, send_now: bool, *, now: dt.datetime, tz: str
) -> BroadcastRequest | str:
    offsets, now_asked, words = _trailing_offsets(words)
    message = _sentence(words)
    if not message:
        return "What should the message say?"
    event_at = None
    if offsets:
        when = parse_when(words, now, tz)
        problem = _event_problem(when, "event", needs_exact=True)
        if problem:
            return problem
        event_at = when.start.astimezone(dt.timezone.utc)
        problem = _offset_problem(offsets, event_at, tz)
        if problem:
            return problem
    return BroadcastRequest(
        audience, message, event_at, _with_now(offsets, send_now or now_asked), subject=message
    )


def _structured_request(
    audience: Audience, subject_text: str, offsets: list[int], send_now: bool, *, now: dt.datetime, tz: str
) -> BroadcastRequest | str:
    cut = _WHEN_OR_PLACE.search(subject_text)
    subject = (subject_text[: cut.start()] if cut else subject_text).strip(" ,.")
    subject = re.sub(r"^(?:the|our|a|an)\s+", "", subject, flags=re.IGNORECASE)[:MAX_SUBJECT_CHARS].strip()
    if not subject:
        return "What is the reminder about? " + HOW_TO_ASK
    details = subject_text[cut.start() :] if cut else ""
    place_match = _PLACE.search(details)
    place = place_match["place"].strip(" ,.") if place_match else ""
    when_text = _PLACE.sub(" ", details) if place_match else details
    event_at, when_words = None, ""
    if when_text.strip(" ,.") or offsets:
        when = parse_when(when_text, now, tz)
        problem = _event_problem(when, subject, needs_exact=bool(offsets))
        if problem:
            return problem
        if when.found:
            event_at = when.start.astimezone(dt.timezone.utc)
            when_words = format_uk(when.start, tz) if when.exact else _day_words(when, tz)
            if when_words is None:
                return f"Which day is the {subject}?"
    if offsets:
        problem = _offset_problem(offsets, event_at, tz)
        if problem:
            return problem
    parts = [subject, when_words, place]
    text = "Reminder: " + ", ".join(p for p in parts if p) + "."
    return BroadcastRequest(
        audience,
        text,
        event_at,
        _with_now(offsets, send_now),
        subject=subject,
        place=place,
    )


def _event_problem(when, subject: str, *, needs_exact: bool) -> str | None:
    """A question when the event's time can't be used, else None."""
    if when.question:
        return when.question
    if not when.found:
        if needs_exact:
            return (
                f"When is the {subject}? Please give the day and time, for example "
                "\u201cThursday at 3:30pm\u201d, so the reminders go out at the right moment."
            )
        return None
    if when.in_past:
        return f"That time has already passed. When is the {subject}?"
    if needs_exact and not when.exact:
        return (
            f"What time does the {subject} start? I need the exact time to send the reminders before it, "
            "for example \u201cThursday at 3:30pm\u201d."
        )
    return None


def _offset_problem(offsets: list[int], event_at: dt.datetime | None, tz: str) -> str | None:
    if event_at is None:
        return "When is the event? I need the day and time to send reminders before it."
    if MORNING_OF in offsets and event_at.astimezone(ZoneInfo(tz)).time() <= MORNING_TIME:
        return (
            "It starts before 8am, so a reminder on the morning would be too late. "
            "Did you mean the day before?"
        )
    return None


def _day_words(when, tz: str) -> str | None:
    """ "Friday 27 November" for a whole day; None for a longer window ("next week")."""
    zone = ZoneInfo(tz)
    start, last = when.start.astimezone(zone), (when.end - dt.timedelta(microseconds=1)).astimezone(zone)
    return date_words(start.date()) if start.date() == last.date() else None


def _sentence(words: str) -> str:
    """The SENCo's own words as a sentence: capital first letter, a full stop if none."""
    words = re.sub(r"\s+", " ", words).strip()
    if not words:
        return ""
    words = words[0].upper() + words[1:]
    return words if words[-1] in ".!?" else words + "."


# --- Offsets in words --------------------------------------------------------------------


def offset_label(offset: int) -> str:
    """ "now", "the day before", "an hour before", "2 days before", "on the morning"."""
    if offset == NOW:
        return "now"
    if offset == MORNING_OF:
        return "on the morning"
    for unit, size in (("week", 10080), ("day", 1440), ("hour", 60)):
        if offset % size == 0 and offset >= size:
            count = offset // size
            if count == 1:
                return {"week": "a week before", "day": "the day before", "hour": "an hour before"}[unit]
            return f"{count} {unit}s before"
    if offset == 30:
        return "half an hour before"
    return f"{offset} minutes before"


def due_at(offset: int, event_at: dt.datetime | None, now: dt.datetime, tz: str = UK_TZ) -> dt.datetime:
    """When a send with this offset is due (UTC): "now" is `now`; the morning is 8am UK time on the day."""
    if offset == NOW:
        return now
    if event_at is None:
        raise ValueError("a reminder before an event needs the event's time")
    if offset == MORNING_OF:
        zone = ZoneInfo(tz)
        day = event_at.astimezone(zone).date()
        return dt.datetime.combine(day, MORNING_TIME, tzinfo=zone).astimezone(dt.timezone.utc)
    return event_at - dt.timedelta(minutes=offset)

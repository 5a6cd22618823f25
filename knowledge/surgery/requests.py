"""Reading what the SENCo types into a request: a weekly surgery, or a day to block out.

"open surgery Tuesdays 3:30-5pm from 1 December to the end of term, 20 minute slots" and
"block out next Tuesday afternoon" are read here, and nothing is guessed: what is missing is
asked for, with an example. Every day and time is read by `knowledge.text.dates.find_when`, the
same reader that reads the teachers' "next Tuesday afternoon", so the two sides of the surgery
can never read the same words differently. What is the surgery's own is read here: which
weekdays, how long a slot is, how many people a slot takes, and the range of dates a weekly
surgery runs over (a term, "until Christmas", "for 6 weeks", "from 5 January until 12 February").
`knowledge.surgery.availability` then checks and makes the slots.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import NamedTuple

from knowledge.schools.calendar import SchoolCalendar, Term, UnknownTerm
from knowledge.surgery.availability import (
    DEFAULT_CAPACITY,
    DEFAULT_SLOT_MINUTES,
    END_OF_DAY,
    AvailabilityError,
    check_pattern,
    say_time,
)
from knowledge.text.dates import END_OF_DAY as READ_END_OF_DAY
from knowledge.text.dates import NUMBER_WORDS, Found, HourMinute, find_when, which_day_question
from knowledge.text.uk_time import WEEKDAY_NAMES, date_words, day_month_words

EXAMPLE_SURGERY = '"Tuesdays 3:15 to 4:15, 15 minutes each, this term"'
EXAMPLE_BLOCKOUT = '"block out Friday 4 December" or "block out tomorrow afternoon"'
# A part of the day blocked out runs to the edge of the day, so nothing before or after school
# is left open; lunchtime keeps its own hours (`knowledge.text.dates.PARTS_OF_DAY`). "Friday pm"
# is read as the afternoon.
BLOCKOUT_PARTS: dict[str, tuple[str, str]] = {
    "morning": ("00:00", "12:00"),
    "lunchtime": ("12:00", "13:30"),
    "afternoon": ("12:00", END_OF_DAY),
    "after school": ("15:00", END_OF_DAY),
}  # not "evening": "parents' evening on the 8th, no surgery that day" means the whole day


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
        """The first weekday asked for; `availability.open_request` opens every one of `weekdays`."""
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


# --- the surgery's own words ----------------------------------------------------------------

_SLOT_LENGTH_RES = (
    (re.compile(r"\b(\d{1,3})\s*(?:-\s*)?(?:minutes?|mins?|m)\b"), None),
    (re.compile(r"\bhalf[\s-]+(?:an[\s-]+)?hour"), 30),
    (re.compile(r"\b(?:an?|one|1)[\s-]+hour\b|\bhour[\s-]+long\b|\bhourly\b"), 60),
)
_NUM = r"(\d{1,2}|" + "|".join(NUMBER_WORDS) + r")"
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
# The words before a date that make it the first or the last day of the surgery.
_START_WORD_RE = re.compile(r"\b(?:from|starting|beginning|start|starts|as\s+of)\s+(?:on\s+)?(?:the\s+)?$")
_END_WORD_RE = re.compile(rf"(?:\b{_UNTIL}|-)\s+(?:and\s+including\s+)?(?:on\s+)?(?:the\s+)?$")


def _number(word: str) -> int:
    return int(word) if word.isdigit() else NUMBER_WORDS[word]


def _blank(text: str, span: tuple[int, int]) -> str:
    """Remove a phrase already read without moving the rest (so later spans stay valid)."""
    return text[: span[0]] + " " * (span[1] - span[0]) + text[span[1] :]


def _hhmm(hm: HourMinute) -> str:
    """(15, 15) -> "15:15"; the end of the day (24:00) is the block-outs' "23:59"."""
    return END_OF_DAY if hm == READ_END_OF_DAY else f"{hm[0]:02d}:{hm[1]:02d}"


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


def _date_problem(found: Found, then: str) -> NeedsQuestion:
    """The reader's question about a date or time; a date that does not exist is named."""
    if found.unreadable:
        return NeedsQuestion(f'"{found.unreadable}" is not a date I recognise. {then}')
    return NeedsQuestion(found.question or "")


# --- a weekly surgery -----------------------------------------------------------------------


def parse_surgery_request(
    text: str, *, today: dt.date, calendar: SchoolCalendar
) -> SurgeryRequest | NeedsQuestion:
    """Read "open Tuesdays 3:15 to 4:15, 15 minutes each, for the autumn term" and the like."""
    found = find_when(text, today, weekly=True, bare_hours=True)
    if found.question:
        return _date_problem(found, "Please write dates like 18 December.")
    rest = found.text
    for mention in (*found.days, *found.times):
        rest = _blank(rest, mention.span)
    window = next(((t.start, t.end) for t in found.times if t.end is not None and not t.bound), None)
    weekdays = found.weekdays
    missing = _missing_question(weekdays, window)
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
    dates_range = _date_range(found, rest, today, calendar)
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


def _missing_question(weekdays: tuple[int, ...], window: tuple[HourMinute, HourMinute] | None) -> str | None:
    if not weekdays and window is None:
        return f"Which day of the week, and what times? For example: {EXAMPLE_SURGERY}."
    if not weekdays:
        return f'Which day of the week? For example: "Tuesdays {_say_window(window)}".'
    if window is None:
        return f'What times on {_say_weekdays(weekdays)}? For example: "3:15 to 4:15".'
    return None


def _say_window(window: tuple[HourMinute, HourMinute]) -> str:
    return f"{say_time(_hhmm(window[0]))} to {say_time(_hhmm(window[1]))}"


def _date_range(
    found: Found, rest: str, today: dt.date, calendar: SchoolCalendar
) -> tuple[dt.date, dt.date, str, bool] | NeedsQuestion:
    """(starts_on, ends_on, label, defaulted) from the phrases about dates; the rest of this term if none."""
    explicit_start = explicit_end = None
    for mention in found.days:
        if not (mention.written_date and mention.single):
            continue
        before = found.text[: mention.span[0]]
        if _START_WORD_RE.search(before):
            explicit_start = mention.first
        elif _END_WORD_RE.search(before):
            explicit_end = mention.first
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


# --- a day blocked out ----------------------------------------------------------------------


def parse_blockout_request(text: str, today: dt.date) -> BlockoutRequest | NeedsQuestion:
    """Read "block out 4 December", "block out tomorrow afternoon", "I'm off on Friday 4th Dec"."""
    found = find_when(text, today, bare_hours=True)
    if found.question:
        return _date_problem(found, f"Which day? For example: {EXAMPLE_BLOCKOUT}.")
    single = next((mention for mention in found.days if mention.single), None)
    if single is None:
        return NeedsQuestion(f"Which day should I block out? For example: {EXAMPLE_BLOCKOUT}.")
    days = single.readings
    if days[0] < today:
        return NeedsQuestion(f"{date_words(days[0], year=True)} has already passed. Which day did you mean?")
    start, end = _blockout_hours(found)
    if len(days) > 1:  # "next Tuesday" on a Monday: asked, as the booking side asks
        return NeedsQuestion(
            which_day_question(days, today), tuple(BlockoutRequest(day, start, end) for day in days)
        )
    return BlockoutRequest(days[0], start, end)


def _blockout_hours(found: Found) -> tuple[str | None, str | None]:
    """The hours to block out: a range ("2 to 4pm", "from 2pm", "until 11"), else a part of the
    day ("afternoon"), else (None, None), the whole day. A time alone ("at 2pm") is no window."""
    window = next((t for t in found.times if t.end is not None), None)
    if window is not None:
        return _hhmm(window.start), _hhmm(window.end)
    for part in found.parts:
        if part in BLOCKOUT_PARTS:
            return BLOCKOUT_PARTS[part]
    return None, None

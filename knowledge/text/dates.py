"""Reading *when* out of what a teacher writes, as a precise window of UK time.

Teachers type dates in many ways: "next Tues afternoon", "half three tomorow", "Friday 4th Dec",
"4/12 at 3.30", "what's free this week". This module turns those into a timezone-aware window
(`When`) in the school's time zone (UK time, `UK_TZ`, by default), so a caller can store UTC and look
for surgery slots inside it.

We never guess when unsure. A bare "4", "4/5/6", "Tuesday or Wednesday" or "31 February" come
back with a short, kind `question` to ask the teacher instead of a window; text with no date in
it comes back as not found, so the caller can simply offer the next free slots.

"next Tuesday" is the one British phrase that is unsure by itself. Said on a Monday, some mean
tomorrow and some the Tuesday of next week. The rule (`next_weekday`): "next <day>" is the
coming <day> when this week's has already gone (said on a Thursday, "next Tuesday" is in five
days) or when it is said on that very day (a week today). When the day is still to come this
week, or at the weekend (when "this Monday" already means the coming one), it may be that day
or the one a week later, and the question offers both as `choices` ("Do you mean Tuesday 24
November (tomorrow) or Tuesday 1 December?"). "this Tuesday" and "on Tuesday" are the coming
one; "Tuesday week" and "Tuesday next week" the one after.

The common forms are read by a small tokeniser (regular expressions over a normalised, typo-mended
copy of the text), because `dateparser.search` finds "may", "a second" and "now" in ordinary
sentences and reads "2026-12-04" as 4 April under day-first settings. `dateparser` is used only
where it is dependable: counting forward for "in 3 weeks", "in 2 months", "10 days from now".

Everything is a pure function of the text and an injected, timezone-aware `now`.

`find_when` gives the same reading before it is settled into one window, for the SENCo's requests
(`knowledge.surgery.requests`), so the whole bot has one date reader. Why one module of about
1,200 lines: the reader is one pipeline (normalise, patterns, scan, settle) whose steps share its
private types; split, each part would reach into the others.
"""

from __future__ import annotations

import calendar
import difflib
import html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from knowledge.text.uk_time import MONTH_NAMES, UK_TZ, WEEKDAY_NAMES, clock_words, date_words, day_month_words

MAX_CHARS = 20_000  # longer messages are cut: nobody books a slot on page three of a paste

WEEKDAYS = tuple(name.lower() for name in WEEKDAY_NAMES)
MONTHS = tuple(name.lower() for name in MONTH_NAMES)

# Parts of the school day: (start, end) as (hour, minute); the end is exclusive.
PARTS_OF_DAY: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "morning": ((8, 0), (12, 0)),
    "lunchtime": ((12, 0), (13, 30)),
    "afternoon": ((12, 0), (17, 0)),
    "after school": ((15, 0), (18, 0)),
    "evening": ((17, 0), (20, 0)),
}

HourMinute = tuple[int, int]
END_OF_DAY: HourMinute = (24, 0)


@dataclass(frozen=True)
class When:
    """A window of time read from a message, or a question to ask back.

    `start` is inclusive and `end` exclusive, both timezone-aware in the school's time zone. For an
    exact time ("tomorrow at 3:30") `end` is one minute after `start`, so `start <= slot.start < end`
    finds a slot that begins then. When `question` is set, `start` and `end` are None; when the
    question is which of two days ("next Tuesday"), `choices` holds the two windows, nearest
    first, so a caller can offer them as buttons.
    """

    start: datetime | None
    end: datetime | None
    exact: bool
    question: str | None
    in_past: bool = False
    choices: tuple[When, ...] = ()

    @property
    def found(self) -> bool:
        """True when a window was read (no question, not empty)."""
        return self.start is not None


NOT_FOUND = When(None, None, False, None)


# --------------------------------------------------------------------------- public functions


def parse_when(text: str, now: datetime, tz: str = UK_TZ) -> When:
    """The window of time `text` talks about, a question when it is ambiguous, or not found."""
    zone = _zone(tz)
    today_now = _local_now(now, zone)
    try:
        reading = _read(text, today_now.date())
        return _resolve(reading, today_now, zone)
    except _Ask as ask:
        return When(None, None, False, ask.question, choices=ask.choices)


def parse_all_days(text: str, now: datetime, tz: str = UK_TZ) -> list[date]:
    """Every single day named in `text`, in the order written, without repeats.

    For "move my Thursday booking to Friday" this gives [Thursday, Friday], so the caller can
    move from the first to the second. Spans of several days ("next week") are left out. An
    ambiguous or impossible date gives an empty list (`day_readings` says which days it may be).
    """
    readings = day_readings(text, now, tz)
    if any(len(days) > 1 for days in readings):
        return []
    return [days[0] for days in readings]


def day_readings(text: str, now: datetime, tz: str = UK_TZ) -> list[tuple[date, ...]]:
    """Every single day named in `text`, in the order written, each as the days it may be.

    Most mentions are one day; "next Tuesday" said on a Monday is two (tomorrow, or a week
    later: see `next_weekday`). An impossible date gives an empty list.
    """
    today = _local_now(now, _zone(tz)).date()
    try:
        reading = _read(text, today)
    except _Ask:
        return []
    found: list[tuple[date, ...]] = []
    for mention in sorted(_settle_alternatives(reading.days), key=lambda d: d.pos):
        if mention.single and mention.readings not in found:
            found.append(mention.readings)
    return found


def next_weekday(wanted: int, today: date) -> tuple[date, ...]:
    """What "next <weekday>" (0 is Monday) means said on `today`: one day, or two when unsure.

    The coming one (never today) when this week's has gone or it is that day today; the coming
    one or a week later when the day is still to come this week, or at the weekend.
    """
    coming = today + timedelta(days=(wanted - today.weekday()) % 7 or 7)
    unsure = wanted != today.weekday() and (today.weekday() >= 5 or wanted > today.weekday())
    return (coming, coming + timedelta(days=7)) if unsure else (coming,)


def day_label(day: date, today: date) -> str:
    """A day as a choice to click: "Tuesday 24 November (tomorrow)", "Tuesday 1 December"."""
    return date_words(day) + (" (tomorrow)" if day == today + timedelta(days=1) else "")


def which_day_question(days: Iterable[date], today: date) -> str:
    """ "Do you mean Tuesday 24 November (tomorrow) or Tuesday 1 December?" """
    return f"Do you mean {_or_list([day_label(day, today) for day in days])}?"


def parse_date_only(text: str, now: datetime, tz: str = UK_TZ) -> tuple[date | None, str | None]:
    """One calendar day from `text` as (day, None), (None, question), or (None, None) if none.

    A span of several days ("next week") asks which day.
    """
    when = parse_when(text, now, tz)
    if when.question or when.start is None or when.end is None:
        return None, when.question
    zone = _zone(tz)
    start, end = when.start.astimezone(zone), when.end.astimezone(zone)
    last_moment = end - timedelta(microseconds=1)
    if start.date() != last_moment.date():
        return None, f"Which day from {date_words(start.date())} to {date_words(last_moment.date())}?"
    return start.date(), None


@dataclass(frozen=True)
class DayMention:
    """A day, or a run of days, named in a text: where it stands and which days it means.

    `readings` are the days a single day may be, nearest first: one, or two for "next Tuesday"
    said on a Monday (`next_weekday`). `written_date` tells a calendar date ("4 December", "4/12",
    "the 4th") from a day's name ("tomorrow", "Friday").
    """

    span: tuple[int, int]
    first: date
    last: date
    readings: tuple[date, ...]
    written_date: bool

    @property
    def single(self) -> bool:
        return self.first == self.last


@dataclass(frozen=True)
class TimeMention:
    """A time of day or a range of them named in a text, as (hour, minute) pairs.

    `end` is None for a time of day ("at 3"); "after 3" ends at END_OF_DAY and "until 11" starts
    at (0, 0), with `bound` "after" or "before" to say only one end was named.
    """

    span: tuple[int, int]
    start: HourMinute
    end: HourMinute | None
    bound: str = ""


@dataclass(frozen=True)
class Found:
    """Everything about *when* in a text, in the order written (see `find_when`).

    The spans refer to `text`, the text as the reader normalised it (lower case, typos mended,
    "Tues" written out), so a caller can blank out what was read and look at the rest. When the
    text needs a question instead (a date that does not exist, "4pm to 2pm"), `question` says it
    and nothing else is filled in; `unreadable` then holds the words of a date that does not exist.
    """

    text: str
    days: tuple[DayMention, ...] = ()
    times: tuple[TimeMention, ...] = ()
    parts: tuple[str, ...] = ()
    weekdays: tuple[int, ...] = ()
    question: str | None = None
    unreadable: str = ""


def find_when(text: str, today: date, *, weekly: bool = False, bare_hours: bool = False) -> Found:
    """Every day, time and part of the day named in `text`, for a caller that reads more than
    one window from it (the SENCo's "open Tuesdays 3-4 from 1 December until Christmas").

    The same reading as `parse_when`, before it is settled into one window. `weekly`: the text
    describes a weekly pattern, so the names of the days of the week are the days it repeats on
    (`Found.weekdays`; "every day", "weekdays" and "Monday to Friday" are the five school days),
    not dates; and two dates joined ("1 December - 18 December") stay two. `bare_hours`: the text
    is known to name hours, so two bare numbers joined ("3-4", "3 to 4", "7 and 8") are a range
    of times, as if "pm" had been said where school hours need it; a teacher's "move 2 to 4" is
    not read that way.
    """
    try:
        reading = _read(text, today, weekly=weekly, bare_hours=bare_hours)
    except _Ask as ask:
        return Found(_normalise(text), question=ask.question, unreadable=ask.unreadable)
    days = sorted(_settle_alternatives(reading.days), key=lambda d: d.pos)
    clocks = sorted(reading.clocks, key=lambda c: c.pos)

    return Found(
        reading.text,
        days=tuple(
            DayMention(d.span, d.first, d.end - timedelta(days=1), d.readings, d.written_date) for d in days
        ),
        times=tuple(
            TimeMention(c.span, c.readings[0], None)
            if isinstance(c, _Clock)
            else TimeMention(c.span, c.start, c.end, c.bound)
            for c in clocks
        ),
        parts=tuple(dict.fromkeys(reading.parts)),
        weekdays=reading.weekdays,
    )


# --------------------------------------------------------------------------- what was read


class _Ask(Exception):
    """Stop reading: the message needs a question, not a guess (with the windows to choose from,
    when the question is which of two days)."""

    def __init__(self, question: str, choices: tuple[When, ...] = (), unreadable: str = "") -> None:
        super().__init__(question)
        self.question = question
        self.choices = choices
        self.unreadable = unreadable  # the words of a date that does not exist ("31 february")


@dataclass
class _Days:
    """A day, or a run of days, mentioned at `pos` in the text; `end` is exclusive."""

    pos: int
    first: date
    end: date
    label: str = ""
    roll_weekly: bool = False  # a bare weekday that is today: means next week's once today's is over
    span: tuple[int, int] = (0, 0)
    alternative: date | None = None  # "next Tuesday" on a Monday: this, or `first`, is meant
    written_date: bool = False  # a calendar date ("4 December", "4/12", "the 4th"), not a day's name

    @property
    def single(self) -> bool:
        return self.end - self.first == timedelta(days=1)

    @property
    def readings(self) -> tuple[date, ...]:
        return (self.first,) if self.alternative is None else (self.first, self.alternative)


@dataclass
class _Clock:
    """A time of day, with its possible readings best first ("at 7" is 7pm, else 7am)."""

    pos: int
    readings: tuple[HourMinute, ...]
    span: tuple[int, int] = (0, 0)


@dataclass
class _ClockRange:
    """From one time of day to another ("2-4pm", "after 3"); `end` may be END_OF_DAY.

    `bound` is "after" or "before" when only one end was said ("from 2pm", "until 11").
    """

    pos: int
    start: HourMinute
    end: HourMinute
    span: tuple[int, int] = (0, 0)
    bound: str = ""


@dataclass
class _Reading:
    """Everything found in one message, before it is turned into a window."""

    days: list[_Days] = field(default_factory=list)
    clocks: list[_Clock | _ClockRange] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    loose_numbers: list[int] = field(default_factory=list)
    text: str = ""  # the normalised text the spans refer to
    weekdays: tuple[int, ...] = ()  # read weekly: the days of the week named ("Tuesdays")


# --------------------------------------------------------------------------- normalising the text

_ALIASES = {
    "tomoz": "tomorrow",
    "tomo": "tomorrow",
    "tmrw": "tomorrow",
    "tmrow": "tomorrow",
    "tmr": "tomorrow",
    "tmw": "tomorrow",
    "2moro": "tomorrow",
    "2morrow": "tomorrow",
    "2mrw": "tomorrow",
    "tonite": "tonight",
    "2nite": "tonight",
    "tday": "today",
    "2day": "today",
    "mon": "monday",
    "tue": "tuesday",
    "tues": "tuesday",
    "wed": "wednesday",
    "weds": "wednesday",
    "thu": "thursday",
    "thur": "thursday",
    "thurs": "thursday",
    "thrs": "thursday",
    "fri": "friday",
    "jan": "january",
    "feb": "february",
    "mar": "march",
    "apr": "april",
    "jun": "june",
    "jul": "july",
    "aug": "august",
    "sep": "september",
    "sept": "september",
    "oct": "october",
    "nov": "november",
    "dec": "december",
    "morn": "morning",
    "nxt": "next",
    "wk": "week",
    "wks": "weeks",
    "lunch": "lunchtime",
    "dinnertime": "lunchtime",  # primary schools call lunch "dinner"
    "midday": "noon",
}
# Real words as well as abbreviations: only read as days beside "on", "this", "next", "last" or a date.
_WEAK_ALIASES = {"sat": "saturday", "sun": "sunday"}
_WEAK_CONTEXT = {"on", "this", "next", "last", "or", "and", "to", "until", "till", "from", "between"}

_FUZZY_TARGETS = (
    *WEEKDAYS,
    "tomorrow",
    "yesterday",
    "morning",
    "afternoon",
    "evening",
    "lunchtime",
    "january",
    "february",
    "august",
    "september",
    "october",
    "november",
    "december",
)
# Real words close enough to a target to be mistaken for a typo of it.
_NOT_TYPOS = {"weekday", "weekdays", "moaning", "mourning", "sundae"}


@lru_cache(maxsize=4096)
def _mend_word(word: str) -> str:
    """The canonical form of one word: aliases, plurals ("mondays") and close typos ("tomorow")."""
    if word in _ALIASES:
        return _ALIASES[word]
    if not word.isalpha() or len(word) < 5 or word in _NOT_TYPOS or word in _FUZZY_TARGETS:
        return word
    if word.endswith("s") and word[:-1] in _FUZZY_TARGETS:
        return word[:-1]
    candidates = [target for target in _FUZZY_TARGETS if target[0] == word[0]]
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.8)
    return close[0] if close else word


def _normalise(text: str) -> str:
    """Lower case, no markup or emoji, typos mended, one space between words."""
    text = html.unescape(text[:MAX_CHARS])
    text = re.sub(r"(?is)<(script|style)\b[^>]*>.*?</\1\s*>", " ", text)
    text = re.sub(r"<[^<>]{0,500}>", " ", text)  # HTML tags, Slack mentions and links
    text = text.lower().translate(str.maketrans({"\u2019": "'", "\u2018": "'", "\u2013": "-", "\u2014": "-"}))
    text = re.sub(r"(?<![a-z])([ap])\.\s?m\b\.?", r"\1m", text)  # "p.m." -> "pm"
    text = text.replace("@", " at ").replace("&", " and ")
    text = re.sub(r"[^a-z0-9:./'\- ]", " ", text)
    text = re.sub(r"(?<=[a-z])-(?=[a-z])", " - ", text)  # "after-school", "mon-wed": mended below
    text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)  # full stops, but not "3.30"
    text = re.sub(r"'s\b", "", text)
    text = re.sub(r"(?<![a-z])'|'(?![a-z])", " ", text)
    words = text.split()
    mended = []
    for i, word in enumerate(words):
        if word in _WEAK_ALIASES:
            before = words[i - 1] if i else ""
            after = words[i + 1] if i + 1 < len(words) else ""
            if before in _WEAK_CONTEXT or re.match(r"\d", after):
                word = _WEAK_ALIASES[word]
        mended.append(_mend_word(word))
    text = " ".join(mended)
    return re.sub(r"(?<=[a-z]) - (?=[a-z])", _keep_dash_between_days, text)


def _keep_dash_between_days(match: re.Match[str]) -> str:
    """ "monday - wednesday" keeps its dash (a range); "after - school" becomes "after school"."""
    text = match.string
    before = text[: match.start()].rsplit(" ", 1)[-1]
    after = text[match.end() :].split(" ", 1)[0]
    return " - " if before in WEEKDAYS and after in WEEKDAYS else " "


# --------------------------------------------------------------------------- patterns

_WD = "(?:" + "|".join(WEEKDAYS) + ")"
# "may" is a month only when it is not the verb: "4 May" yes, "at 3 may be fine" no.
_MAY = r"may(?!\s+(?:be|i|we|you|not|also|well|work|suit|need|have|help|still)\b)"
_MONTH = "(?:" + "|".join(_MAY if month == "may" else month for month in MONTHS) + ")"
# Numbers written as words, "one" to "twelve": hours here, and counts in the SENCo's requests.
NUMBER_WORDS = {
    w: i
    for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve".split())
    if i
}
_HOUR = r"(?:\d{1,2}|" + "|".join(NUMBER_WORDS) + ")"
_ORDINAL_WORDS = {
    w: i + 1
    for i, w in enumerate(
        (
            "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
            "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth"
        ).split()
    )
}
_ORDINAL_WORDS.update({f"twenty {w}": 20 + n for w, n in list(_ORDINAL_WORDS.items())[:9]})
_ORDINAL_WORDS.update({"thirtieth": 30, "thirty first": 31})
_ORDINAL_WORD = r"\b(?:" + "|".join(sorted(_ORDINAL_WORDS, key=len, reverse=True)) + ")"
_DAY_NUMBER = r"(?<![\d:./])(?:\d{1,2})(?:st|nd|rd|th)?(?![\d:/]|\.\d)"
_NOT_A_TIME = r"(?!\s*(?::|\.\d|am\b|pm\b|o'?\s?clock))"
# What may come before a date: "w/c" (week commencing) and/or a weekday ("Friday 4th December").
_DATE_PREFIX = (
    r"(?P<wc>\b(?:w/c|wc|w/b|wb|(?:the\s+)?week\s+(?:commencing|beginning|starting|of))\s+)?"
    r"(?:(?P<wd>" + _WD + r")\s+(?:the\s+)?)?"
)

_NOT_A_TIME_OR_DAY = r"(?!\s*(?::|\.\d|am\b|pm\b|o'?\s?clock|st\b|nd\b|rd\b|th\b))"
# Numbers that are not about when: year groups, rooms, counts of pupils or minutes.
_NOISE = [
    re.compile(r"\b(?:years?|yrs?)\s*\d{1,2}(?:\s*(?:/|-|and|or|to|,)\s*\d{1,2})*\b" + _NOT_A_TIME_OR_DAY),
    re.compile(r"\by\d{1,2}\b"),
    re.compile(
        r"\b(?:room|class|group|set|table|stage|ks|level|step|page|slot|number|phase|unit|lesson"
        r"|period|p|rm|form)\s*\d+\b" + _NOT_A_TIME_OR_DAY
    ),
    re.compile(
        r"(?<![\d:./])\d+(?:\s*(?:/|-|or|to)\s*\d+)?\s*(?:an?\s+)?(?:pupils?|children|child|kids?|students?"
        r"|minutes?|mins?|hours?|hrs?|slots?|people|parents?|times?|ehcps?|sessions?|percent|x)\b"
    ),
]

_MONTH_DATES = [
    re.compile(
        _DATE_PREFIX
        + r"(?:the\s+)?(?P<d>"
        + _DAY_NUMBER
        + "|"
        + _ORDINAL_WORD
        + r")(?:\s+of)?\s+(?P<m>"
        + _MONTH
        + r")\b(?:\s*,?\s*(?P<y>\d{4})\b)?"
    ),
    re.compile(
        _DATE_PREFIX
        + r"(?P<m>"
        + _MONTH
        + r")\s+(?:the\s+)?(?P<d>"
        + _DAY_NUMBER
        + "|"
        + _ORDINAL_WORD
        + r")\b"
        + _NOT_A_TIME
        + r"(?:\s*,?\s*(?P<y>\d{4})\b)?"
    ),
]
_ISO_DATE = re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b")
_NUMERIC_DATE = re.compile(
    _DATE_PREFIX
    + r"(?<![\d/.:])(?P<d>\d{1,2})(?P<sep>[/.\-])(?P<m>\d{1,2})(?:(?P=sep)(?P<y>\d{1,4}))?(?![\d/])"
)
_ORDINAL_DAY = re.compile(
    _DATE_PREFIX + r"(?:\bon\s+)?(?:the\s+)?(?<![\d:./])(?P<d>\d{1,2})(?:st|nd|rd|th)\b"
    r"|" + r"\bon\s+the\s+(?P<d2>\d{1,2})\b" + _NOT_A_TIME
)

_WEEKDAY_IN_WEEK = re.compile(
    r"\b(?P<wd>" + _WD + r")\s+(?P<q>this|next|last)\s+week\b"
    r"|\b(?P<q2>this|next|last)\s+week\s+(?:on\s+)?(?P<wd2>" + _WD + r")\b"
)
_WEEKDAY_WEEK_ON = re.compile(
    r"\ba\s+week\s+(?:on|from)\s+(?P<wd>" + _WD + r")\b|\b(?P<wd2>" + _WD + r")\s+week\b(?!\s*\d)"
)
_WEEK_AFTER_NEXT = re.compile(r"\b(?:the\s+)?week\s+after\s+next\b")
_RELATIVE = re.compile(
    r"\bin\s+(?:(?P<n>a|an|one|two|three|four|five|six|\d{1,2})\s+(?P<unit>days?|weeks?|months?)"
    r"|(?P<fortnight>a\s+fortnight))(?:'?s?\s+time)?\b"
    r"|\b(?P<n2>a|one|two|three|four|five|six|\d{1,2})\s+(?P<unit2>days?|weeks?)\s+(?:from|after)\s+"
    r"(?:now|today)\b"
)
_MONTH_ONLY = re.compile(
    r"\b(?:in|during|throughout|over|for)\s+(?:the\s+month\s+of\s+)?(?P<m>" + _MONTH + r")\b"
    r"(?:\s+(?P<y>\d{4})\b)?"
    r"|\b(?P<m2>" + _MONTH + r")\s+(?P<y2>\d{4})\b"
)
_WEEKDAY = re.compile(r"\b(?:(?P<q>this\s+coming|this|coming|next|last|on)\s+)?(?P<wd>" + _WD + r")\b")
_DAY_WORDS = re.compile(
    r"\b(?:the\s+)?day\s+after\s+tomorrow\b|\b(?:the\s+)?day\s+before\s+yesterday\b"
    r"|\btoday\b|\btomorrow\b|\byesterday\b"
)
_WEEK = re.compile(r"\b(?P<q>this|next|last)\s+week\b")
_WEEKEND = re.compile(r"\b(?:(?P<q>this|next|last|coming)\s+)?(?:the\s+)?weekend\b")
_PART = re.compile(
    r"\b(?P<this>this\s+)?(?P<part>morning|lunchtime|dinner\s+time|afternoon|after\s+school"
    r"|evening|tonight)\b"
    r"|\b(?:" + _WD + r"|today|tomorrow)\s+(?P<ampm>am|pm)\b"
)

_CLOCK = (
    r"(?:(?P<{n}h>\d{{1,2}}|"
    + "|".join(NUMBER_WORDS)
    + r")(?:[:.](?P<{n}m>\d{{2}}))?\s*(?P<{n}ap>am|pm)?"
    + r"|(?P<{n}noon>noon))"
)
_CLOCK_RANGE = re.compile(
    r"\b(?:(?P<lead>between|from)\s+)?"
    + _CLOCK.format(n="a")
    + r"\s*(?P<sep>-|to|and|until|till|til)\s*"
    + _CLOCK.format(n="b")
    + r"(?![\d:/])"
)
_CLOCK_BOUND = re.compile(
    r"\b(?P<bound>after|from|since|before|until|till|til|up\s+to)\s+(?:about\s+)?"
    + _CLOCK.format(n="a")
    + r"(?![\d:/])"
)
# After two bare numbers ("3-4"), words that say they are not hours: "2-3 per slot", "for 4-6 weeks".
_NOT_HOURS = re.compile(r"\s*(?:per|places?|spaces?|teachers?|persons?|staff|weeks?|days?|months?)\b")
_CLOCK_POINTS = [
    re.compile(r"(?<![\d:./])(?P<h>\d{1,2})[:.](?P<m>\d{2})\s*(?P<ap>am|pm)?(?![\d:/])"),
    re.compile(r"(?<![\d:./])(?P<h>\d{1,2})\s*(?P<ap>am|pm)\b"),
    re.compile(r"\b(?P<h>" + _HOUR + r")\s*(?P<ap>am|pm)\b"),
    re.compile(r"\b(?P<h>" + _HOUR + r")\s*o'?\s?clock\b"),
    re.compile(r"\b(?P<noon>(?:12\s+)?noon)\b"),
]
_HALF_QUARTER = re.compile(
    r"\b(?:(?P<half>half)(?:\s+past)?|(?P<quarter>quarter)\s+(?P<dir>past|to)"
    r"|(?P<mins>five|ten|twenty|twenty\s+five|\d{1,2})\s+(?P<unit>minutes?\s+|mins?\s+)?(?P<dir2>past|to))"
    r"\s+(?P<h>" + _HOUR + r")\b(?:\s*(?P<ap>am|pm)\b)?(?!\s*(?:st|nd|rd|th)\b)"
)
_AT_HOUR = re.compile(
    r"\bat\s+(?:about\s+|around\s+)?(?P<h>" + _HOUR + r")(?:\s+(?P<mw>fifteen|thirty|forty\s+five))?\b"
    r"(?!\s*(?:st|nd|rd|th|/|:|\.\d))"
)
_OR_HOUR = re.compile(r"\bor\s+(?:at\s+)?(?P<h>" + _HOUR + r")\b(?!\s*(?:st|nd|rd|th)\b)")
_LOOSE_NUMBER = re.compile(r"(?<![\w:./'-])(\d{1,2})(?![\w:/'-]|\.\d)")

# A pattern is only tried when one of these is in the text: Python's `re` is slow to scan a long
# message for a pattern that starts with alternatives, and most messages hold none of these words.
_DIGITS = tuple("0123456789")
_CLOCKISH = (*_DIGITS, "noon", *NUMBER_WORDS)
_NEEDS: dict[re.Pattern[str], tuple[str, ...]] = {
    **{pattern: _DIGITS for pattern in _NOISE},
    **{pattern: MONTHS for pattern in _MONTH_DATES},
    _ISO_DATE: ("-",),
    _NUMERIC_DATE: ("/", ".", "-"),
    _ORDINAL_DAY: ("st", "nd", "rd", "th", "on the"),
    _WEEKDAY_IN_WEEK: ("week",),
    _WEEKDAY_WEEK_ON: ("week",),
    _WEEK_AFTER_NEXT: ("after next",),
    _RELATIVE: ("in ", "from", "after"),
    _MONTH_ONLY: MONTHS,
    _WEEKDAY: ("day",),
    _DAY_WORDS: ("to", "day"),
    _WEEK: ("week",),
    _WEEKEND: ("weekend",),
    _PART: ("morning", "lunch", "dinner", "afternoon", "school", "evening", "tonight", "am", "pm"),
    _CLOCK_RANGE: _CLOCKISH,
    _CLOCK_BOUND: ("after", "from", "since", "before", "until", "till", "til", "up to"),
    _HALF_QUARTER: ("half", "quarter", "past", " to "),
    **{pattern: _CLOCKISH for pattern in _CLOCK_POINTS},
    _AT_HOUR: ("at ",),
}


# --------------------------------------------------------------------------- reading the text


_Taken = bool | tuple[int, int]  # what a match handler accepted: all of the match, none, or a span


class _Scanner:
    """The normalised text, with the parts already understood blanked out as they are taken."""

    def __init__(self, text: str) -> None:
        self.original = text
        self.text = text

    def take(self, pattern: re.Pattern[str], handle: Callable[[re.Match[str]], _Taken]) -> None:
        """Offer each match to `handle`; blank out what it accepts (True: all of it, or a span)."""
        needs = _NEEDS.get(pattern, ())
        if needs and not any(word in self.text for word in needs):
            return
        for match in list(pattern.finditer(self.text)):
            taken = handle(match)
            if taken:
                start, end = match.span() if taken is True else taken
                self.text = self.text[:start] + " " * (end - start) + self.text[end:]


def _read(raw: str, today: date, *, weekly: bool = False, bare_hours: bool = False) -> _Reading:
    """Everything date-like in `raw`, found in a fixed order so longer forms win.

    `weekly` and `bare_hours` are explained at `find_when`.
    """
    scan = _Scanner(_normalise(raw))
    reading = _Reading(text=scan.original)
    if weekly:
        reading.weekdays = _weekdays_named(scan.original)
    for noise in _NOISE:
        scan.take(noise, lambda m: True)
    _read_dates(scan, reading, today)
    _read_parts(scan, reading, today)
    _read_day_words(scan, reading, today, weekly=weekly)
    _read_clocks(scan, reading, bare_hours=bare_hours)
    _refuse_alternative_times(scan, reading)
    if not weekly:  # "1 December - 18 December" in a weekly pattern: its first and last day
        _join_day_ranges(scan, reading)
    reading.loose_numbers = [int(m.group(1)) for m in _LOOSE_NUMBER.finditer(scan.text)]
    return reading


def _read_dates(scan: _Scanner, reading: _Reading, today: date) -> None:
    """Calendar dates: "4 December", "December 4th", "4/12", "2026-12-04", "the 4th"."""

    def add(match: re.Match[str], day: date) -> bool:
        mention = _date_mention(match, day)
        mention.written_date = True
        reading.days.append(mention)
        return True

    def month_date(match: re.Match[str]) -> bool:
        return add(match, _calendar_day(match.group("d"), MONTHS.index(match.group("m")) + 1, match, today))

    def iso_date(match: re.Match[str]) -> bool:
        return add(match, _checked_date(int(match["y"]), int(match["m"]), int(match["d"]), match.group(0)))

    def numeric_date(match: re.Match[str]) -> bool:
        if match["sep"] != "/" and (not match["y"] or len(match["y"]) not in (2, 4)):
            return False  # "3.30" is a time and "2-4" a range of hours
        if not match["y"] and (int(match["d"]) > 31 or int(match["m"]) > 31):
            return False  # "50/50" is not trying to be a date
        return add(match, _numeric_day(match, today))

    def ordinal_day(match: re.Match[str]) -> bool:
        return add(match, _next_day_of_month(int(match["d"] or match["d2"]), today, match.group(0)))

    for pattern in _MONTH_DATES:
        scan.take(pattern, month_date)
    scan.take(_ISO_DATE, iso_date)
    scan.take(_NUMERIC_DATE, numeric_date)
    scan.take(_ORDINAL_DAY, ordinal_day)


def _date_mention(match: re.Match[str], day: date) -> _Days:
    """A date, checked against the weekday written with it and widened to its week after "w/c"."""
    weekday = match.groupdict().get("wd")
    if weekday and WEEKDAYS.index(weekday) != day.weekday():
        raise _Ask(
            f"{day_month_words(day)} is a {WEEKDAY_NAMES[day.weekday()]}, "
            f"not a {weekday.title()}. Which day did you mean?"
        )
    if match.groupdict().get("wc"):
        monday = day - timedelta(days=day.weekday())
        return _Days(
            match.start(), monday, monday + timedelta(days=7), _week_label(monday), span=match.span()
        )
    return _Days(match.start(), day, day + timedelta(days=1), span=match.span())


def _number(word: str) -> int:
    """An hour or day written as digits, a word ("three") or an ordinal ("fourth")."""
    word = (
        " ".join(re.sub(r"(st|nd|rd|th)$", "", word).split())
        if word[:1].isdigit()
        else " ".join(word.split())
    )
    if word.isdigit():
        return int(word)
    return NUMBER_WORDS.get(word) or _ORDINAL_WORDS[word]


def _calendar_day(day_text: str, month: int, match: re.Match[str], today: date) -> date:
    """A day and month, in the year given or else in the current school year."""
    year_text = match.groupdict().get("y")
    year = int(year_text) if year_text else _school_year_of(month, today)
    return _checked_date(year, month, _number(day_text), match.group(0))


def _school_year_of(month: int, today: date) -> int:
    """The year a month falls in within the current school year (September to July).

    From August teachers are planning the coming year, so August starts the new school year.
    """
    first_year = today.year if today.month >= 8 else today.year - 1
    return first_year if month >= 8 else first_year + 1


def _checked_date(year: int, month: int, day: int, written: str) -> date:
    """The date, or a question when it does not exist ("31 February")."""
    if not 1 <= month <= 12:
        raise _Ask(
            f"I couldn't read \u201c{written.strip()}\u201d as a date. "
            "I read dates as day/month, so 4/12 is 4 December. Which date did you mean?",
            unreadable=written.strip(),
        )
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        in_year = f" in {year}" if (month, day) == (2, 29) else ""
        raise _Ask(
            f"There's no {day} {MONTH_NAMES[month - 1]}{in_year}. Which date did you mean?",
            unreadable=written.strip(),
        )
    return date(year, month, day)


def _numeric_day(match: re.Match[str], today: date) -> date:
    """A date written with numbers, day first: "4/12", "4/12/26", "4.12.2026"."""
    day, month, year_text = int(match["d"]), int(match["m"]), match["y"]
    written = match.group(0).strip()
    if year_text and len(year_text) not in (2, 4):
        raise _Ask(
            f"I'm not sure which date \u201c{written}\u201d is. Could you write it like \u201c4 May\u201d?"
        )
    if not year_text:
        year = _school_year_of(month, today) if 1 <= month <= 12 else today.year
        return _checked_date(year, month, day, written)
    year = int(year_text) + (2000 if len(year_text) == 2 else 0)
    return _checked_date(year, month, day, written)


def _next_day_of_month(day: int, today: date, written: str) -> date:
    """The next date with this day of the month, today included ("the 4th")."""
    if not 1 <= day <= 31:
        raise _Ask(
            f"There's no \u201c{written.strip()}\u201d in any month. Which date did you mean?",
            unreadable=written.strip(),
        )
    year, month = today.year, today.month
    for _ in range(13):
        if day <= calendar.monthrange(year, month)[1] and date(year, month, day) >= today:
            return date(year, month, day)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    raise AssertionError("unreachable: every day of the month comes round within a year")


def _read_day_words(scan: _Scanner, reading: _Reading, today: date, *, weekly: bool = False) -> None:
    """Days by name: "next Tuesday", "Tuesday week", "this week", "the weekend", "in 3 weeks".

    Read `weekly`, the names of the days of the week are left alone: they say when a weekly
    pattern repeats (`_weekdays_named`), not which day.
    """
    monday = today - timedelta(days=today.weekday())

    def day(match: re.Match[str], first: date, **extra) -> bool:
        reading.days.append(
            _Days(match.start(), first, first + timedelta(days=1), span=match.span(), **extra)
        )
        return True

    def days(match: re.Match[str], first: date, length: int, label: str) -> bool:
        reading.days.append(
            _Days(match.start(), first, first + timedelta(days=length), label, span=match.span())
        )
        return True

    def weekday_in_week(m: re.Match[str]) -> bool:
        shift = {"this": 0, "next": 7, "last": -7}[m["q"] or m["q2"]]
        return day(m, monday + timedelta(days=shift + WEEKDAYS.index(m["wd"] or m["wd2"])))

    def weekday_week_on(m: re.Match[str]) -> bool:
        return day(m, _coming_weekday(WEEKDAYS.index(m["wd"] or m["wd2"]), today) + timedelta(days=7))

    def relative(m: re.Match[str]) -> bool:
        target = _count_forward(m, today)
        unit = m["unit"] or m["unit2"] or "week"
        if unit.startswith("day"):
            return day(m, target)
        if unit.startswith("week"):
            start = target - timedelta(days=target.weekday())
            return days(m, start, 7, _week_label(start))
        start = target.replace(day=1)
        length = calendar.monthrange(start.year, start.month)[1]
        return days(m, start, length, f"in {MONTH_NAMES[start.month - 1]}")

    def month_only(m: re.Match[str]) -> bool:
        month = MONTHS.index(m["m"] or m["m2"]) + 1
        year_text = m["y"] or m["y2"]
        year = int(year_text) if year_text else _school_year_of(month, today)
        length = calendar.monthrange(year, month)[1]
        return days(m, date(year, month, 1), length, f"in {MONTH_NAMES[month - 1]}")

    def weekday(m: re.Match[str]) -> bool:
        wanted, qualifier = WEEKDAYS.index(m["wd"]), (m["q"] or "").replace("this coming", "coming")
        if qualifier == "next":
            first, *other = next_weekday(wanted, today)
            return day(m, first, alternative=other[0] if other else None)
        if qualifier == "last":
            return day(m, today - timedelta(days=(today.weekday() - wanted) % 7 or 7))
        return day(m, _coming_weekday(wanted, today), roll_weekly=wanted == today.weekday())

    def day_word(m: re.Match[str]) -> bool:
        shifts = {"today": 0, "tomorrow": 1, "yesterday": -1}
        words = m.group(0).split()
        shift = 2 if "after" in words else -2 if "before" in words else shifts[words[-1]]
        return day(m, today + timedelta(days=shift))

    def week(m: re.Match[str]) -> bool:
        shift = {"this": 0, "next": 7, "last": -7}[m["q"]]
        return days(m, monday + timedelta(days=shift), 7, f"{m['q']} week")

    def weekend(m: re.Match[str]) -> bool:
        saturday = monday + timedelta(days=5)
        qualifier = m["q"]
        if qualifier == "last":
            saturday -= timedelta(days=7)
        elif qualifier == "next" and today >= saturday:
            saturday += timedelta(days=7)
        label = "at the weekend" if qualifier in (None, "this", "coming") else f"{qualifier} weekend"
        return days(m, saturday, 2, label)

    if not weekly:
        scan.take(_WEEKDAY_IN_WEEK, weekday_in_week)
        scan.take(_WEEKDAY_WEEK_ON, weekday_week_on)
    scan.take(_WEEK_AFTER_NEXT, lambda m: days(m, monday + timedelta(days=14), 7, "the week after next"))
    scan.take(_RELATIVE, relative)
    scan.take(_MONTH_ONLY, month_only)
    if not weekly:
        scan.take(_WEEKDAY, weekday)
    scan.take(_DAY_WORDS, day_word)
    scan.take(_WEEK, week)
    scan.take(_WEEKEND, weekend)


_EVERY_SCHOOL_DAY = re.compile(r"\b(?:every|each)\s+(?:week\s*)?day\b|\bweekdays\b")
_WEEKDAY_RUN = re.compile(r"\b(?P<a>" + _WD + r")\s*(?:-|to|through|thru)\s*(?P<b>" + _WD + r")\b")
_WEEKDAY_NAME = re.compile(r"\b(?P<wd>" + _WD + r")\b")


def _weekdays_named(text: str) -> tuple[int, ...]:
    """The days of the week a weekly pattern repeats on: "Tuesdays and Thursdays" (1, 3),
    "Monday to Wednesday" (0, 1, 2), "every day" or "weekdays" (Monday to Friday)."""
    if _EVERY_SCHOOL_DAY.search(text):
        return (0, 1, 2, 3, 4)
    named = {WEEKDAYS.index(m["wd"]) for m in _WEEKDAY_NAME.finditer(text)}
    for run in _WEEKDAY_RUN.finditer(text):
        first, last = WEEKDAYS.index(run["a"]), WEEKDAYS.index(run["b"])
        named.update(range(first, last + 1))
    return tuple(sorted(named))


def _coming_weekday(wanted: int, today: date) -> date:
    """The next day with this weekday, today included."""
    return today + timedelta(days=(wanted - today.weekday()) % 7)


def _count_forward(match: re.Match[str], today: date) -> date:
    """The day "in 3 weeks" / "in 2 months" lands on, counted by dateparser from `today`."""
    if match["fortnight"]:
        return today + timedelta(days=14)
    import dateparser  # about a second to import: only when needed

    count_word = match["n"] or match["n2"]
    count = {"a": 1, "an": 1}.get(count_word) or _number(count_word)
    unit = (match["unit"] or match["unit2"]).rstrip("s") + "s"
    settings = {"RELATIVE_BASE": datetime.combine(today, time(12)), "PARSERS": ["relative-time"]}
    parsed = dateparser.parse(f"in {count} {unit}", languages=["en"], settings=settings)
    if parsed is None:  # pragma: no cover - dateparser reads "in N days/weeks/months" reliably
        raise _Ask("Which day did you mean?")
    return parsed.date()


def _read_parts(scan: _Scanner, reading: _Reading, today: date) -> None:
    """Parts of the day: "morning", "this afternoon", "after school", "tonight", "Tuesday pm"."""

    def part(match: re.Match[str]) -> _Taken:
        if match["ampm"]:
            reading.parts.append("morning" if match["ampm"] == "am" else "afternoon")
            return match.span("ampm")  # the day word is left for the day reader
        name = " ".join(match["part"].split())
        name = {"dinner time": "lunchtime", "tonight": "evening"}.get(name, name)
        if match["part"] == "tonight" or match["this"]:
            reading.days.append(_Days(match.start(), today, today + timedelta(days=1), span=match.span()))
        reading.parts.append(name)
        return True

    scan.take(_PART, part)


def _read_clocks(scan: _Scanner, reading: _Reading, *, bare_hours: bool = False) -> None:
    """Times of day: "3:30", "half three", "quarter to 4", "at 3", "2-4pm", "after 3"."""

    def clock_range(m: re.Match[str]) -> bool:
        marked = m["lead"] or m["sep"] in ("until", "till", "til")
        marked = marked or any(m[g] for g in ("aap", "bap", "am", "bm", "anoon", "bnoon"))
        if bare_hours and not marked:
            marked = (
                (m["ah"] or "").isdigit()
                and (m["bh"] or "").isdigit()
                and not _NOT_HOURS.match(scan.text, m.end())
            )
        if not marked or (m["sep"] == "and" and m["lead"] != "between" and not bare_hours):
            return False  # "move 2 to 4" is not a time; "3pm and 4pm" are two times
        start, end = _clock_pair(m)
        reading.clocks.append(_ClockRange(m.start(), start, end, _span(m)))
        return True

    def clock_bound(m: re.Match[str]) -> bool:
        if not (m["ah"] or "").isdigit() and not m["aap"] and not m["anoon"]:
            return False  # "after one of the lessons" is not a time
        start = _clock_readings(m, "a")[0]
        if m["bound"] in ("after", "from", "since"):
            reading.clocks.append(_ClockRange(m.start(), start, END_OF_DAY, _span(m), "after"))
        else:
            reading.clocks.append(_ClockRange(m.start(), (0, 0), start, _span(m), "before"))
        return True

    def point(m: re.Match[str]) -> bool:
        groups = m.groupdict()
        if groups.get("noon"):
            readings: tuple[HourMinute, ...] = ((12, 0),)
        else:
            minute = int(groups["m"]) if groups.get("m") else 0
            readings = _readings(_number(m["h"]), minute, groups.get("ap"))
        if not readings:
            return False
        reading.clocks.append(_Clock(m.start(), readings, _span(m)))
        return True

    def half_quarter(m: re.Match[str]) -> bool:
        if m["half"]:
            minutes = 30
        elif m["quarter"]:
            minutes = 15 if m["dir"] == "past" else -15
        else:
            count = {"five": 5, "ten": 10, "twenty": 20, "twenty five": 25}.get(" ".join(m["mins"].split()))
            if count is None and (m["dir2"] == "to" and not m["unit"] or int(m["mins"]) >= 60):
                return False  # "move 2 to 4" is not 3:58
            count = count or int(m["mins"])
            minutes = count if m["dir2"] == "past" else -count
        hours = _readings(_number(m["h"]), 0, m["ap"])
        if not hours:
            return False
        reading.clocks.append(_Clock(m.start(), tuple(_add_minutes(hm, minutes) for hm in hours), _span(m)))
        return True

    def at_hour(m: re.Match[str]) -> bool:
        minute = {"fifteen": 15, "thirty": 30, "forty five": 45}.get(" ".join((m["mw"] or "").split()), 0)
        readings = _readings(_number(m["h"]), minute, None)
        if not readings:
            return False
        reading.clocks.append(_Clock(m.start(), readings, _span(m)))
        return True

    scan.take(_CLOCK_RANGE, clock_range)
    scan.take(_CLOCK_BOUND, clock_bound)
    scan.take(_HALF_QUARTER, half_quarter)
    for pattern in _CLOCK_POINTS:
        scan.take(pattern, point)
    scan.take(_AT_HOUR, at_hour)


def _refuse_alternative_times(scan: _Scanner, reading: _Reading) -> None:
    """ "at 3 or 4": the second time is only a number, but the teacher is offering a choice."""
    points = [c for c in reading.clocks if isinstance(c, _Clock)]
    if len(points) != 1:
        return
    for match in _OR_HOUR.finditer(scan.text):
        other = _readings(_number(match["h"]), 0, None)
        if other and other != points[0].readings:
            raise _Ask(f"Did you mean {_describe_clock(points[0])} or {clock_words(other[0])}?")


def _readings(hour: int, minute: int, meridiem: str | None) -> tuple[HourMinute, ...]:
    """The times an hour can mean, best first. In school, 1 to 7 without am/pm is afternoon."""
    if minute > 59 or hour > 23:
        return ()
    if meridiem == "am":
        return ((0 if hour == 12 else hour, minute),) if 1 <= hour <= 12 else ()
    if meridiem == "pm":
        return ((hour if hour >= 12 else hour + 12, minute),) if hour >= 1 else ()
    if hour == 0 or hour >= 12:
        return ((hour, minute),)
    if hour <= 7:
        return ((hour + 12, minute), (hour, minute))
    return ((hour, minute), (hour + 12, minute))


def _clock_readings(match: re.Match[str], name: str) -> tuple[HourMinute, ...]:
    """The readings of one side (`a` or `b`) of a range pattern."""
    if match[f"{name}noon"]:
        return ((12, 0),)
    minute = int(match[f"{name}m"]) if match[f"{name}m"] else 0
    readings = _readings(_number(match[f"{name}h"]), minute, match[f"{name}ap"])
    if not readings:
        raise _Ask(f"I couldn't read \u201c{match.group(0).strip()}\u201d as a time. What time did you mean?")
    return readings


def _clock_pair(match: re.Match[str]) -> tuple[HourMinute, HourMinute]:
    """Start and end of "2-4pm", "11 till 1", "between 2 and 3:30": am/pm carries across."""
    ends = _clock_readings(match, "b")
    starts = _clock_readings(match, "a")
    if not match["aap"] and not match["anoon"] and match["bap"]:
        same_half = (starts[0][0] % 12 + (12 if ends[0][0] >= 12 else 0), starts[0][1])
        starts = (same_half, *starts) if same_half < ends[0] else starts
    pair = next(((s, e) for s in starts for e in ends if s < e), None)
    if pair is None:
        raise _Ask(f"\u201c{match.group(0).strip()}\u201d ends before it starts. Which times did you mean?")
    return pair


def _span(match: re.Match[str]) -> tuple[int, int]:
    """Where a time was written, without the blanked-out noise a pattern's spaces took after it."""
    return match.start(), match.start() + len(match.group(0).rstrip())


def _add_minutes(hm: HourMinute, minutes: int) -> HourMinute:
    total = hm[0] * 60 + hm[1] + minutes
    return divmod(total % (24 * 60), 60)  # type: ignore[return-value]


def _join_day_ranges(scan: _Scanner, reading: _Reading) -> None:
    """Two days joined as a range: "between Tuesday and Thursday", "Mon-Wed"."""
    singles = sorted((d for d in reading.days if d.single and d.span != (0, 0)), key=lambda d: d.pos)
    for first, second in zip(singles, singles[1:], strict=False):
        if first.alternative or second.alternative:
            continue  # "next Tuesday - Thursday": which Tuesday is asked, not guessed
        gap = scan.original[first.span[1] : second.span[0]]
        before = scan.original[: first.span[0]]
        joined_by_and = re.fullmatch(r"\s*and\s*", gap) and re.search(r"\bbetween\s+$", before)
        if not (joined_by_and or re.fullmatch(r"\s*-\s*", gap)):
            continue
        last = second.first
        if last < first.first and second.roll_weekly:
            last += timedelta(days=7)
        if last < first.first:
            raise _Ask(f"{date_words(last)} comes before {date_words(first.first)}. Which days did you mean?")
        label = f"between {date_words(first.first)} and {date_words(last)}"
        reading.days.remove(first)
        reading.days.remove(second)
        span = (first.span[0], second.span[1])
        joined = _Days(first.pos, first.first, last + timedelta(days=1), label, span=span)
        joined.written_date = first.written_date and second.written_date
        reading.days.append(joined)


# --------------------------------------------------------------------------- turning it into a window


def _resolve(reading: _Reading, now: datetime, zone: ZoneInfo) -> When:
    """One window from what was read, or a question when the parts disagree."""
    days = _distinct(_settle_alternatives(reading.days), key=lambda d: (d.first, d.end))
    clocks = _distinct(reading.clocks, key=_clock_key)
    parts = list(dict.fromkeys(reading.parts))
    if len(days) > 1:
        raise _Ask(f"Did you mean {_or_list([_describe_days(d) for d in days])}?")
    if len(clocks) > 1:
        raise _Ask(f"Did you mean {_or_list([_describe_clock(c) for c in clocks])}?")
    if len(parts) > 1:
        raise _Ask(f"Did you mean {_or_list([f'the {p}' for p in parts])}?")
    clock = clocks[0] if clocks else None
    part = parts[0] if parts else None
    if not days:
        if clock is None and part is None:
            return _loose_number_question(reading.loose_numbers)
        return _today_only(now, zone, clock, part)
    mention = days[0]
    if not mention.single:
        if isinstance(clock, _Clock):
            raise _Ask(f"Which day {mention.label} would you like at {_describe_clock(clock)}?")
        return _window(_midnight(mention.first, zone), _midnight(mention.end, zone), False, now)
    if mention.alternative is not None:
        choices = tuple(_window(*_on_day(day, clock, part, zone), now) for day in mention.readings)
        raise _Ask(which_day_question(mention.readings, now.date()), choices)
    start, end, exact = _on_day(mention.first, clock, part, zone)
    if mention.roll_weekly and _is_over(start, end, exact, now):
        start, end, exact = _on_day(mention.first + timedelta(days=7), clock, part, zone)
    return _window(start, end, exact, now)


def _settle_alternatives(days: list[_Days]) -> list[_Days]:
    """ "next Tuesday, 1 December": a day written out as well settles which one was meant."""
    named = {d.first for d in days if d.single and d.alternative is None}
    return [d for d in days if d.alternative is None or not named & set(d.readings)]


def _today_only(now: datetime, zone: ZoneInfo, clock: _Clock | _ClockRange | None, part: str | None) -> When:
    """A time or part of the day with no day: today, if it is still to come."""
    start, end, exact = _on_day(now.date(), clock, part, zone)
    if _is_over(start, end, exact, now):
        if isinstance(clock, _Clock):
            raise _Ask(f"{clock_words(start)} today has already gone. Which day did you mean?")
        if clock is None:
            raise _Ask(f"This {part} is already over. Which day did you mean?")
        raise _Ask("That time today has already gone. Which day did you mean?")
    return _window(start, end, exact, now)


def _on_day(
    day: date, clock: _Clock | _ClockRange | None, part: str | None, zone: ZoneInfo
) -> tuple[datetime, datetime, bool]:
    """(start, end, exact) on one day, from a time, a range of times or a part of the day."""
    if isinstance(clock, _ClockRange):
        return _at(day, clock.start, zone), _at(day, clock.end, zone), False
    if isinstance(clock, _Clock):
        chosen = _fit_to_part(clock, part)
        start = _at(day, chosen, zone)
        return start, start + timedelta(minutes=1), True
    if part is not None:
        first, last = PARTS_OF_DAY[part]
        return _at(day, first, zone), _at(day, last, zone), False
    return _midnight(day, zone), _midnight(day + timedelta(days=1), zone), False


def _fit_to_part(clock: _Clock, part: str | None) -> HourMinute:
    """The reading of a time that falls in the part of the day also named ("morning at 7")."""
    if part is None:
        return clock.readings[0]
    first, last = PARTS_OF_DAY[part]
    for hm in clock.readings:
        if first <= hm < last:
            return hm
    for hm in clock.readings:  # "morning at 7", "evening at 8": the right half of the day
        if (hm[0] < 12) == (part == "morning"):
            return hm
    raise _Ask(f"{clock_words(clock.readings[0])} isn't in the {part}. Which did you mean?")


def _window(start: datetime, end: datetime, exact: bool, now: datetime) -> When:
    """The final window: a span already under way starts now; a finished one is in the past."""
    if not exact and start < now < end:
        start = now
    return When(start, end, exact, None, in_past=_is_over(start, end, exact, now))


def _is_over(start: datetime, end: datetime, exact: bool, now: datetime) -> bool:
    return start < now if exact else end <= now


def _loose_number_question(numbers: list[int]) -> When:
    """A number on its own ("book 4") could be a time or a date: ask, or report nothing found."""
    plausible = list(dict.fromkeys(n for n in numbers if 1 <= n <= 31))
    if not plausible:
        return NOT_FOUND
    if len(plausible) > 1:
        raise _Ask("Which day and time did you mean? For example \u201cTuesday at 3:30\u201d.")
    n = plausible[0]
    if n <= 12:
        raise _Ask(f"Did you mean {n} o'clock or the {_ordinal(n)}? Please say the day too.")
    if n <= 23:
        raise _Ask(f"Did you mean {n}:00 or the {_ordinal(n)}? Please say the day too.")
    raise _Ask(f"Did you mean the {_ordinal(n)}? Please say the month too.")


# --------------------------------------------------------------------------- small helpers


@lru_cache(maxsize=16)
def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


def _local_now(now: datetime, zone: ZoneInfo) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(zone)


def _at(day: date, hm: HourMinute, zone: ZoneInfo) -> datetime:
    if hm == END_OF_DAY:
        return _midnight(day + timedelta(days=1), zone)
    return datetime.combine(day, time(*hm), tzinfo=zone)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def _distinct(items: Iterable, key: Callable) -> list:
    seen: dict = {}
    for item in sorted(items, key=lambda i: i.pos):
        seen.setdefault(key(item), item)
    return list(seen.values())


def _clock_key(clock: _Clock | _ClockRange) -> tuple:
    return clock.readings[0] if isinstance(clock, _Clock) else (clock.start, clock.end)


def _describe_days(mention: _Days) -> str:
    return date_words(mention.first) if mention.single else mention.label


def _describe_clock(clock: _Clock | _ClockRange) -> str:
    if isinstance(clock, _Clock):
        return clock_words(clock.readings[0])
    if clock.end == END_OF_DAY:
        return f"after {clock_words(clock.start)}"
    return f"{clock_words(clock.start)} to {clock_words(clock.end)}"


def _week_label(monday: date) -> str:
    return f"in the week of {day_month_words(monday)}"


def _or_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"

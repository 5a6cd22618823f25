"""The school's calendar: its terms and the days it is closed, from a file the school edits.

SENCo surgery slots are only made on school days, and the SENCo talks in terms ("for the
autumn term", "until the end of this term"), so both questions are answered here from the
school's own term dates rather than guessed. The file is plain YAML (see
`school_data/example_calendar.yml`); a mistake in it is reported naming the entry, so the
school office can fix it without reading a traceback.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SEASONS = ("autumn", "spring", "summer")


class CalendarError(ValueError):
    """The calendar file cannot be used; the message names the file and the entry."""


class UnknownTerm(LookupError):
    """A term the SENCo named is not in the calendar; the message is safe to show."""


class _NoTimestampLoader(yaml.SafeLoader):
    """A safe loader that leaves dates as text, so a bad date is reported by entry, not by YAML."""


_NoTimestampLoader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_calendar_file(path: Path) -> Any:
    """The calendar file as plain data, dates left as text (so it can be stored as JSON)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CalendarError(f"The school calendar file {path} was not found.") from None
    try:
        return yaml.load(text, Loader=_NoTimestampLoader) or {}
    except yaml.YAMLError as error:
        raise CalendarError(f"{path.name} is not valid YAML: {error}") from None


@dataclass(frozen=True)
class Term:
    name: str
    starts: dt.date
    ends: dt.date

    @property
    def season(self) -> str | None:
        lowered = self.name.lower()
        return next((s for s in SEASONS if s in lowered), None)

    def __contains__(self, day: dt.date) -> bool:
        return self.starts <= day <= self.ends


@dataclass(frozen=True)
class Closure:
    starts: dt.date
    ends: dt.date
    reason: str

    def __contains__(self, day: dt.date) -> bool:
        return self.starts <= day <= self.ends


@dataclass(frozen=True)
class SchoolCalendar:
    terms: tuple[Term, ...]
    closures: tuple[Closure, ...] = ()
    example: bool = False

    # --- loading --------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path | str) -> SchoolCalendar:
        path = Path(path)
        return cls.from_dict(read_calendar_file(path), source=path.name)

    @classmethod
    def from_dict(cls, raw: Any, *, source: str = "calendar") -> SchoolCalendar:
        if not isinstance(raw, dict):
            raise CalendarError(f"{source}: expected `terms:` and `closures:` lists.")
        terms = tuple(
            sorted(
                (
                    _term(item, f"{source}, terms entry {i}")
                    for i, item in enumerate(_list(raw, "terms", source), 1)
                ),
                key=lambda t: t.starts,
            )
        )
        if not terms:
            raise CalendarError(f"{source}: list at least one term under `terms:`.")
        for earlier, later in zip(terms, terms[1:], strict=False):
            if later.starts <= earlier.ends:
                raise CalendarError(f'{source}: terms "{earlier.name}" and "{later.name}" overlap.')
        closures = tuple(
            _closure(item, f"{source}, closures entry {i}")
            for i, item in enumerate(_list(raw, "closures", source), 1)
        )
        return cls(terms=terms, closures=closures, example=bool(raw.get("example", False)))

    # --- questions about a day ------------------------------------------------------

    def term_containing(self, day: dt.date) -> Term | None:
        return next((t for t in self.terms if day in t), None)

    def closure_reason(self, day: dt.date) -> str | None:
        """Why the school is closed that day, from the closures list (the most specific entry)."""
        matching = [c for c in self.closures if day in c]
        if not matching:
            return None
        return min(matching, key=lambda c: c.ends - c.starts).reason

    def is_school_day(self, day: dt.date) -> bool:
        return (
            day.weekday() < 5 and self.term_containing(day) is not None and self.closure_reason(day) is None
        )

    def day_off_reason(self, day: dt.date) -> str | None:
        """None on a school day, otherwise a short reason a person can read."""
        if day.weekday() >= 5:
            return "a weekend"
        reason = self.closure_reason(day)
        if reason:
            return reason
        if self.term_containing(day) is None:
            return "the school holidays"
        return None

    # --- terms by name --------------------------------------------------------------

    def current_or_next_term(self, today: dt.date) -> Term | None:
        """The term `today` is in, or in a holiday the one that starts next."""
        return self.term_containing(today) or next((t for t in self.terms if t.starts > today), None)

    def term_after(self, term: Term) -> Term | None:
        return next((t for t in self.terms if t.starts > term.ends), None)

    def term_for(self, name_or_phrase: str, today: dt.date) -> Term:
        """Resolve "the autumn term", "this term", "next term", "Spring term 2027"... to a term."""
        phrase = " ".join(name_or_phrase.lower().split())
        exact = next((t for t in self.terms if t.name.lower() == phrase), None)
        if exact:
            return exact
        current = self.current_or_next_term(today)
        if re.search(r"\b(this|current|the rest of|rest of|end of)( the)? term\b", phrase) or phrase in (
            "term",
            "the term",
        ):
            return self._known(current, "this term")
        if re.search(r"\bnext term\b", phrase):
            in_term = self.term_containing(today)
            return self._known(self.term_after(in_term) if in_term else current, "next term")
        season = next((s for s in SEASONS if re.search(rf"\b{s}\b", phrase)), None)
        if season:
            return self._season_term(season, phrase, today)
        raise UnknownTerm(
            f'I don\'t know which term "{name_or_phrase}" is. Try "this term" or "the spring term".'
        )

    def term_named(self, name_or_phrase: str, today: dt.date) -> tuple[dt.date, dt.date]:
        term = self.term_for(name_or_phrase, today)
        return term.starts, term.ends

    def _season_term(self, season: str, phrase: str, today: dt.date) -> Term:
        candidates = [t for t in self.terms if t.season == season]
        year = re.search(r"\b(20\d\d)\b", phrase)
        if year:
            wanted = int(year.group(1))
            candidates = [t for t in candidates if wanted in (t.starts.year, t.ends.year)]
        else:
            candidates = [t for t in candidates if t.ends >= today]
        if not candidates:
            when = f"in {year.group(1)}" if year else "coming up"
            raise UnknownTerm(
                f"The school calendar has no {season} term {when}. "
                "Please give the dates instead, for example 'until 18 December'."
            )
        return candidates[0]

    @staticmethod
    def _known(term: Term | None, phrase: str) -> Term:
        if term is None:
            raise UnknownTerm(
                f"The school calendar has no dates for {phrase} yet. "
                "Please give the dates instead, for example 'until 18 December'."
            )
        return term


# --- reading entries -----------------------------------------------------------------


def _list(raw: dict, key: str, source: str) -> list:
    value = raw.get(key) or []
    if not isinstance(value, list):
        raise CalendarError(f"{source}: `{key}:` must be a list.")
    return value


def _date(item: dict, key: str, where: str) -> dt.date:
    value = item.get(key)
    if value is None or str(value).strip() == "":
        raise CalendarError(f"{where}: `{key}` is missing.")
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise CalendarError(f"{where}: `{key}` is {value!r}, which is not a date (use YYYY-MM-DD).") from None


def _label(item: Any, where: str, key: str) -> str:
    if not isinstance(item, dict):
        raise CalendarError(f"{where}: expected {key}, starts and ends (or date/from/to and reason).")
    name = str(item.get(key) or "").strip()
    return f'{where} ("{name}")' if name else where


def _term(item: Any, where: str) -> Term:
    where = _label(item, where, "name")
    name = str(item.get("name") or "").strip()
    if not name:
        raise CalendarError(f"{where}: `name` is missing.")
    starts, ends = _date(item, "starts", where), _date(item, "ends", where)
    if ends < starts:
        raise CalendarError(f"{where}: ends ({ends}) is before starts ({starts}).")
    return Term(name, starts, ends)


def _closure(item: Any, where: str) -> Closure:
    where = _label(item, where, "reason")
    reason = str(item.get("reason") or "").strip()
    if not reason:
        raise CalendarError(f"{where}: `reason` is missing (for example: INSET day).")
    if "date" in item:
        day = _date(item, "date", where)
        return Closure(day, day, reason)
    starts, ends = _date(item, "from", where), _date(item, "to", where)
    if ends < starts:
        raise CalendarError(f"{where}: to ({ends}) is before from ({starts}).")
    return Closure(starts, ends, reason)

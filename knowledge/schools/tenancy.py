"""Finding the school a message belongs to, so nothing crosses from one school to another.

Parents name their school by the link they came in on (the web page `/s/<ref>`, the
Telegram start link), which the connector passes on as `metadata["school"]`. Staff on
Slack belong to the schools whose roster lists them, and a Slack workspace or channel
can be mapped to one school. In a one-school deployment every message is that school's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from knowledge.shared.models import School, SchoolRoute, StaffMember

SLACK_TEAM = "slack_team"
SLACK_CHANNEL = "slack_channel"


@dataclass(frozen=True)
class SchoolChoice:
    """The outcome of resolving a message's school."""

    ref: str | None  # None: the person has to say (or use their school's link)
    known: tuple[tuple[str, str], ...] = ()  # (ref, name) of the schools they could mean
    known_are_theirs: bool = False  # staff: every school in `known` is one of their own

    @property
    def first_known(self) -> str | None:
        """For staff of several schools: one of their own schools, for general answers."""
        return self.known[0][0] if self.known_are_theirs and self.known else None


def sync_routes(
    session: Session, school_ref: str, *, slack_teams: tuple[str, ...], slack_channels: tuple[str, ...]
) -> None:
    """Make this school's Slack routes match its entry in the schools file."""
    session.execute(delete(SchoolRoute).where(SchoolRoute.school_ref == school_ref))
    session.flush()
    for kind, values in ((SLACK_TEAM, slack_teams), (SLACK_CHANNEL, slack_channels)):
        for value in values:
            session.add(SchoolRoute(school_ref=school_ref, kind=kind, value=value))
    session.flush()


def all_schools(session: Session) -> list[tuple[str, str]]:
    return [
        (row.ref, row.name) for row in session.execute(select(School.ref, School.name).order_by(School.name))
    ]


def school_exists(session: Session, ref: str) -> bool:
    return session.execute(select(School.id).where(School.ref == ref)).first() is not None


# A trust school with no local offer file: its parents see no council's services, not all.
NO_LOCAL_OFFER = ""


def local_offer_dataset(session: Session, ref: str) -> str | None:
    """The local offer dataset this school's parents see (None, one school: every service
    loaded; NO_LOCAL_OFFER: none)."""
    return session.execute(select(School.local_offer_dataset).where(School.ref == ref)).scalar_one_or_none()


def school_calendar(session: Session, ref: str):
    """The school's stored calendar (from its calendar file at the last load), or None."""
    from knowledge.schools.calendar import SchoolCalendar

    raw = session.execute(select(School.calendar).where(School.ref == ref)).scalar_one_or_none()
    return SchoolCalendar.from_dict(raw, source=f"calendar of {ref}") if raw else None


def parent_school(session: Session, metadata: dict[str, Any] | None) -> SchoolChoice:
    """The school a parent's message is for: the one their link named, or the only one there is."""
    requested = str((metadata or {}).get("school") or "").strip().lower()
    if requested and school_exists(session, requested):
        return SchoolChoice(requested)
    schools = all_schools(session)
    if len(schools) == 1:
        return SchoolChoice(schools[0][0])
    return SchoolChoice(None, tuple(schools))


def staff_schools(session: Session, slack_user_id: str) -> list[str]:
    """Every school whose roster lists this Slack user as active staff (a shared SENCo has several)."""
    rows = session.execute(
        select(StaffMember.school_ref)
        .where(StaffMember.slack_user_id == slack_user_id, StaffMember.active.is_(True))
        .order_by(StaffMember.school_ref)
    )
    return [ref for (ref,) in rows]


def slack_place_school(session: Session, team_id: str | None, channel_id: str | None) -> str | None:
    """The school a Slack channel (first) or workspace is mapped to, if any."""
    for kind, value in ((SLACK_CHANNEL, channel_id), (SLACK_TEAM, team_id)):
        if value:
            ref = session.execute(
                select(SchoolRoute.school_ref).where(SchoolRoute.kind == kind, SchoolRoute.value == value)
            ).scalar_one_or_none()
            if ref:
                return ref
    return None


def _short_name(name: str) -> str:
    """'Example Academy (example data)' -> 'example academy': how people write a school's name."""
    return re.sub(r"\s*\(.*?\)", "", name).strip().lower()


def named_school(text: str, schools: list[tuple[str, str]]) -> str | None:
    """The one school of `schools` whose name or ref the text mentions, if exactly one."""
    lowered = " ".join(text.lower().split())
    hits = {
        ref for ref, name in schools if ref in lowered or (_short_name(name) and _short_name(name) in lowered)
    }
    return hits.pop() if len(hits) == 1 else None


def staff_school(
    session: Session,
    slack_user_id: str,
    *,
    team_id: str | None = None,
    channel_id: str | None = None,
    text: str = "",
) -> SchoolChoice:
    """Which school a staff message is about.

    The person's own schools only, ever: a mapped channel or workspace picks one of them;
    with one school that is it; a shared SENCo names the school ("... at Example Academy")
    or writes in the school's mapped channel, and is asked to when neither is the case.
    """
    mine = staff_schools(session, slack_user_id)
    place = slack_place_school(session, team_id, channel_id)
    if place is not None and place in mine:
        return SchoolChoice(place)
    if len(mine) == 1:
        return SchoolChoice(mine[0])
    names = dict(all_schools(session))
    said = named_school(text, [(ref, names.get(ref, ref)) for ref in mine])
    if said is not None:
        return SchoolChoice(said)
    return SchoolChoice(None, tuple((ref, names.get(ref, ref)) for ref in mine), known_are_theirs=bool(mine))


def school_for_message(
    database_url: str, metadata: dict[str, Any] | None, slack_user_id: str | None, text: str = ""
) -> SchoolChoice:
    """The school of one incoming message: staff by their roster (and Slack place), parents by link."""
    from knowledge.shared.db import unit_of_work

    with unit_of_work(database_url) as session:
        if slack_user_id:
            slack = (metadata or {}).get("slack") or {}
            return staff_school(
                session,
                slack_user_id,
                team_id=slack.get("team_id"),
                channel_id=slack.get("channel_id"),
                text=text,
            )
        return parent_school(session, metadata)


def school_of_button(session: Session, entities: dict[str, str]) -> str | None:
    """The school a button's slot, booking or broadcast belongs to (buttons carry only ids)."""
    from knowledge.shared.models import Booking, Broadcast, SurgerySlot

    lookups = (
        ("slot_id", select(SurgerySlot.school_ref).where(SurgerySlot.id == _int(entities.get("slot_id")))),
        (
            "booking_id",
            select(SurgerySlot.school_ref)
            .join(Booking, Booking.slot_id == SurgerySlot.id)
            .where(Booking.id == _int(entities.get("booking_id"))),
        ),
        (
            "broadcast_id",
            select(Broadcast.school_ref).where(Broadcast.id == _int(entities.get("broadcast_id"))),
        ),
    )
    for key, query in lookups:
        if str(entities.get(key) or "").isdigit():
            ref = session.execute(query).scalar_one_or_none()
            if ref:
                return ref
    return None


def _int(value: object) -> int:
    return int(value) if str(value or "").isdigit() else -1

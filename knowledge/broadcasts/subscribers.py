"""Who may be sent the SENCo's reminders, per person and channel: opting in and out.

A parent chooses on Telegram (the /start question, /stop, "stop reminders"); the choice
is stored here and read again at send time, so stopping works even for messages already
queued. The first contact records that the privacy notice was shown.

An opted-in parent may narrow their reminders to some year groups and some kinds of event
(`choose`); none chosen means all of them (see `knowledge.broadcasts.audiences`). Only those names are
kept, never anything about a child, and stopping reminders forgets them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.schools.profile import CHOICE_CHARS, MAX_CHOICES
from knowledge.shared.models import Subscriber, utcnow


@dataclass(frozen=True)
class Choices:
    """What one person gets: whether they opted in, and the year groups and interests they chose."""

    opted_in: bool
    year_groups: tuple[str, ...] = ()  # () = all year groups
    interests: tuple[str, ...] = ()  # () = every kind of reminder


def _clean(names: Iterable[object]) -> list[str]:
    """Names as stored: spaces tidied, each once, cut to length, at most MAX_CHOICES."""
    tidy = (" ".join(str(name).split())[:CHOICE_CHARS] for name in names)
    return list(dict.fromkeys(name for name in tidy if name))[:MAX_CHOICES]


def _find(session: Session, school_ref: str, channel: str, address: str) -> Subscriber | None:
    return session.execute(
        select(Subscriber).where(
            Subscriber.school_ref == school_ref, Subscriber.channel == channel, Subscriber.address == address
        )
    ).scalar_one_or_none()


def get_or_create(
    session: Session, school_ref: str, channel: str, address: str, *, kind: str = "parent"
) -> Subscriber:
    found = _find(session, school_ref, channel, address)
    if found is None:
        found = Subscriber(school_ref=school_ref, channel=channel, address=address, kind=kind)
        session.add(found)
        session.flush()
    return found


def first_contact(
    session: Session, school_ref: str, channel: str, address: str, now: dt.datetime | None = None
) -> bool:
    """Record the first contact; True when this is it (so the privacy notice is shown)."""
    subscriber = get_or_create(session, school_ref, channel, address)
    if subscriber.privacy_notice_at is not None:
        return False
    subscriber.privacy_notice_at = now or utcnow()
    return True


def opt_in(
    session: Session,
    school_ref: str,
    channel: str,
    address: str,
    *,
    year_groups: list[str] | None = None,
    interests: list[str] | None = None,
    now: dt.datetime | None = None,
) -> Subscriber:
    subscriber = get_or_create(session, school_ref, channel, address)
    subscriber.opted_in, subscriber.opted_in_at, subscriber.opted_out_at = True, now or utcnow(), None
    subscriber.unreachable_at = None
    if year_groups is not None:
        subscriber.year_groups = _clean(year_groups)
    if interests is not None:
        subscriber.interests = _clean(interests)
    return subscriber


def opt_out(
    session: Session, school_ref: str, channel: str, address: str, now: dt.datetime | None = None
) -> bool:
    """Stop reminders (and forget the year groups and interests chosen). True when they had been opted in."""
    subscriber = get_or_create(session, school_ref, channel, address)
    was_in = subscriber.opted_in
    subscriber.opted_in, subscriber.opted_out_at = False, now or utcnow()
    subscriber.year_groups, subscriber.interests = [], []
    return was_in


def choices(session: Session, school_ref: str, channel: str, address: str) -> Choices:
    """Whether this person gets reminders, and which (someone never seen has not opted in)."""
    subscriber = _find(session, school_ref, channel, address)
    if subscriber is None:
        return Choices(opted_in=False)
    return Choices(
        bool(subscriber.opted_in), tuple(subscriber.year_groups or ()), tuple(subscriber.interests or ())
    )


def choose(
    session: Session,
    school_ref: str,
    channel: str,
    address: str,
    *,
    year_groups: Iterable[str] | None = None,
    interests: Iterable[str] | None = None,
) -> Choices | None:
    """Replace the year groups and/or interests (None leaves one as it is; empty means all).

    Only for someone opted in: otherwise nothing is stored and None is returned, so a
    stale button pressed after /stop cannot quietly keep data about them.
    """
    subscriber = _find(session, school_ref, channel, address)
    if subscriber is None or not subscriber.opted_in:
        return None
    if year_groups is not None:
        subscriber.year_groups = _clean(year_groups)
    if interests is not None:
        subscriber.interests = _clean(interests)
    return choices(session, school_ref, channel, address)


def is_opted_in(session: Session, school_ref: str, channel: str, address: str) -> bool:
    return bool(
        session.execute(
            select(Subscriber.opted_in).where(
                Subscriber.school_ref == school_ref,
                Subscriber.channel == channel,
                Subscriber.address == address,
            )
        ).scalar_one_or_none()
    )


def mark_unreachable(session: Session, school_ref: str, channel: str, address: str, now: dt.datetime) -> None:
    """The person blocked the bot or the chat is gone: never retried until they come back."""
    subscriber = get_or_create(session, school_ref, channel, address)
    subscriber.unreachable_at = now


def link(
    session: Session, school_ref: str, channel: str, address: str, now: dt.datetime | None = None
) -> None:
    """This person came in through `school_ref`'s link: their chat is now that school's."""
    get_or_create(session, school_ref, channel, address).linked_at = now or utcnow()
    session.flush()


def linked_school(session: Session, channel: str, address: str) -> str | None:
    """The school of this person's latest link (a trust's parent may have used two)."""
    return session.execute(
        select(Subscriber.school_ref)
        .where(Subscriber.channel == channel, Subscriber.address == address)
        .order_by(Subscriber.linked_at.desc().nulls_last(), Subscriber.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def schools_of(session: Session, channel: str, address: str) -> list[str]:
    """Every school this person has a row with (a trust's parent may have several)."""
    return list(
        session.execute(
            select(Subscriber.school_ref)
            .where(Subscriber.channel == channel, Subscriber.address == address)
            .order_by(Subscriber.id)
        ).scalars()
    )

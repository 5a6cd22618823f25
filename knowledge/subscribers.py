"""Who may be sent the SENCo's reminders, per person and channel: opting in and out.

A parent chooses on Telegram (the /start question, /stop, "stop reminders"); the choice
is stored here and read again at send time, so stopping works even for messages already
queued. The first contact records that the privacy notice was shown.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.models import Subscriber, utcnow

MAX_CHOICES = 12


def get_or_create(
    session: Session, school_ref: str, channel: str, address: str, *, kind: str = "parent"
) -> Subscriber:
    found = session.execute(
        select(Subscriber).where(
            Subscriber.school_ref == school_ref, Subscriber.channel == channel, Subscriber.address == address
        )
    ).scalar_one_or_none()
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
        subscriber.year_groups = [str(y)[:40] for y in year_groups][:MAX_CHOICES]
    if interests is not None:
        subscriber.interests = [str(i)[:40] for i in interests][:MAX_CHOICES]
    return subscriber


def opt_out(
    session: Session, school_ref: str, channel: str, address: str, now: dt.datetime | None = None
) -> bool:
    """Stop reminders. True when the person had been opted in."""
    subscriber = get_or_create(session, school_ref, channel, address)
    was_in = subscriber.opted_in
    subscriber.opted_in, subscriber.opted_out_at = False, now or utcnow()
    return was_in


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

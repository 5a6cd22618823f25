"""The SEND questions the bot had no reliable answer to, kept for the school to answer.

Kept without the sender (no sender id, no reference), with e-mail addresses and phone
numbers taken out of the words, and only as long as the chat logs
(CHAT_LOG_RETENTION_DAYS): `purge` runs with the chat-log purge.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import delete, or_, select

from knowledge.shared.db import unit_of_work
from knowledge.shared.models import UnansweredQuestion

MAX_CHARS = 500
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_PHONE = re.compile(r"(?<!\w)(?:\+?\d[\d ()-]{8,}\d)(?!\w)")


def without_contact_details(text: str) -> str:
    """The question's words with e-mail addresses and phone numbers replaced, and capped."""
    text = _PHONE.sub("[phone number]", _EMAIL.sub("[e-mail address]", text))
    text = " ".join(text.split())
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"


def record(
    database_url: str, *, school_ref: str | None, text: str, topic_guess: str | None, channel: str
) -> None:
    with unit_of_work(database_url) as session:
        session.add(
            UnansweredQuestion(
                school_ref=school_ref,
                text=without_contact_details(text),
                topic_guess=topic_guess,
                channel=channel,
            )
        )


@dataclass(frozen=True)
class Unanswered:
    asked_at: dt.datetime
    school_ref: str | None
    channel: str
    topic_guess: str | None
    text: str


def recent(
    database_url: str, *, now: dt.datetime, days: int, school_ref: str | None = None
) -> list[Unanswered]:
    """The last `days` days' unanswered questions, newest first; one school's (and those with
    no school) when `school_ref` is given."""
    query = select(UnansweredQuestion).where(UnansweredQuestion.asked_at >= now - dt.timedelta(days=days))
    if school_ref is not None:
        query = query.where(
            or_(UnansweredQuestion.school_ref == school_ref, UnansweredQuestion.school_ref.is_(None))
        )
    with unit_of_work(database_url) as session:
        rows = session.execute(query.order_by(UnansweredQuestion.asked_at.desc())).scalars()
        return [Unanswered(r.asked_at, r.school_ref, r.channel, r.topic_guess, r.text) for r in rows]


def purge(database_url: str, before: dt.datetime) -> int:
    with unit_of_work(database_url) as session:
        result = session.execute(delete(UnansweredQuestion).where(UnansweredQuestion.asked_at < before))
        return result.rowcount or 0

"""Safeguarding records: recording a concern, alerting the DSL, escalating, DSL access.

A record keeps the message verbatim with its time, channel and sender reference. It
lives outside chat-log retention. Only the school's DSL or deputy DSL (named in the
school profile) may list, read or acknowledge records, and every access is audited.

Alerts go through an `Alerter`. Until the Slack connector exists the only one is the
`LogAlerter`: a log line without the message text, telling the DSL to run
`python -m bot.cli safeguarding list`.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError

from knowledge.schools.profile import SchoolProfile, read_profile
from knowledge.schools.tenancy import all_schools, parent_school
from knowledge.shared.db import unit_of_work
from knowledge.shared.models import SafeguardingAccess, SafeguardingRecord, utcnow

log = logging.getLogger("sendbot.safeguarding")

# The school_ref of a concern that named no school in a trust deployment. Kept, and
# listed for the trust's safeguarding lead with `bot.cli safeguarding list --school unassigned`.
UNASSIGNED = "unassigned"


class NotTheDSL(PermissionError):
    """Someone who is not the DSL or deputy DSL asked for safeguarding records."""


@dataclass(frozen=True)
class RecordView:
    id: int
    created_at: dt.datetime
    channel: str
    sender_ref: str
    message: str
    kinds: str
    detected_by: str
    child_voice: bool
    acknowledged_by: str | None
    deputy_alerted: bool
    sender_answer: str | None = None  # to "is a child at risk?": yes | no | None (not asked/no answer)


class Alerter(Protocol):
    def alert(self, record_id: int, to: str, *, repeat: bool = False) -> None: ...


class LogAlerter:
    """Alert by a log line that names the record, never its text."""

    def alert(self, record_id: int, to: str, *, repeat: bool = False) -> None:
        again = "NOT YET ACKNOWLEDGED: " if repeat else ""
        log.warning(
            "%sSAFEGUARDING concern #%d recorded for the %s. "
            "Read it with: python -m bot.cli safeguarding show %d --as '<your name>'",
            again,
            record_id,
            to,
            record_id,
        )


def record_concern(
    database_url: str,
    *,
    channel: str,
    sender_ref: str,
    message: str,
    detected_by: str,
    kinds: str = "",
    child_voice: bool = False,
    school_ref: str | None = None,
    alerter: Alerter | None = None,
    awaiting_answer: dt.timedelta | None = None,
    message_id: str | None = None,
) -> int:
    """Store the concern verbatim and alert the DSL at once. Returns the record id.

    `awaiting_answer`: the sender is being asked whether a child is at risk (a concern only
    the NLU model saw); the DSL is alerted when they say yes, or when this time runs out.
    `message_id`: the delivered message's id; the same message delivered again (a client's
    retry, a second Rasa server) returns the first record and alerts nobody twice.
    """
    message_id = message_id[:200] if message_id else None
    try:
        record_id = _store(
            database_url,
            channel=channel,
            sender_ref=sender_ref,
            message=message,
            detected_by=detected_by,
            kinds=kinds,
            child_voice=child_voice,
            school_ref=school_ref,
            awaiting_answer=awaiting_answer,
            message_id=message_id,
        )
    except IntegrityError:  # (sender, message_id) is unique: this delivery was recorded before
        earlier = _recorded(database_url, sender_ref, message_id) if message_id else None
        if earlier is None:
            raise
        return earlier
    if awaiting_answer:
        log.warning("possible safeguarding concern #%d: asking the sender before alerting", record_id)
    else:
        (alerter or LogAlerter()).alert(record_id, "designated safeguarding lead")
    return record_id


def _recorded(database_url: str, sender_ref: str, message_id: str) -> int | None:
    with unit_of_work(database_url) as session:
        return session.execute(
            select(SafeguardingRecord.id).where(
                SafeguardingRecord.sender_ref == sender_ref,
                SafeguardingRecord.source_message_id == message_id,
            )
        ).scalar_one_or_none()


def _store(
    database_url: str,
    *,
    channel: str,
    sender_ref: str,
    message: str,
    detected_by: str,
    kinds: str,
    child_voice: bool,
    school_ref: str | None,
    awaiting_answer: dt.timedelta | None,
    message_id: str | None,
) -> int:
    now = utcnow()
    with unit_of_work(database_url) as session:
        choice = parent_school(session, {"school": school_ref})
        if choice.ref is None:  # a trust, and no school named: never guess another school's DSL
            log.warning(
                "safeguarding concern from %s names no school: recorded as %s", sender_ref, UNASSIGNED
            )
        record = SafeguardingRecord(
            school_ref=choice.ref or UNASSIGNED,
            channel=channel or "unknown",
            sender_ref=sender_ref,
            message=message,
            detected_by=detected_by[:200],
            kinds=kinds[:300],
            child_voice=child_voice,
            alerted_at=now + awaiting_answer if awaiting_answer else now,
            confirm_by=now + awaiting_answer if awaiting_answer else None,
            source_message_id=message_id,
        )
        session.add(record)
        session.flush()
        return record.id


@dataclass(frozen=True)
class CheckAnswer:
    record_id: int | None  # None: no open question for this sender
    text: str  # the message the sender was asked about (to answer it on "no")
    school_ref: str | None = None


def answer_check(
    database_url: str, sender_ref: str, *, yes: bool, record_id: int | None = None
) -> CheckAnswer:
    """The sender answered "is a child at risk?": yes alerts the DSL now, no stands the alert down.

    Only the sender's own open question can be answered (a button from someone else's
    conversation, or one already answered, finds nothing).
    """
    now = utcnow()
    with unit_of_work(database_url) as session:
        query = select(SafeguardingRecord).where(
            SafeguardingRecord.sender_ref == sender_ref,
            SafeguardingRecord.confirm_by.is_not(None),
            SafeguardingRecord.sender_answer.is_(None),
        )
        if record_id is not None:
            query = query.where(SafeguardingRecord.id == record_id)
        record = session.execute(query.order_by(SafeguardingRecord.id.desc()).limit(1)).scalar_one_or_none()
        if record is None:
            return CheckAnswer(None, "")
        record.sender_answer = "yes" if yes else "no"
        if yes and record.slack_alerted_at is None:
            record.confirm_by = record.alerted_at = now
        found = CheckAnswer(record.id, record.message, record.school_ref)
    if yes:
        log.warning("safeguarding concern #%d confirmed by the sender: alerting", found.record_id)
        LogAlerter().alert(found.record_id, "designated safeguarding lead")
    else:
        log.info("possible safeguarding concern #%d: the sender said no child is at risk", found.record_id)
    return found


def purge_dismissed(database_url: str, before: dt.datetime) -> int:
    """Delete records the sender said were not a concern, once older than chat-log retention."""
    with unit_of_work(database_url) as session:
        return session.execute(
            delete(SafeguardingRecord).where(
                SafeguardingRecord.sender_answer == "no", SafeguardingRecord.created_at < before
            )
        ).rowcount


def escalate_unacknowledged(
    database_url: str,
    *,
    after: dt.timedelta,
    now: dt.datetime | None = None,
    alerter: Alerter | None = None,
) -> list[int]:
    """Repeat the alert to the deputy DSL for records nobody acknowledged in time."""
    now = now or utcnow()
    with unit_of_work(database_url) as session:
        overdue = list(
            session.execute(
                select(SafeguardingRecord).where(
                    SafeguardingRecord.acknowledged_at.is_(None),
                    SafeguardingRecord.deputy_alerted_at.is_(None),
                    SafeguardingRecord.alerted_at <= now - after,
                    or_(SafeguardingRecord.sender_answer.is_(None), SafeguardingRecord.sender_answer != "no"),
                )
            ).scalars()
        )
        for record in overdue:
            record.deputy_alerted_at = now
        ids = [r.id for r in overdue]
    for record_id in ids:
        (alerter or LogAlerter()).alert(record_id, "deputy designated safeguarding lead", repeat=True)
    return ids


def _check_dsl(profile: SchoolProfile, who: str) -> None:
    allowed = {p.name.strip().lower() for p in (profile.dsl, profile.deputy_dsl) if p.name}
    if who.strip().lower() not in allowed:
        raise NotTheDSL(
            "Only the designated safeguarding lead or deputy named in the school profile "
            "can read safeguarding records."
        )


def _view(record: SafeguardingRecord) -> RecordView:
    return RecordView(
        id=record.id,
        created_at=record.created_at,
        channel=record.channel,
        sender_ref=record.sender_ref,
        message=record.message,
        kinds=record.kinds,
        detected_by=record.detected_by,
        child_voice=record.child_voice,
        acknowledged_by=record.acknowledged_by,
        deputy_alerted=record.deputy_alerted_at is not None,
        sender_answer=record.sender_answer,
    )


def _dsl_school(session, who: str, school_ref: str | None) -> SchoolProfile:
    """The school whose records `who` asks for; in a trust the school must be named."""
    if school_ref is None and len(all_schools(session)) > 1:
        raise NotTheDSL("This deployment has several schools: name yours (--school REF).")
    profile = read_profile(session, school_ref)
    _check_dsl(profile, who)
    return profile


def list_records(
    database_url: str, who: str, *, open_only: bool = False, school_ref: str | None = None
) -> list[RecordView]:
    with unit_of_work(database_url) as session:
        profile = _dsl_school(session, who, school_ref)
        query = select(SafeguardingRecord).where(SafeguardingRecord.school_ref == profile.ref)
        if open_only:
            query = query.where(
                SafeguardingRecord.acknowledged_at.is_(None),
                or_(SafeguardingRecord.sender_answer.is_(None), SafeguardingRecord.sender_answer != "no"),
            )
        records = [_view(r) for r in session.execute(query.order_by(SafeguardingRecord.id)).scalars()]
        session.add(SafeguardingAccess(who=who, action="list"))
        return records


def _record_for_dsl(
    session, record_id: int, who: str, action: str, school_ref: str | None
) -> SafeguardingRecord:
    """One record of this school, after checking `who` is the DSL; the access is audited."""
    profile = _dsl_school(session, who, school_ref)
    record = session.get(SafeguardingRecord, record_id)
    if record is None or record.school_ref != profile.ref:
        raise LookupError(f"no safeguarding record #{record_id}")
    session.add(SafeguardingAccess(record_id=record_id, who=who, action=action))
    return record


def show_record(database_url: str, record_id: int, who: str, school_ref: str | None = None) -> RecordView:
    with unit_of_work(database_url) as session:
        return _view(_record_for_dsl(session, record_id, who, "show", school_ref))


def acknowledge(database_url: str, record_id: int, who: str, school_ref: str | None = None) -> RecordView:
    with unit_of_work(database_url) as session:
        record = _record_for_dsl(session, record_id, who, "acknowledge", school_ref)
        if record.acknowledged_at is None:
            record.acknowledged_at = utcnow()
            record.acknowledged_by = who
        return _view(record)

"""Telling the DSL and deputy about a safeguarding concern by Slack direct message.

Every concern is first recorded and logged (`knowledge.safeguarding.records`). When
Slack is configured, the scheduler also DMs everyone on the roster with the role `dsl`
or `deputy_dsl` - never a shared channel. The DM names the record and how to read it,
but not the message itself: the words stay in the safeguarding table, read through the
DSL-only command, so they are not copied into another company's system.

Alerts are at-least-once: a record is claimed (`slack_alerted_at` set) before sending
and released again if nobody could be told, so the next run tries again. For a
safeguarding alert a repeat is far better than a miss.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update

from knowledge.safeguarding.records import acknowledge
from knowledge.safeguarding.screening import GROUPS
from knowledge.schools.staff import UnknownStaff, find_staff
from knowledge.shared.db import unit_of_work
from knowledge.shared.models import SafeguardingRecord, StaffMember
from knowledge.text.uk_time import UK_TZ

log = logging.getLogger("sendbot.safeguarding")

LEAD_ROLES = ("dsl", "deputy_dsl")
CHANNEL_NAMES = {"rest": "the website", "socketio": "the web chat", "slack": "Slack", "telegram": "Telegram"}

# send(slack_user_id, text, blocks)
Send = Callable[[str, str, list | None], None]


def leads(session, school_ref: str, roles: tuple[str, ...] = LEAD_ROLES) -> list[StaffMember]:
    return list(
        session.execute(
            select(StaffMember).where(
                StaffMember.school_ref == school_ref,
                StaffMember.role.in_(roles),
                StaffMember.active.is_(True),
            )
        ).scalars()
    )


# Who may be at risk, in the words the DSL reads first, most urgent first (the record's
# `kinds` start with the groups); never the message's own words.
GROUP_WORDS = {
    "danger_now": "someone may be in danger now or a child missing",
    "self_harm": "the person writing may be at risk of suicide or self-harm",
    "domestic_abuse": "domestic abuse at home",
    "child_harm": "a child may be being harmed",
}


def at_risk_words(kinds: str) -> str:
    """'someone may be in danger now or a child missing; domestic abuse at home' from the kinds."""
    named = [k.strip() for k in (kinds or "").split(",")]
    return "; ".join(GROUP_WORDS[g] for g in GROUPS if g in named)


def alert_text(record: SafeguardingRecord, tz: str, *, repeat: bool) -> str:
    when = record.created_at.astimezone(ZoneInfo(tz))
    where = CHANNEL_NAMES.get(record.channel, record.channel)
    first = "NOT YET ACKNOWLEDGED: " if repeat else ""
    who = at_risk_words(record.kinds)
    return (
        f"{first}Safeguarding concern #{record.id}{f' ({who})' if who else ''}, "
        f"raised on {where} at {when:%H:%M} on {when:%d %B %Y}. "
        f'Please read it now: python -m bot.cli safeguarding show {record.id} --as "<your name>"'
    )


def alert_blocks(record_id: int, text: str) -> list[dict]:
    payload = "/acknowledge_concern" + json.dumps({"record_id": str(record_id)})
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {
            "type": "actions",
            "block_id": "safeguarding_ack",
            "elements": [
                {
                    "type": "button",
                    "action_id": "rasa_button_0",
                    "style": "primary",
                    "text": {"type": "plain_text", "text": "I've read it: acknowledge"},
                    "value": payload,
                }
            ],
        },
    ]


def send_new_alerts(database_url: str, *, now: dt.datetime, send: Send, tz: str = UK_TZ) -> int:
    """DM the DSL and deputy about every concern not yet sent by Slack. Returns records alerted."""
    with unit_of_work(database_url) as session:
        pending = list(
            session.execute(
                select(SafeguardingRecord.id).where(
                    SafeguardingRecord.slack_alerted_at.is_(None),
                    SafeguardingRecord.acknowledged_at.is_(None),
                    # a concern being checked with its sender waits for a yes or for time to run out
                    or_(SafeguardingRecord.confirm_by.is_(None), SafeguardingRecord.confirm_by <= now),
                    or_(SafeguardingRecord.sender_answer.is_(None), SafeguardingRecord.sender_answer != "no"),
                )
            ).scalars()
        )
    alerted = 0
    for record_id in pending:
        with unit_of_work(database_url) as session:
            claimed = session.execute(
                update(SafeguardingRecord)
                .where(SafeguardingRecord.id == record_id, SafeguardingRecord.slack_alerted_at.is_(None))
                .values(slack_alerted_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
            record = session.get(SafeguardingRecord, record_id)
            people = [m.slack_user_id for m in leads(session, record.school_ref)]
            text = alert_text(record, tz, repeat=False)
        if not claimed:
            continue
        if _send_to(people, text, alert_blocks(record_id, text), send):
            alerted += 1
        else:
            with unit_of_work(database_url) as session:  # nobody told: try again next run
                session.execute(
                    update(SafeguardingRecord)
                    .where(SafeguardingRecord.id == record_id)
                    .values(slack_alerted_at=None)
                    .execution_options(synchronize_session=False)
                )
    return alerted


def _send_to(people: list[str], text: str, blocks: list, send: Send) -> bool:
    told = 0
    for user_id in people:
        try:
            send(user_id, text, blocks)
            told += 1
        except Exception as error:
            log.error("safeguarding alert DM to a lead failed: %s", type(error).__name__)
    if not people:
        log.error("SAFEGUARDING: no DSL or deputy DSL on the staff roster to alert by Slack")
    return told > 0


class SlackAlerter:
    """The `Alerter` for escalations: repeats an unacknowledged alert to the deputy (and DSL)."""

    def __init__(self, database_url: str, send: Send, tz: str = UK_TZ) -> None:
        self.database_url, self.send, self.tz = database_url, send, tz

    def alert(self, record_id: int, to: str, *, repeat: bool = False) -> None:
        with unit_of_work(self.database_url) as session:
            record = session.get(SafeguardingRecord, record_id)
            people = [m.slack_user_id for m in leads(session, record.school_ref)]
            text = alert_text(record, self.tz, repeat=repeat)
        _send_to(people, text, alert_blocks(record_id, text), self.send)


def acknowledge_from_slack(database_url: str, record_id: int, slack_user_id: str) -> str:
    """The DSL or deputy clicked 'acknowledge' in Slack. Returns what to tell them.

    Checked against the roster of the record's own school, so a lead of another school
    in the same trust cannot acknowledge (or learn anything about) it.
    """
    with unit_of_work(database_url) as session:
        record = session.get(SafeguardingRecord, record_id)
        if record is None:
            return f"There is no safeguarding concern #{record_id}."
        school_ref = record.school_ref
        try:
            member = find_staff(session, school_ref, slack_user_id)
        except UnknownStaff:
            return f"There is no safeguarding concern #{record_id} for your school."
        name, role = member.name, member.role
    if role not in LEAD_ROLES:
        return "Only the designated safeguarding lead or deputy can acknowledge a safeguarding concern."
    try:
        acknowledge(database_url, record_id, name, school_ref)
    except (PermissionError, LookupError) as problem:
        return str(problem)
    return f"Thank you, {name}. Concern #{record_id} is acknowledged, so it won't be escalated."

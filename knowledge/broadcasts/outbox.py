"""The durable outbox: one row per recipient and message, so a broadcast survives a restart.

Lifecycle of a row (`outbox.status`)
------------------------------------
    queued -> sending -> sent | failed | queued (retry later) | skipped_opted_out
    queued -> cancelled (the SENCo cancelled the broadcast)
    sending -> unknown (the sender died mid-send: see below)

1. **Expansion** (`expand_due_sends`). When a `BroadcastSend` is due, its audience is
   resolved *then* (so opt-outs and leavers are honoured) and one row per recipient is
   inserted, with `not_before` moved out of the parents' quiet hours (and into staff hours,
   if the school set them). The rows and the send's move from `pending` to `queued` are one
   transaction, and the unique (send_id, channel, address) plus insert-if-absent make a
   repeated or concurrent expansion harmless: nobody can be queued twice for one send.
2. **Claim** (`claim_batch`). A sender moves rows from `queued` to `sending` with a
   conditional UPDATE (`WHERE status = 'queued'`) and commits *before* any network call, so
   two senders never own the same row. The sender claims only as many rows as it is about
   to send (its in-flight limit), never a whole broadcast.
3. **Check** (`check_before_send`), right before sending: a parent who has opted out since
   the row was queued is `skipped_opted_out`; a parent's row that has drifted into quiet
   hours (a backlog, a long 429) goes back to `queued` until the morning.
4. **Outcome**, in its own short transaction right after the call returns: `mark_sent`;
   `mark_failed` for a permanent failure (blocked the bot, chat not found: never retried,
   and the person is marked unreachable so later broadcasts leave them out); `mark_retry`
   for a temporary one (back to `queued` later, `failed` after `MAX_ATTEMPTS`).

"No recipient gets it twice and none is skipped"
-------------------------------------------------
- A row is only ever sent by whoever moved it to `sending`, and only once: after the call
  it is `sent`/`failed`/re-queued in the same process. Rows are never deleted.
- **Graceful stop** (SIGTERM/SIGINT, a deploy, `make run` stopped with Ctrl-C): the sender
  stops claiming, lets the calls already made finish and records them, and puts rows it had
  claimed but not yet sent back to `queued` (`release`). A normal restart therefore leaves
  no row in `sending`, and the next run carries on with the rest: nobody is skipped.
- **Hard stop** (SIGKILL, power loss, OOM): rows left in `sending` are ambiguous: the
  request may or may not have reached Telegram. `recover_after_crash` (run at sender
  start-up) marks them `unknown` and they are **not resent**, because for a school a
  duplicate is worse than a gap: parents learn to ignore a bot that repeats itself, and a
  missed CPD reminder is visible to the SENCo, who sees "N not confirmed" in the delivery
  summary and can resend by hand. At most the sender's in-flight limit (a handful of rows)
  can be in this state. A school that prefers at-least-once can pass `resend_unknown=True`
  (the sender's `resend_unknown` option), which re-queues them instead.
- Only one sender process per database: `recover_after_crash` treats every `sending` row
  as abandoned, which is true at start-up when the sender is the only one (`older_than`
  narrows it to rows claimed long ago, for a deployment that runs a second one).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Callable, Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from knowledge.broadcasts import subscribers
from knowledge.broadcasts.audiences import resolve
from knowledge.broadcasts.requests import NOW as SEND_NOW
from knowledge.shared.db import unit_of_work
from knowledge.shared.models import Broadcast, BroadcastSend, OutboxMessage, StaffMember, Subscriber
from knowledge.text.markup import slack_escape
from knowledge.text.uk_time import UK_TZ

MAX_ATTEMPTS = 5
ERROR_CHARS = 300
UNKNOWN_DETAIL = "interrupted while sending: may or may not have arrived; not resent, to avoid a duplicate"
CANCELLED_DETAIL = "cancelled by the SENCo"
FINAL = ("sent", "failed", "skipped_opted_out", "unknown", "cancelled")
OPEN = ("queued", "sending")

log = logging.getLogger(__name__)


# --- When a message may go out -----------------------------------------------------------------


def _clock(value: str) -> dt.time:
    hours, minutes = value.strip().split(":")
    return dt.time(int(hours), int(minutes))


@dataclass(frozen=True)
class SendHours:
    """Parents' quiet hours (default 20:00 to 07:30 UK time) and, optionally, staff hours.

    A message due in quiet hours waits until they end; a staff message due outside
    `staff_hours` waits until they next begin (on a school day, when `school_day` is given).
    Equal quiet start and end means no quiet hours.
    """

    quiet_start: str = "20:00"
    quiet_end: str = "07:30"
    staff_hours: tuple[str, str] | None = None
    tz: str = UK_TZ
    school_day: Callable[[dt.date], bool] | None = None

    def allowed_from(self, kind: str, moment: dt.datetime) -> dt.datetime:
        """The first moment at or after `moment` (UTC) when a message to this kind of person may go."""
        if kind == "parent":
            return self._after_quiet_hours(moment)
        if self.staff_hours is not None:
            return self._within_staff_hours(moment)
        return moment

    def _after_quiet_hours(self, moment: dt.datetime) -> dt.datetime:
        start, end = _clock(self.quiet_start), _clock(self.quiet_end)
        if start == end:
            return moment
        zone = ZoneInfo(self.tz)
        local = moment.astimezone(zone)
        now_time = local.time()
        if start > end:  # over midnight, the usual case
            if now_time >= start:
                day = local.date() + dt.timedelta(days=1)
            elif now_time < end:
                day = local.date()
            else:
                return moment
        elif start <= now_time < end:
            day = local.date()
        else:
            return moment
        return dt.datetime.combine(day, end, tzinfo=zone).astimezone(dt.timezone.utc)

    def _within_staff_hours(self, moment: dt.datetime) -> dt.datetime:
        assert self.staff_hours is not None
        start, end = (_clock(v) for v in self.staff_hours)
        zone = ZoneInfo(self.tz)
        local = moment.astimezone(zone)
        day = local.date()
        for _ in range(60):  # the longest school holiday is well under 60 days
            is_school_day = self.school_day(day) if self.school_day else True
            if is_school_day:
                if day == local.date() and start <= local.time() < end:
                    return moment
                if day > local.date() or local.time() < start:
                    return dt.datetime.combine(day, start, tzinfo=zone).astimezone(dt.timezone.utc)
            day += dt.timedelta(days=1)
        return moment

    @classmethod
    def from_settings(cls, settings: object) -> SendHours:
        """From the bot's settings, when it has them (PARENT_QUIET_HOURS, STAFF_SEND_HOURS)."""
        quiet = str(getattr(settings, "parent_quiet_hours", "") or "20:00-07:30")
        staff = str(getattr(settings, "staff_send_hours", "") or "")
        quiet_start, quiet_end = (part.strip() for part in quiet.split("-", 1))
        staff_hours = tuple(p.strip() for p in staff.split("-", 1)) if staff else None
        return cls(quiet_start, quiet_end, staff_hours, getattr(settings, "timezone", UK_TZ))  # type: ignore[arg-type]


# --- Expansion ------------------------------------------------------------------------------------


def expand_due_sends(
    database_url: str,
    now: dt.datetime,
    *,
    quiet_start: str = "20:00",
    quiet_end: str = "07:30",
    staff_hours: tuple[str, str] | None = None,
    tz: str = UK_TZ,
    hours: SendHours | None = None,
    limit: int = 50,
) -> int:
    """Queue one outbox row per recipient for every send that is due. Returns the rows made."""
    hours = hours or SendHours(quiet_start, quiet_end, staff_hours, tz)
    with unit_of_work(database_url) as session:
        due = list(
            session.execute(
                select(BroadcastSend.id)
                .join(Broadcast, Broadcast.id == BroadcastSend.broadcast_id)
                .where(
                    BroadcastSend.status == "pending",
                    BroadcastSend.due_at <= now,
                    Broadcast.status == "scheduled",
                )
                .order_by(BroadcastSend.due_at, BroadcastSend.id)
                .limit(limit)
            ).scalars()
        )
    return sum(_expand_one(database_url, send_id, now, hours) for send_id in due)


def _expand_one(database_url: str, send_id: int, now: dt.datetime, hours: SendHours) -> int:
    """One send, in one transaction: claim it, resolve the audience, insert the rows.

    The send is claimed first (pending -> queued, a conditional UPDATE), so the transaction
    holds the write lock from its first statement and a second expander finds nothing to do.
    """
    with unit_of_work(database_url) as session:
        claimed = session.execute(
            update(BroadcastSend)
            .where(BroadcastSend.id == send_id, BroadcastSend.status == "pending")
            .values(status="queued", queued_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            return 0
        send = session.get(BroadcastSend, send_id)
        broadcast = session.get(Broadcast, send.broadcast_id)
        if broadcast.status != "scheduled":
            send.status = "cancelled"
            return 0
        skip = _skip_reason(session, send, broadcast, now)
        if skip is not None:
            log.info("broadcast %s send %s not sent: %s", broadcast.id, send.id, skip)
            send.status = "skipped"
            return 0
        start = max(send.due_at, now)
        rows = [
            {
                "send_id": send.id,
                "broadcast_id": broadcast.id,
                "school_ref": broadcast.school_ref,
                "channel": recipient.channel,
                "address": recipient.address,
                "text": text_for_channel(broadcast.text, recipient.channel),
                "not_before": hours.allowed_from(recipient.kind, start),
                "status": "queued",
                "attempts": 0,
            }
            for recipient in resolve(session, broadcast.school_ref, broadcast.audience)
        ]
        return _insert_absent(session, send.id, rows)


def _skip_reason(session: Session, send: BroadcastSend, broadcast: Broadcast, now: dt.datetime) -> str | None:
    """Why a late reminder should not go at all (None: send it)."""
    if send.offset_minutes == SEND_NOW or broadcast.event_at is None:
        return None
    if now >= broadcast.event_at:
        return "the event had already started"
    later_due = session.execute(
        select(BroadcastSend.id).where(
            BroadcastSend.broadcast_id == broadcast.id,
            BroadcastSend.id != send.id,
            BroadcastSend.offset_minutes != SEND_NOW,
            BroadcastSend.status == "pending",
            BroadcastSend.due_at > send.due_at,
            BroadcastSend.due_at <= now,
        )
    ).first()
    return "overtaken by a later reminder that is also due" if later_due else None


def text_for_channel(text: str, channel: str) -> str:
    """Slack reads &, < and > as markup ("<!channel>"): typed text is escaped to stay plain."""
    return slack_escape(text) if channel == "slack" else text


def _insert_absent(session: Session, send_id: int, rows: list[dict]) -> int:
    """Insert the rows whose (send_id, channel, address) is not there yet; returns how many were new."""
    if not rows:
        return 0
    before = _count_rows(session, send_id)
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
        statement = insert(OutboxMessage).on_conflict_do_nothing(
            index_elements=["send_id", "channel", "address"]
        )
        session.execute(statement, rows)
    else:  # other databases: read what is there first (still safe: the unique constraint stands)
        present = set(
            session.execute(
                select(OutboxMessage.channel, OutboxMessage.address).where(OutboxMessage.send_id == send_id)
            ).all()
        )
        session.add_all(
            OutboxMessage(**row) for row in rows if (row["channel"], row["address"]) not in present
        )
        session.flush()
    return _count_rows(session, send_id) - before


def _count_rows(session: Session, send_id: int) -> int:
    return session.execute(
        select(func.count(OutboxMessage.id)).where(OutboxMessage.send_id == send_id)
    ).scalar_one()


# --- Claiming and recording outcomes ---------------------------------------------------------------


def claim_batch(database_url: str, now: dt.datetime, limit: int, channel: str) -> list[OutboxMessage]:
    """Up to `limit` due rows of `channel`, now owned by the caller (`sending`), oldest first."""
    if limit <= 0:
        return []
    with unit_of_work(database_url) as session:
        candidates = list(
            session.execute(
                select(OutboxMessage.id)
                .where(
                    OutboxMessage.status == "queued",
                    OutboxMessage.channel == channel,
                    OutboxMessage.not_before <= now,
                )
                .order_by(OutboxMessage.not_before, OutboxMessage.id)
                .limit(limit)
            ).scalars()
        )
        claimed = [
            row_id
            for row_id in candidates
            if session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id, OutboxMessage.status == "queued")
                .values(status="sending", claimed_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
            == 1
        ]
        if not claimed:
            return []
        return list(
            session.execute(
                select(OutboxMessage)
                .where(OutboxMessage.id.in_(claimed))
                .order_by(OutboxMessage.not_before, OutboxMessage.id)
            ).scalars()
        )


def _finish(database_url: str, message_id: int, from_status: Iterable[str], **values) -> bool:
    with unit_of_work(database_url) as session:
        return (
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id, OutboxMessage.status.in_(tuple(from_status)))
                .values(**values)
                .execution_options(synchronize_session=False)
            ).rowcount
            == 1
        )


def mark_sent(database_url: str, message_id: int, now: dt.datetime) -> bool:
    """Delivered. (A row marked `unknown` while a slow call was still going is corrected to sent.)"""
    return _finish(
        database_url, message_id, ("sending", "unknown"), status="sent", sent_at=now, last_error=None
    )


def mark_failed(
    database_url: str, message_id: int, reason: str, now: dt.datetime, *, unreachable: bool = False
) -> bool:
    """Failed for good; with `unreachable`, the person is left out of later broadcasts until they return."""
    with unit_of_work(database_url) as session:
        done = (
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id, OutboxMessage.status == "sending")
                .values(status="failed", last_error=reason[:ERROR_CHARS])
                .execution_options(synchronize_session=False)
            ).rowcount
            == 1
        )
        if done and unreachable:
            row = session.get(OutboxMessage, message_id)
            kind = "staff" if _is_staff(session, row.school_ref, row.channel, row.address) else "parent"
            subscribers.get_or_create(session, row.school_ref, row.channel, row.address, kind=kind)
            subscribers.mark_unreachable(session, row.school_ref, row.channel, row.address, now)
        return done


def mark_retry(
    database_url: str,
    message_id: int,
    not_before: dt.datetime,
    error: str,
    *,
    max_attempts: int = MAX_ATTEMPTS,
) -> str:
    """A temporary failure: back to `queued` from `not_before`, or `failed` after `max_attempts`.

    Returns the new status ("queued" or "failed"), or "" if the row was not ours.
    """
    with unit_of_work(database_url) as session:
        row = session.get(OutboxMessage, message_id)
        if row is None or row.status != "sending":
            return ""
        attempts = row.attempts + 1
        if attempts >= max_attempts:
            values = {
                "status": "failed",
                "last_error": f"could not be delivered after {attempts} tries ({error})",
            }
        else:
            values = {"status": "queued", "not_before": not_before, "last_error": error, "claimed_at": None}
        values["last_error"] = values["last_error"][:ERROR_CHARS]
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == "sending")
            .values(attempts=attempts, **values)
            .execution_options(synchronize_session=False)
        )
        return values["status"]


def release(database_url: str, message_ids: Iterable[int]) -> int:
    """Rows claimed but not sent (a graceful stop): back to `queued`, no attempt counted."""
    ids = list(message_ids)
    if not ids:
        return 0
    with unit_of_work(database_url) as session:
        return session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "sending")
            .values(status="queued", claimed_at=None)
            .execution_options(synchronize_session=False)
        ).rowcount


def cancel_queued(session: Session, broadcast_id: int) -> int:
    """The broadcast was cancelled: rows not yet claimed are not sent (rows in flight finish)."""
    return session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.broadcast_id == broadcast_id, OutboxMessage.status == "queued")
        .values(status="cancelled", last_error=CANCELLED_DETAIL)
        .execution_options(synchronize_session=False)
    ).rowcount


def retext_queued(session: Session, broadcast_id: int, text: str) -> int:
    """A corrected text reaches everyone not sent to yet (rows still `queued`)."""
    changed = 0
    for channel in session.execute(
        select(OutboxMessage.channel)
        .where(OutboxMessage.broadcast_id == broadcast_id, OutboxMessage.status == "queued")
        .distinct()
    ).scalars():
        changed += session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.broadcast_id == broadcast_id,
                OutboxMessage.status == "queued",
                OutboxMessage.channel == channel,
            )
            .values(text=text_for_channel(text, channel))
            .execution_options(synchronize_session=False)
        ).rowcount
    return changed


# --- Checks right before sending --------------------------------------------------------------------


def skip_if_opted_out(
    database_url: str, messages: list[OutboxMessage], now: dt.datetime
) -> list[OutboxMessage]:
    """Mark rows of people who opted out since they were queued `skipped_opted_out`; return the rest."""
    with unit_of_work(database_url) as session:
        return _gate(session, messages, now, hours=None)


def check_before_send(
    database_url: str, messages: list[OutboxMessage], now: dt.datetime, hours: SendHours
) -> list[OutboxMessage]:
    """The rows that may go now: opted-out people skipped, parents in quiet hours re-queued for later."""
    with unit_of_work(database_url) as session:
        return _gate(session, messages, now, hours=hours)


def _gate(
    session: Session, messages: list[OutboxMessage], now: dt.datetime, *, hours: SendHours | None
) -> list[OutboxMessage]:
    if not messages:
        return []
    found = {
        (s.school_ref, s.channel, s.address): s
        for s in session.execute(
            select(Subscriber).where(
                Subscriber.address.in_({m.address for m in messages}),
                Subscriber.school_ref.in_({m.school_ref for m in messages}),
            )
        ).scalars()
    }
    ready = []
    for message in messages:
        subscriber = found.get((message.school_ref, message.channel, message.address))
        if _opted_out(subscriber):
            _finish_in(session, message.id, status="skipped_opted_out", last_error="stopped reminders")
            continue
        if hours is not None:
            kind = "parent" if subscriber is not None and subscriber.kind == "parent" else "staff"
            allowed = hours.allowed_from(kind, now)
            if allowed > now:
                _finish_in(session, message.id, status="queued", not_before=allowed, claimed_at=None)
                continue
        ready.append(message)
    return ready


def _opted_out(subscriber: Subscriber | None) -> bool:
    """Parents must be opted in; staff get school messages unless they explicitly opted out."""
    if subscriber is None:
        return False
    if subscriber.kind == "parent":
        return not subscriber.opted_in
    return not subscriber.opted_in and subscriber.opted_out_at is not None


def _finish_in(session: Session, message_id: int, **values) -> None:
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == "sending")
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def _is_staff(session: Session, school_ref: str, channel: str, address: str) -> bool:
    return (
        channel == "slack"
        and session.execute(
            select(StaffMember.id).where(
                StaffMember.school_ref == school_ref, StaffMember.slack_user_id == address
            )
        ).first()
        is not None
    )


# --- After a crash ----------------------------------------------------------------------------------


def recover_after_crash(
    database_url: str,
    now: dt.datetime,
    *,
    resend_unknown: bool = False,
    older_than: dt.timedelta = dt.timedelta(0),
) -> int:
    """Rows a dead sender left in `sending`: `unknown` (not resent), or re-queued with `resend_unknown`.

    Returns how many rows were found. See the module docstring for why `unknown` is the default.
    """
    values = (
        {"status": "queued", "claimed_at": None}
        if resend_unknown
        else {"status": "unknown", "last_error": UNKNOWN_DETAIL}
    )
    with unit_of_work(database_url) as session:
        found = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == "sending", OutboxMessage.claimed_at <= now - older_than)
            .values(**values)
            .execution_options(synchronize_session=False)
        ).rowcount
    if found:
        log.warning("%d outbox rows were interrupted mid-send: %s", found, values["status"])
    return found


def recently_sent(
    database_url: str, channel: str, now: dt.datetime, within_s: float
) -> dict[str, dt.datetime]:
    """Address -> last time it was sent to, for sends of the last `within_s` seconds on `channel`.

    A restarted sender starts from this, so it does not message a chat again within the
    channel's per-chat interval just because it forgot the previous message.
    """
    since = now - dt.timedelta(seconds=within_s)
    with unit_of_work(database_url) as session:
        return dict(
            session.execute(
                select(OutboxMessage.address, func.max(OutboxMessage.sent_at))
                .where(OutboxMessage.channel == channel, OutboxMessage.sent_at > since)
                .group_by(OutboxMessage.address)
            ).all()
        )


def due_work(database_url: str, now: dt.datetime, *, channels: list[str] | None = None) -> bool:
    """True when a row (of one of `channels`) is ready to claim or a send is due to be expanded."""
    with unit_of_work(database_url) as session:
        query = select(OutboxMessage.id).where(
            OutboxMessage.status == "queued", OutboxMessage.not_before <= now
        )
        if channels is not None:
            query = query.where(OutboxMessage.channel.in_(channels))
        row = session.execute(query).first()
        if row is not None:
            return True
        return (
            session.execute(
                select(BroadcastSend.id)
                .join(Broadcast, Broadcast.id == BroadcastSend.broadcast_id)
                .where(
                    BroadcastSend.status == "pending",
                    BroadcastSend.due_at <= now,
                    Broadcast.status == "scheduled",
                )
            ).first()
            is not None
        )

"""The SENCo's broadcasts: draft, preview, confirm, edit, move, cancel, list and the delivery summary.

Why it is built this way
------------------------
A broadcast is written in Slack, so the risk is a message to the wrong people or with the
wrong words. Nothing is sent from a draft: the SENCo first sees a `preview` with the exact
text, the number of recipients per channel, every send with its time, and warnings (too
long; looks like it names a pupil; parents' copy held back by quiet hours). Only `confirm`
makes the sends (`BroadcastSend` rows); the outbox sender (`bot/sender.py`) does the rest.

Only the SENCo or an admin may create, confirm, edit, move, cancel or list broadcasts
(`knowledge.schools.staff.require_slot_manager`), checked here in the domain layer, and every change
is written to `broadcast_audit` with who did it and when. A teacher gets `NotAllowed`.

Sends are identified by their offset before the event (see `knowledge.broadcasts.requests`:
minutes, or `NOW` / `MORNING_OF`). A send whose time has already passed when the broadcast
is confirmed or moved is not made, and the SENCo is told; a send that is due while the bot
is down is still sent late, unless the event has started or a later reminder is also due
(`knowledge.broadcasts.outbox`).

Editing or moving a broadcast changes the text of messages not yet sent (still `queued`,
for example parents' copies waiting for the morning) as well as of sends to come: a wrong
time is worse than two versions of one message. Moving the event also replaces its old
date and time in the text when the text was built from the request.

The delivery summary ("412 of 415 delivered, 3 failed (blocked the bot)") is built from
the outbox rows. The sender DMs it to the SENCo once the whole broadcast is finished;
`claim_finished` sets `summary_sent_at` with a conditional UPDATE so it is claimed once.

Why about 650 lines: one broadcast's whole life (draft, preview, confirm, edit, cancel,
delivery summary) in one place, because every step applies the same rules.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from knowledge.broadcasts import outbox
from knowledge.broadcasts.audiences import AudienceError, describe, normalise, resolve
from knowledge.broadcasts.requests import NOW, BroadcastRequest, due_at, offset_label
from knowledge.schools.staff import require_slot_manager
from knowledge.shared.db import unit_of_work
from knowledge.shared.models import Broadcast, BroadcastAudit, BroadcastSend, OutboxMessage, StaffMember
from knowledge.text.uk_time import UK_TZ, clock_words, date_words, format_uk

WARN_TEXT_CHARS = 1000  # longer is a lot to read on a phone
MAX_TEXT_CHARS = 4000  # Telegram's own limit is 4096
EDITABLE = ("draft", "scheduled")
DETAIL_CHARS = 500


class BroadcastNotFound(LookupError):
    """No broadcast with that number at this school."""

    def __init__(self, broadcast_id: int) -> None:
        super().__init__(f"I can't find broadcast {broadcast_id}.")


class BroadcastRefused(ValueError):
    """A change that can't be made; the message is safe to show to the SENCo."""


class PlannedSend(NamedTuple):
    label: str  # "the day before"
    due_at: dt.datetime  # UTC


@dataclass(frozen=True)
class Preview:
    text: str
    recipients_by_channel: dict[str, int]
    sends: list[PlannedSend]
    warnings: list[str]
    audience: str = ""  # in words

    @property
    def recipients(self) -> int:
        return sum(self.recipients_by_channel.values())

    def as_text(self, tz: str = UK_TZ) -> str:
        """The preview as the SENCo reads it in Slack."""
        counts = ", ".join(f"{n} on {channel.title()}" for channel, n in self.recipients_by_channel.items())
        sends = "; ".join(f"{s.label} ({format_uk(s.due_at, tz)})" for s in self.sends) or "none"
        lines = [
            f"Message: \u201c{self.text}\u201d",
            f"To: {self.audience} ({self.recipients} {'person' if self.recipients == 1 else 'people'}"
            f"{': ' + counts if counts else ''})",
            f"Sends: {sends}",
        ]
        lines += [f"\u26a0\ufe0f {warning}" for warning in self.warnings]
        return "\n".join(lines)


@dataclass(frozen=True)
class Confirmation:
    broadcast: Broadcast
    sends: list[PlannedSend]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Cancellation:
    broadcast: Broadcast
    sends_cancelled: int
    messages_cancelled: int


@dataclass(frozen=True)
class ScheduledBroadcast:
    id: int
    text: str
    audience: str
    status: str
    event_at: dt.datetime | None
    next_send: PlannedSend | None
    sends_to_come: int


@dataclass(frozen=True)
class FinishedBroadcast:
    """A broadcast whose delivery summary this caller now owns and should DM to its author."""

    broadcast_id: int
    slack_user_id: str
    text: str


# --- Checks on the text ---------------------------------------------------------------------------

_NOT_NAMES = set(
    """Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May June
    July August September October November December Year Years Reception Nursery Reminder The This That
    These Those Our Your All Any Each Every Some No Please Thank Thanks Parents Parent Carers Staff
    Children Child Pupils Pupil Students Student Class Classes Mr Mrs Ms Miss Dr Sir SENCo Senco SEND
    EHCP Christmas Easter Autism Dyslexia Term Half School Teachers Teacher Today Tomorrow Key Stage
    We He She They His Her Their It Its If When Who What Where Also And But Or So Sports Science Maths
    English Art Music Drama Forest Nativity Harvest Head Deputy Office""".split()
)
_TITLE_BEFORE = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Sir|Madam)\.?\s+$")  # staff, not pupils
_NAME = r"(?P<name>[A-Z][a-z]{1,20}(?:-[A-Z][a-z]{1,20})?)"
_YEAR = r"(?i:year\s*\d{1,2}|yr\s*\d{1,2}|y\d{1,2}|reception|nursery)"
_PUPIL_PATTERNS = [
    # "pupil Jayden", "my son Jayden", "a child called Jayden"
    re.compile(
        r"\b(?i:pupil|child|son|daughter|student|boy|girl|grandson|granddaughter|brother|sister)"
        r"(?:\s+(?i:called|named))?\s+" + _NAME
    ),
    # "Jayden in Year 4", "Jayden from Oak class", "Jayden in class"
    re.compile(
        _NAME + r"\s+(?i:in|from)\s+(?:" + _YEAR + r"|(?i:class)\b|[A-Z][a-z]+\s+(?i:class)\b|\d[A-Z]\b)"
    ),
    # "Year 4's Jayden"
    re.compile(r"\b" + _YEAR + r"(?:'s|\u2019s)\s+" + _NAME),
    # "Jayden's mum", "Jayden's EHCP"
    re.compile(
        _NAME + r"(?:'s|\u2019s)\s+(?i:mum|dad|mother|father|parents?|carers?|family|ehcp|iep|plan|diagnosis"
        r"|needs|behaviour|teacher|ta|support|reading|medication)\b"
    ),
    # "Jayden (Y4)", "Jayden, aged 8"
    re.compile(_NAME + r"\s*(?:\(\s*" + _YEAR + r"|,?\s+(?i:aged?)\s+\d)"),
]


def text_warnings(text: str) -> list[str]:
    """Warnings (never a block) about the text: too long, or it may name a pupil."""
    warnings = []
    if len(text) > WARN_TEXT_CHARS:
        warnings.append(
            f"The message is {len(text):,} characters long. Over {WARN_TEXT_CHARS:,} is a lot to read on a "
            "phone: could it be shorter?"
        )
    names = pupil_names(text)
    if names:
        quoted = ", ".join(f"\u201c{n}\u201d" for n in names)
        warnings.append(
            f"This may name a pupil ({quoted}). It goes to many people, so please leave children's names out."
        )
    return warnings


def pupil_names(text: str) -> list[str]:
    """Capitalised first names next to words about a child ("pupil Jayden", "Year 4's Jayden")."""
    found: list[str] = []
    for pattern in _PUPIL_PATTERNS:
        for match in pattern.finditer(text):
            name = match["name"]
            staff_title = _TITLE_BEFORE.search(text[: match.start("name")])
            if name.split("-")[0] not in _NOT_NAMES and name not in found and not staff_title:
                found.append(name)
    return found


def _check_text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise BroadcastRefused("The message is empty. What should it say?")
    if len(text) > MAX_TEXT_CHARS:
        raise BroadcastRefused(
            f"The message is {len(text):,} characters; the most I can send is {MAX_TEXT_CHARS:,}. "
            "Please shorten it or link to a document."
        )
    return text


# --- Creating and previewing --------------------------------------------------------------------


def create_draft(
    session: Session, manager: StaffMember, request: BroadcastRequest, now: dt.datetime
) -> Broadcast:
    """A draft from the SENCo's request: nothing is sent until it is confirmed."""
    require_slot_manager(manager)
    try:
        audience = normalise(request.audience)
    except AudienceError as error:
        raise BroadcastRefused(str(error)) from None
    if (
        request.offsets_minutes
        and any(o != NOW for o in request.offsets_minutes)
        and request.event_at is None
    ):
        raise BroadcastRefused("Reminders before an event need the event's day and time.")
    broadcast = Broadcast(
        school_ref=manager.school_ref,
        text=_check_text(request.text),
        event_at=request.event_at,
        offsets_minutes=list(request.offsets_minutes),
        audience=audience,
        status="draft",
        created_by=manager.id,
        created_at=now,
        updated_at=now,
    )
    session.add(broadcast)
    session.flush()
    _audit(session, broadcast, manager, "create", f"to {describe(audience)}", now)
    return broadcast


def preview(
    session: Session,
    broadcast: Broadcast,
    now: dt.datetime,
    *,
    hours: outbox.SendHours | None = None,
    tz: str = UK_TZ,
) -> Preview:
    """Exactly what would be sent, to how many people per channel, and when; with warnings."""
    hours = hours or outbox.SendHours(tz=tz)
    recipients = resolve(session, broadcast.school_ref, broadcast.audience)
    by_channel = dict(sorted(Counter(r.channel for r in recipients).items()))
    warnings = text_warnings(broadcast.text)
    if broadcast.status == "draft":
        planned = _plan(broadcast, now, tz)
        sends = [p for offset, p in planned if offset == NOW or p.due_at > now]
        warnings += [_past_note(p) for offset, p in planned if offset != NOW and p.due_at <= now]
    else:
        sends = [
            PlannedSend(offset_label(s.offset_minutes), s.due_at)
            for s in _sends(session, broadcast.id)
            if s.status == "pending"
        ]
    if any(r.kind == "parent" for r in recipients):
        for send in sends:
            allowed = hours.allowed_from("parent", max(send.due_at, now))
            if allowed > max(send.due_at, now):
                warnings.append(
                    f"Parents get the \u201c{send.label}\u201d message at {format_uk(allowed, tz)}, "
                    f"after quiet hours ({hours.quiet_start} to {hours.quiet_end})."
                )
    if not recipients:
        warnings.append("Nobody in this audience can receive it at the moment.")
    return Preview(broadcast.text, by_channel, sends, warnings, describe(broadcast.audience))


def _plan(broadcast: Broadcast, now: dt.datetime, tz: str) -> list[tuple[int, PlannedSend]]:
    offsets = broadcast.offsets_minutes or [NOW]
    planned = [(o, PlannedSend(offset_label(o), due_at(o, broadcast.event_at, now, tz))) for o in offsets]
    return sorted(planned, key=lambda item: item[1].due_at)


def _past_note(send: PlannedSend) -> str:
    return f"The \u201c{send.label}\u201d reminder would have been due already, so it won't be sent."


# --- Confirming, editing, moving, cancelling ---------------------------------------------------------


def confirm(
    session: Session, manager: StaffMember, broadcast_id: int, now: dt.datetime, *, tz: str = UK_TZ
) -> Confirmation:
    """Schedule the sends of a draft. Sends already in the past are left out, with a note."""
    require_slot_manager(manager)
    broadcast = _get(session, manager, broadcast_id)
    if broadcast.status == "scheduled":
        sends = [
            PlannedSend(offset_label(s.offset_minutes), s.due_at)
            for s in _sends(session, broadcast.id)
            if s.status in ("pending", "queued")
        ]
        return Confirmation(broadcast, sends, ["It was already confirmed."])
    if broadcast.status != "draft":
        raise BroadcastRefused(f"That broadcast is {broadcast.status}, so it can't be confirmed.")
    if broadcast.event_at is not None and broadcast.event_at <= now and broadcast.offsets_minutes:
        raise BroadcastRefused("The event has already started, so there is nothing to remind people about.")
    planned = _plan(broadcast, now, tz)
    to_make = [(o, p) for o, p in planned if o == NOW or p.due_at > now]
    notes = [_past_note(p) for o, p in planned if o != NOW and p.due_at <= now]
    if not to_make:
        raise BroadcastRefused(
            "Every reminder time has already passed. Say \u201csend now\u201d to send it straight away."
        )
    for offset, planned_send in to_make:
        session.add(
            BroadcastSend(
                broadcast_id=broadcast.id, offset_minutes=offset, due_at=planned_send.due_at, status="pending"
            )
        )
    broadcast.status, broadcast.updated_at = "scheduled", now
    session.flush()
    sends = [p for _, p in to_make]
    detail = "; ".join(f"{p.label} at {p.due_at:%Y-%m-%d %H:%M}Z" for p in sends)
    _audit(session, broadcast, manager, "confirm", detail, now)
    return Confirmation(broadcast, sends, notes)


def edit_text(
    session: Session, manager: StaffMember, broadcast_id: int, text: str, now: dt.datetime
) -> Broadcast:
    """New words for a draft or scheduled broadcast (and for its messages not yet sent)."""
    require_slot_manager(manager)
    broadcast = _editable(session, manager, broadcast_id)
    old_length = len(broadcast.text)
    broadcast.text, broadcast.updated_at = _check_text(text), now
    requeued = outbox.retext_queued(session, broadcast.id, broadcast.text)
    detail = f"text {old_length} -> {len(broadcast.text)} chars" + (
        f"; {requeued} queued updated" if requeued else ""
    )
    _audit(session, broadcast, manager, "edit", detail, now)
    return broadcast


def reschedule(
    session: Session,
    manager: StaffMember,
    broadcast_id: int,
    event_at: dt.datetime,
    now: dt.datetime,
    *,
    offsets_minutes: list[int] | None = None,
    tz: str = UK_TZ,
) -> Confirmation:
    """Move the event (and, if given, change the reminders); sends to come are moved with it."""
    require_slot_manager(manager)
    broadcast = _editable(session, manager, broadcast_id)
    if event_at <= now:
        raise BroadcastRefused("That time has already passed.")
    offsets = list(broadcast.offsets_minutes if offsets_minutes is None else offsets_minutes)
    sends = {s.offset_minutes: s for s in _sends(session, broadcast.id)}
    if broadcast.status == "scheduled" and (not offsets or offsets == [NOW]):
        raise BroadcastRefused("That message was sent straight away, so there is nothing to move.")
    notes = _retext_for_new_time(broadcast, event_at, tz)
    old_event = broadcast.event_at
    broadcast.event_at, broadcast.offsets_minutes, broadcast.updated_at = event_at, offsets, now
    planned: list[PlannedSend] = []
    for offset in offsets:
        send_at = due_at(offset, event_at, now, tz)
        label = offset_label(offset)
        row = sends.get(offset)
        if offset == NOW:
            continue
        if send_at <= now:
            notes.append(_past_note(PlannedSend(label, send_at)))
            if row is not None and row.status == "pending":
                row.status = "cancelled"
            continue
        planned.append(PlannedSend(label, send_at))
        if broadcast.status != "scheduled":
            continue
        if row is None:
            session.add(BroadcastSend(broadcast_id=broadcast.id, offset_minutes=offset, due_at=send_at))
        elif row.status in ("pending", "cancelled", "skipped"):
            row.status, row.due_at, row.queued_at = "pending", send_at, None
        else:
            notes.append(
                f"The \u201c{label}\u201d message was already sent for the old time; it isn't sent again."
            )
            planned.pop()
    for offset, row in sends.items():
        if offset not in offsets and row.status == "pending":
            row.status = "cancelled"
    if broadcast.status == "scheduled":
        outbox.retext_queued(session, broadcast.id, broadcast.text)
    session.flush()
    old_words = f"{old_event:%Y-%m-%d %H:%M}Z" if old_event else "no time"
    _audit(session, broadcast, manager, "reschedule", f"{old_words} -> {event_at:%Y-%m-%d %H:%M}Z", now)
    return Confirmation(broadcast, sorted(planned, key=lambda p: p.due_at), notes)


def _retext_for_new_time(broadcast: Broadcast, event_at: dt.datetime, tz: str) -> list[str]:
    """Replace the old date and time in the text with the new ones; a note if they weren't found."""
    if broadcast.event_at is None:
        return []
    old_full, new_full = format_uk(broadcast.event_at, tz), format_uk(event_at, tz)
    if old_full in broadcast.text:
        broadcast.text = broadcast.text.replace(old_full, new_full)
        return [f"The message now says \u201c{new_full}\u201d."]
    old_day = date_words(broadcast.event_at.astimezone(ZoneInfo(tz)).date())
    if old_day in broadcast.text:
        broadcast.text = broadcast.text.replace(old_day, date_words(event_at.astimezone(ZoneInfo(tz)).date()))
        return ["The message now gives the new day."]
    return ["Please check the message text: it may still give the old time."]


def cancel(session: Session, manager: StaffMember, broadcast_id: int, now: dt.datetime) -> Cancellation:
    """Stop a broadcast: sends to come are cancelled and queued messages are not sent."""
    require_slot_manager(manager)
    broadcast = _get(session, manager, broadcast_id)
    if broadcast.status == "cancelled":
        return Cancellation(broadcast, 0, 0)
    if broadcast.status not in EDITABLE:
        raise BroadcastRefused("That broadcast has already been sent, so it can't be cancelled.")
    sends_cancelled = session.execute(
        update(BroadcastSend)
        .where(BroadcastSend.broadcast_id == broadcast.id, BroadcastSend.status == "pending")
        .values(status="cancelled")
        .execution_options(synchronize_session="fetch")
    ).rowcount
    messages_cancelled = outbox.cancel_queued(session, broadcast.id)
    broadcast.status, broadcast.updated_at = "cancelled", now
    detail = f"{sends_cancelled} sends and {messages_cancelled} queued messages cancelled"
    _audit(session, broadcast, manager, "cancel", detail, now)
    return Cancellation(broadcast, sends_cancelled, messages_cancelled)


def list_scheduled(session: Session, manager: StaffMember, now: dt.datetime) -> list[ScheduledBroadcast]:
    """Drafts and scheduled broadcasts of the manager's school, the next to go first."""
    require_slot_manager(manager)
    broadcasts = session.execute(
        select(Broadcast)
        .where(Broadcast.school_ref == manager.school_ref, Broadcast.status.in_(EDITABLE))
        .order_by(Broadcast.id)
    ).scalars()
    listed = []
    for broadcast in broadcasts:
        pending = [s for s in _sends(session, broadcast.id) if s.status == "pending"]
        next_send = (
            PlannedSend(offset_label(pending[0].offset_minutes), pending[0].due_at) if pending else None
        )
        listed.append(
            ScheduledBroadcast(
                broadcast.id,
                broadcast.text,
                describe(broadcast.audience),
                broadcast.status,
                broadcast.event_at,
                next_send,
                len(pending),
            )
        )
    far = dt.datetime.max.replace(tzinfo=dt.timezone.utc)
    return sorted(listed, key=lambda b: (b.next_send.due_at if b.next_send else far, b.id))


# --- Delivery summary ---------------------------------------------------------------------------


def summary(session: Session, broadcast_id: int, *, now: dt.datetime | None = None, tz: str = UK_TZ) -> str:
    """ "412 of 415 delivered, 3 failed (blocked the bot)": per send when there are several."""
    broadcast = session.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise BroadcastNotFound(broadcast_id)
    now = now or dt.datetime.now(dt.timezone.utc)
    sends = _sends(session, broadcast_id)
    if not sends:
        return (
            "Not confirmed yet: nothing has been sent."
            if broadcast.status == "draft"
            else "Nothing was sent."
        )
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    reasons: dict[int, Counter[str]] = defaultdict(Counter)
    waiting_until: dict[int, dt.datetime] = {}
    for send_id, status, error, not_before in session.execute(
        select(
            OutboxMessage.send_id, OutboxMessage.status, OutboxMessage.last_error, OutboxMessage.not_before
        ).where(OutboxMessage.broadcast_id == broadcast_id)
    ):
        counts[send_id][status] += 1
        if status == "failed":
            reasons[send_id][error or "unknown error"] += 1
        if status == "queued" and not_before > now:
            waiting_until[send_id] = max(waiting_until.get(send_id, not_before), not_before)
    lines = []
    for send in sends:
        label = offset_label(send.offset_minutes)
        if send.status == "pending":
            line = f"due {format_uk(send.due_at, tz)}"
        elif send.status == "cancelled":
            line = "cancelled"
        elif send.status == "skipped":
            line = "not sent (it was due while the bot was off, and it was too late by then)"
        else:
            line = delivery_line(counts[send.id], reasons[send.id], waiting_until.get(send.id), tz)
        lines.append((label, line))
    prefix = "Cancelled. " if broadcast.status == "cancelled" else ""
    if len(lines) == 1:
        return prefix + lines[0][1]
    return prefix + " ".join(f"{label[0].upper()}{label[1:]}: {line}." for label, line in lines)


def delivery_line(
    counts: Counter[str],
    reasons: Counter[str],
    waiting_until: dt.datetime | None = None,
    tz: str = UK_TZ,
) -> str:
    total = sum(counts.values())
    if total == 0:
        return "nobody in the audience could receive it"
    parts = [f"{counts['sent']} of {total} delivered"]
    if counts["failed"]:
        parts.append(f"{counts['failed']} failed ({_reasons(reasons)})")
    if counts["skipped_opted_out"]:
        parts.append(f"{counts['skipped_opted_out']} not sent (stopped reminders)")
    if counts["unknown"]:
        parts.append(
            f"{counts['unknown']} not confirmed (interrupted while sending; not resent, to avoid a duplicate)"
        )
    if counts["cancelled"]:
        parts.append(f"{counts['cancelled']} cancelled")
    waiting = counts["queued"] + counts["sending"]
    if waiting:
        later = ""
        if waiting_until is not None:
            local = waiting_until.astimezone(ZoneInfo(tz))
            later = f" (some from {clock_words(local)} {date_words(local.date())}, after quiet hours)"
        parts.append(f"{waiting} still to send{later}")
    return ", ".join(parts)


def _reasons(reasons: Counter[str]) -> str:
    if len(reasons) == 1:
        return next(iter(reasons))
    return ", ".join(f"{n} {reason}" for reason, n in reasons.most_common())


def claim_finished(database_url: str, now: dt.datetime, *, tz: str = UK_TZ) -> list[FinishedBroadcast]:
    """Broadcasts whose every send is done: marked done, summary claimed once, text for the author."""
    with unit_of_work(database_url) as session:
        candidates = list(
            session.execute(
                select(Broadcast.id).where(
                    Broadcast.status.in_(("scheduled", "done")),
                    Broadcast.summary_sent_at.is_(None),
                    *_all_sent(),
                )
            ).scalars()
        )
        finished = []
        for broadcast_id in candidates:
            claimed = session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id, Broadcast.summary_sent_at.is_(None), *_all_sent())
                .values(summary_sent_at=now, status="done", updated_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
            if claimed != 1:
                continue
            broadcast = session.get(Broadcast, broadcast_id)
            author = session.get(StaffMember, broadcast.created_by)
            finished.append(
                FinishedBroadcast(broadcast_id, author.slack_user_id, manager_notice(session, broadcast, tz))
            )
        return finished


def _all_sent() -> tuple:
    """Conditions on `Broadcast`: no send still to come, no message still queued or in flight."""
    return (
        ~exists().where(BroadcastSend.broadcast_id == Broadcast.id, BroadcastSend.status == "pending"),
        ~exists().where(OutboxMessage.broadcast_id == Broadcast.id, OutboxMessage.status.in_(outbox.OPEN)),
    )


def release_summary(database_url: str, broadcast_id: int) -> None:
    """The summary DM failed: let the next round try again."""
    with unit_of_work(database_url) as session:
        session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id)
            .values(summary_sent_at=None)
            .execution_options(synchronize_session=False)
        )


def manager_notice(session: Session, broadcast: Broadcast, tz: str = UK_TZ) -> str:
    """The DM to the SENCo when a broadcast has finished."""
    text = broadcast.text if len(broadcast.text) <= 80 else broadcast.text[:77].rstrip() + "\u2026"
    return (
        f"Your message to {describe(broadcast.audience)} (\u201c{text}\u201d) has gone out: "
        f"{summary(session, broadcast.id, tz=tz)}"
    )


# --- Helpers ---------------------------------------------------------------------------------------


def _get(session: Session, manager: StaffMember, broadcast_id: int) -> Broadcast:
    broadcast = session.get(Broadcast, broadcast_id)
    if broadcast is None or broadcast.school_ref != manager.school_ref:
        raise BroadcastNotFound(broadcast_id)
    return broadcast


def _editable(session: Session, manager: StaffMember, broadcast_id: int) -> Broadcast:
    broadcast = _get(session, manager, broadcast_id)
    if broadcast.status not in EDITABLE:
        state = "already been sent" if broadcast.status == "done" else f"been {broadcast.status}"
        raise BroadcastRefused(f"That broadcast has {state}, so it can't be changed.")
    return broadcast


def _sends(session: Session, broadcast_id: int) -> list[BroadcastSend]:
    return list(
        session.execute(
            select(BroadcastSend)
            .where(BroadcastSend.broadcast_id == broadcast_id)
            .order_by(BroadcastSend.due_at, BroadcastSend.id)
        ).scalars()
    )


def _audit(
    session: Session, broadcast: Broadcast, manager: StaffMember, action: str, detail: str, now: dt.datetime
) -> None:
    session.add(
        BroadcastAudit(
            broadcast_id=broadcast.id,
            at=now,
            staff_id=manager.id,
            action=action,
            detail=detail[:DETAIL_CHARS],
        )
    )

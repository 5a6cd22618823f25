"""A family's data rights in the chat: what we hold about them, and erasing it.

The chat answers from the conversation Rasa hands the action (no database read for
that). Erasure is a request row that the scheduler carries out a few seconds later:
Rasa saves the current turn only after the action has replied, so deleting at once
would leave the reply behind.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable

from sqlalchemy import delete, select, update

from knowledge.privacy.conversations import erase_conversation, purge_older_than
from knowledge.shared.db import unit_of_work
from knowledge.shared.ids import sender_ref
from knowledge.shared.models import ActionResult, ErasureRequest, OutboxMessage, School, Subscriber
from knowledge.shared.replies import Button, Reply
from knowledge.shared.settings import Settings, tracker_store_url

ERASE_DELAY = dt.timedelta(seconds=5)


TELEGRAM_PREFIX = "telegram-"


def reminder_subscriptions(settings: Settings, sender_id: str) -> list[str]:
    """What we keep about a Telegram parent besides the conversation, in words (one line a school)."""
    if not sender_id.startswith(TELEGRAM_PREFIX):
        return []
    address = sender_id[len(TELEGRAM_PREFIX) :]
    lines = []
    with unit_of_work(settings.database_url) as session:
        names = dict(session.execute(select(School.ref, School.name)).all())
        rows = session.execute(
            select(Subscriber).where(Subscriber.channel == "telegram", Subscriber.address == address)
        ).scalars()
        for row in rows:
            school = names.get(row.school_ref, row.school_ref)
            if row.opted_in:
                chosen = [*row.year_groups, *row.interests]
                what = f" ({', '.join(chosen)})" if chosen else ""
                lines.append(f"that you get {school}'s SENCo reminders{what}; /stop ends them")
            else:
                lines.append(f"that you have seen {school}'s privacy notice")
    return lines


def what_we_hold_reply(events: Iterable[dict], retention_days: int, also: Iterable[str] = ()) -> Reply:
    """A plain summary of this conversation (and of a Telegram parent's reminder choices)."""
    said = [e for e in events if e.get("event") == "user" and not str(e.get("text") or "").startswith("/")]
    if said:
        first = dt.datetime.fromtimestamp(said[0].get("timestamp") or 0, dt.timezone.utc)
        held = (
            f"I hold this conversation only: {len(said)} message{'s' if len(said) != 1 else ''} "
            f"from you since {first:%-d %B %Y}, and my answers."
        )
    else:
        held = "I hold this conversation only: my answers to you so far."
    extra = list(also)
    if extra:
        held = (
            held.replace("this conversation only", "this conversation")
            + " I also keep "
            + "; and ".join(extra)
            + "."
        )
    text = (
        f"{held} I don't know your name. Conversations are deleted automatically after "
        f"{retention_days} days. If you tell me something that suggests a child may be at risk, "
        "it is passed to the school's safeguarding lead and kept by them.\n\n"
        "You can ask me to delete this conversation now."
    )
    return Reply(text, (Button("Delete this conversation", "/erase_my_data"),))


def confirm_erase_reply() -> Reply:
    return Reply(
        "Do you want me to delete this whole conversation? This can't be undone.",
        (Button("Yes, delete it", "/affirm"), Button("No, keep it", "/deny")),
    )


def erased_reply() -> Reply:
    return Reply(
        "Done. This conversation will be deleted within a minute. "
        "If you write again, a new conversation starts."
    )


def kept_reply() -> Reply:
    return Reply("OK, I haven't deleted anything.")


def request_erasure(settings: Settings, sender_id: str) -> None:
    with unit_of_work(settings.database_url) as session:
        session.add(ErasureRequest(sender_id=sender_id, sender_ref=sender_ref(sender_id)))


def process_erasures(settings: Settings, now: dt.datetime) -> int:
    """Carry out erasure requests older than a few seconds; forget the sender id after."""
    with unit_of_work(settings.database_url) as session:
        due = list(
            session.execute(
                select(ErasureRequest).where(
                    ErasureRequest.done_at.is_(None), ErasureRequest.requested_at <= now - ERASE_DELAY
                )
            ).scalars()
        )
        for request in due:
            _forget_telegram_parent(session, request.sender_id or "")
            # replies kept so a repeated delivery isn't acted on twice (knowledge.shared.action_ledger)
            session.execute(delete(ActionResult).where(ActionResult.sender_ref == request.sender_ref))
            request.events_deleted = erase_conversation(tracker_store_url(settings), request.sender_id or "")
            request.done_at = now
            request.sender_id = None
        return len(due)


def _forget_telegram_parent(session, sender_id: str) -> None:
    """Erasure covers reminder choices too: the subscriber rows go, and outbox rows lose the chat id."""
    if not sender_id.startswith(TELEGRAM_PREFIX):
        return
    address = sender_id[len(TELEGRAM_PREFIX) :]
    session.execute(delete(Subscriber).where(Subscriber.channel == "telegram", Subscriber.address == address))
    mine = (OutboxMessage.channel == "telegram") & (OutboxMessage.address == address)
    session.execute(
        update(OutboxMessage)
        .where(mine, OutboxMessage.status == "queued")
        .values(status="skipped_opted_out", last_error="the parent asked for their data to be erased")
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(OutboxMessage)
        .where(mine)
        .values(address="erased")
        .execution_options(synchronize_session=False)
    )


def purge_chat_logs(settings: Settings, now: dt.datetime) -> int:
    """Delete conversation events older than CHAT_LOG_RETENTION_DAYS (safeguarding records stay).

    A message the sender said was not a safeguarding matter is a chat log, not a record:
    it goes at the same time, and so do the questions kept for the school to answer.
    """
    from knowledge.parents import unanswered
    from knowledge.safeguarding.records import purge_dismissed
    from knowledge.shared import action_ledger

    retention = dt.timedelta(days=settings.chat_log_retention_days)
    cutoff = now - retention
    purge_dismissed(settings.database_url, cutoff)
    unanswered.purge(settings.database_url, cutoff)
    action_ledger.purge(settings.database_url, now, min(retention, action_ledger.KEEP))
    return purge_older_than(tracker_store_url(settings), cutoff)

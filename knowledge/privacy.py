"""A family's data rights in the chat: what we hold about them, and erasing it.

The chat answers from the conversation Rasa hands the action (no database read for
that). Erasure is a request row that the scheduler carries out a few seconds later:
Rasa saves the current turn only after the action has replied, so deleting at once
would leave the reply behind.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable

from sqlalchemy import select

from bot.settings import Settings, tracker_store_url
from connectors.privacy import sender_ref
from knowledge.answers import Button, Reply
from knowledge.conversations import erase_conversation, purge_older_than
from knowledge.db import unit_of_work
from knowledge.models import ErasureRequest

ERASE_DELAY = dt.timedelta(seconds=5)


def what_we_hold_reply(events: Iterable[dict], retention_days: int) -> Reply:
    """A plain summary of this conversation, from the events Rasa passed to the action."""
    said = [e for e in events if e.get("event") == "user" and not str(e.get("text") or "").startswith("/")]
    if said:
        first = dt.datetime.fromtimestamp(said[0].get("timestamp") or 0, dt.timezone.utc)
        held = (
            f"I hold this conversation only: {len(said)} message{'s' if len(said) != 1 else ''} "
            f"from you since {first:%-d %B %Y}, and my answers."
        )
    else:
        held = "I hold this conversation only: my answers to you so far."
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
            request.events_deleted = erase_conversation(tracker_store_url(settings), request.sender_id or "")
            request.done_at = now
            request.sender_id = None
        return len(due)


def purge_chat_logs(settings: Settings, now: dt.datetime) -> int:
    """Delete conversation events older than CHAT_LOG_RETENTION_DAYS (safeguarding records stay).

    A message the sender said was not a safeguarding matter is a chat log, not a record:
    it goes at the same time.
    """
    from knowledge.safeguarding_records import purge_dismissed

    cutoff = now - dt.timedelta(days=settings.chat_log_retention_days)
    purge_dismissed(settings.database_url, cutoff)
    return purge_older_than(tracker_store_url(settings), cutoff)

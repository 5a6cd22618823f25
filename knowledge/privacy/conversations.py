"""Conversation logs in Rasa's SQL tracker store: purge, export and erase.

Rasa keeps every conversation as rows of its `events` table (sender_id, type_name,
timestamp, data). Safeguarding records live elsewhere (`safeguarding_records`) and are
never touched here.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import inspect, text

from knowledge.shared.db import get_engine
from knowledge.shared.ids import sender_ref

SHOWN_EVENTS = ("user", "bot")


@dataclass(frozen=True)
class Line:
    at: dt.datetime
    who: str  # "you" or "assistant"
    text: str


def _has_events_table(url: str) -> bool:
    return inspect(get_engine(url)).has_table("events")


def purge_older_than(url: str, cutoff: dt.datetime) -> int:
    """Delete conversation events older than `cutoff`. Returns how many rows went."""
    if not _has_events_table(url):
        return 0
    with get_engine(url).begin() as connection:
        result = connection.execute(
            text("DELETE FROM events WHERE timestamp < :cutoff"), {"cutoff": cutoff.timestamp()}
        )
    return result.rowcount or 0


def senders_for(url: str, sender_or_ref: str) -> list[str]:
    """The sender ids meant: the id itself, or every id whose reference is `sender_or_ref`."""
    if not _has_events_table(url):
        return []
    with get_engine(url).connect() as connection:
        senders = [row[0] for row in connection.execute(text("SELECT DISTINCT sender_id FROM events"))]
    return [s for s in senders if s == sender_or_ref or sender_ref(s) == sender_or_ref]


def export_conversation(url: str, sender_id: str) -> list[Line]:
    """What the person said and what the bot answered, oldest first."""
    if not _has_events_table(url):
        return []
    query = text("SELECT timestamp, type_name, data FROM events WHERE sender_id = :sender ORDER BY id")
    lines: list[Line] = []
    with get_engine(url).connect() as connection:
        for timestamp, kind, data in connection.execute(query, {"sender": sender_id}):
            if kind not in SHOWN_EVENTS:
                continue
            said = (json.loads(data or "{}").get("text") or "").strip()
            if said:
                when = dt.datetime.fromtimestamp(timestamp or 0, dt.timezone.utc)
                lines.append(Line(when, "you" if kind == "user" else "assistant", said))
    return lines


def erase_conversation(url: str, sender_id: str) -> int:
    """Delete every event of one conversation. Returns how many rows went."""
    if not _has_events_table(url):
        return 0
    with get_engine(url).begin() as connection:
        result = connection.execute(
            text("DELETE FROM events WHERE sender_id = :sender"), {"sender": sender_id}
        )
    return result.rowcount or 0

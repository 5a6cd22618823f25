"""Small builders the tests share: rows a test needs in place before the behaviour it checks."""

from __future__ import annotations

import datetime as dt

from knowledge.shared.db import unit_of_work
from knowledge.shared.models import SurgerySlot


def add_slot(
    database_url: str, school_ref: str, starts_at: dt.datetime, *, minutes: int = 15, capacity: int = 1
) -> int:
    """One open surgery slot (stored in UTC); returns its id."""
    starts_at = starts_at.astimezone(dt.timezone.utc)
    with unit_of_work(database_url) as session:
        slot = SurgerySlot(
            school_ref=school_ref,
            starts_at=starts_at,
            ends_at=starts_at + dt.timedelta(minutes=minutes),
            capacity=capacity,
        )
        session.add(slot)
        session.flush()
        return slot.id

"""Rasa's SQL tracker store, made to ride out a database restart (the production profile).

Rasa 3.6 builds its SQL engine without `pool_pre_ping`, so after PostgreSQL restarts every
pooled connection is dead, and the next use of each fails. Rasa wraps the store in a
`FailSafeTrackerStore` which then quietly returns *no* tracker (the conversation starts
again from nothing) or keeps the turn only in memory. This subclass, named as the tracker
store `type` in the endpoints file that `bot.prod` writes (no change to Rasa itself):

- checks each pooled connection before use (`pool_pre_ping`), so a restart costs nothing
  once the database is back;
- retries reads and writes for up to `retry_seconds` (20 s by default) while the database
  is unreachable (a restart takes a few seconds), instead of failing the turn at once.
  A save is safe to retry: Rasa's SQL store writes only the events it has not stored yet,
  in one transaction.

Everything else (tables, queries, sessions) is Rasa's `SQLTrackerStore`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable, Iterable, TypeVar

import sqlalchemy as sa
import sqlalchemy.exc
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.orm import sessionmaker

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_RETRY_SECONDS = 20.0
FIRST_PAUSE_S = 0.25
LONGEST_PAUSE_S = 2.0


def is_unavailable(error: BaseException) -> bool:
    """A database that is down, restarting or dropped the connection (worth retrying)."""
    if isinstance(error, (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError)):
        return True
    return isinstance(error, sqlalchemy.exc.DBAPIError) and bool(error.connection_invalidated)


async def retrying(
    what: str,
    call: Callable[[], Awaitable[T]],
    retry_seconds: float,
    *,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """`call()`, retried with growing pauses while the database is unavailable, up to
    `retry_seconds`; then (or for any other error) the error is raised."""
    deadline = clock() + retry_seconds
    pause = FIRST_PAUSE_S
    attempt = 1
    while True:
        try:
            return await call()
        except Exception as error:
            if not is_unavailable(error) or clock() + pause > deadline:
                raise
            log.warning("tracker store %s failed (try %d, %s); retrying", what, attempt, type(error).__name__)
        await sleep(pause)
        pause = min(pause * 2, LONGEST_PAUSE_S)
        attempt += 1


class ResilientSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` with connection checks and retries (see the module docstring)."""

    def __init__(self, *args: Any, retry_seconds: float = DEFAULT_RETRY_SECONDS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))
        self.sessionmaker = sessionmaker(bind=self.engine)
        self.retry_seconds = float(retry_seconds)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        parent = super().retrieve
        return await retrying("read", lambda: parent(sender_id), self.retry_seconds)

    async def retrieve_full_tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        parent = super().retrieve_full_tracker
        return await retrying("read", lambda: parent(conversation_id), self.retry_seconds)

    async def save(self, tracker: DialogueStateTracker) -> None:
        parent = super().save
        await retrying("write", lambda: parent(tracker), self.retry_seconds)

    async def keys(self) -> Iterable[str]:
        parent = super().keys
        return await retrying("read", parent, self.retry_seconds)

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
  in one transaction;
- when the database is still down after that, fails the turn (`TrackerStoreUnavailable`)
  rather than letting Rasa's `FailSafeTrackerStore` carry on with an empty conversation
  kept only in memory. The channel then answers 503 and the client sends the message again
  with its `message_id` later; any booking or broadcast its action already made is not made
  twice (`knowledge.shared.action_ledger`).

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
_MARK = "_sendbot_fails_loudly"


class TrackerStoreUnavailable(RuntimeError):
    """The conversation store stayed unreachable for longer than the retries wait."""


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
            if not is_unavailable(error):
                raise
            if clock() + pause > deadline:
                raise TrackerStoreUnavailable(f"tracker store {what}: database unavailable") from error
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


def fail_loudly(fail_safe_class: type | None = None) -> None:
    """Let `TrackerStoreUnavailable` through Rasa's `FailSafeTrackerStore` (once; idempotent).

    Rasa's fail-safe store turns any error into "no tracker" on reading and into an
    in-memory save on writing: right for a flaky cache, wrong for the conversation record.
    Other errors keep Rasa's behaviour.
    """
    if fail_safe_class is None:
        from rasa.core.tracker_store import FailSafeTrackerStore

        fail_safe_class = FailSafeTrackerStore
    if getattr(fail_safe_class, _MARK, False):
        return
    for name in ("retrieve", "retrieve_full_tracker", "save"):
        setattr(fail_safe_class, name, _passing_unavailable(getattr(fail_safe_class, name)))
    setattr(fail_safe_class, _MARK, True)


def _passing_unavailable(method: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    async def wrapper(self: Any, *args: Any, **kwargs: Any) -> T:
        inner = self._tracker_store
        if not isinstance(inner, ResilientSQLTrackerStore):
            return await method(self, *args, **kwargs)
        try:  # our store first: when its retries ran out, the turn must fail
            return await getattr(inner, method.__name__)(*args, **kwargs)
        except TrackerStoreUnavailable:
            raise
        except Exception:  # anything else: Rasa's own handling (it tries once more)
            return await method(self, *args, **kwargs)

    wrapper.__name__ = method.__name__
    return wrapper


fail_loudly()  # Rasa imports this module to build the store named in the endpoints file

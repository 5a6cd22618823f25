"""Database engine and short-lived sessions (SQLAlchemy 1.4, written in the 2.0 style).

One engine per database URL for the whole process (it is a connection pool); one
session per unit of work, opened and closed around it, never shared between requests.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.engine.url import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool


@lru_cache(maxsize=8)
def get_engine(database_url: str) -> Engine:
    """The process-wide engine for `database_url` (SQLite file folders are created)."""
    url = make_url(database_url)
    # hide_parameters: a database error never carries the values (chat ids, message text)
    # into a log line or traceback.
    kwargs: dict = {"future": True, "pool_pre_ping": True, "hide_parameters": True}
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            # Keep connections open between units of work (SQLAlchemy 2.0's default for
            # SQLite files; 1.4 opens and closes one each time, which costs a WAL flush
            # per booking: `make bench-booking` measured p95 50-65 ms -> 20-26 ms).
            kwargs.update(poolclass=QueuePool, pool_size=5, max_overflow=15)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    engine = create_engine(database_url, **kwargs)
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """Foreign keys on, and WAL so the action server reads while a reload writes."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@lru_cache(maxsize=8)
def _session_factory(database_url: str) -> sessionmaker:
    return sessionmaker(bind=get_engine(database_url), future=True, expire_on_commit=False)


@contextmanager
def unit_of_work(database_url: str) -> Iterator[Session]:
    """A session in a transaction: committed on success, rolled back on error, then closed."""
    with _session_factory(database_url)() as session, session.begin():
        yield session

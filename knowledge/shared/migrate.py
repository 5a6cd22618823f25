"""Schema migrations (Alembic), run from code so no alembic.ini is needed.

`upgrade(url)` brings any database (SQLite or PostgreSQL) to the newest schema;
`make run` and `make test` call it on every start, which is a no-op when current.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from knowledge.shared.db import get_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply every migration up to `revision`."""
    config = alembic_config(database_url)
    with get_engine(database_url).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def make_revision(database_url: str, message: str) -> None:
    """Developer helper: autogenerate a new migration from the models."""
    config = alembic_config(database_url)
    with get_engine(database_url).begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)

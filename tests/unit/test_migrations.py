"""The migrations build exactly the schema the code describes, so a model change without a
migration (or a migration without its model) is caught before it reaches a school."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from knowledge.schools.slack_installations import slack_tables
from knowledge.shared.db import get_engine
from knowledge.shared.migrate import upgrade
from knowledge.shared.models import Base


def test_a_database_migrated_to_head_matches_the_models_and_slacks_tables(tmp_path):
    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    upgrade(url)
    with get_engine(url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, [Base.metadata, slack_tables()])
    assert differences == []

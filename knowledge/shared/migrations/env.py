"""Alembic environment: migrations run against the URL given by `knowledge.shared.migrate`."""

from alembic import context

from knowledge.schools.slack_installations import slack_tables
from knowledge.shared.models import Base

config = context.config
# Our models, and the Slack installation tables that slack_sdk defines (migration 0011).
target_metadata = [Base.metadata, slack_tables()]


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through knowledge.shared.migrate.upgrade()")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()

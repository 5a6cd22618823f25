"""Slack workspaces that installed the app, and which of them reaches a member of staff.

With several workspaces (SLACK_CLIENT_ID / SLACK_CLIENT_SECRET, README "Several Slack
workspaces") each workspace installs the app through `/slack/install` and gets its own bot
token. The tokens are kept by slack_sdk's own `SQLAlchemyInstallationStore` and the install
flow's one-time states by `SQLAlchemyOAuthStateStore`, in the project's database through the
project's engine (SQLite or PostgreSQL). Their tables (slack_installations, slack_bots,
slack_oauth_states) are made by migration 0011, not by the stores.

A member of staff's workspace is the one their school lists in `slack_teams` (schools file);
a school that lists none, in a deployment with a single installation, uses that one.
Tokens are secrets: nothing here logs them.
"""

from __future__ import annotations

from functools import lru_cache

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import MetaData, and_, desc, select
from sqlalchemy.orm import Session

from knowledge.schools.tenancy import SLACK_TEAM, staff_schools
from knowledge.shared.db import get_engine, unit_of_work
from knowledge.shared.models import SchoolRoute

STATE_SECONDS = 600  # an install link is good for ten minutes (bolt's default)


def slack_tables() -> MetaData:
    """slack_sdk's own definitions of the three tables, so that Alembic's autogenerate
    (knowledge/migrations/env.py) compares them too instead of proposing to drop them."""
    metadata = MetaData()
    SQLAlchemyInstallationStore.build_installations_table(metadata, "slack_installations")
    SQLAlchemyInstallationStore.build_bots_table(metadata, "slack_bots")
    SQLAlchemyOAuthStateStore.build_oauth_states_table(metadata, "slack_oauth_states")
    return metadata


@lru_cache(maxsize=8)
def installation_store(database_url: str, client_id: str) -> SQLAlchemyInstallationStore:
    """slack_sdk's store on the project's engine (one per database and app)."""
    return SQLAlchemyInstallationStore(client_id=client_id, engine=get_engine(database_url))


@lru_cache(maxsize=8)
def state_store(database_url: str) -> SQLAlchemyOAuthStateStore:
    return SQLAlchemyOAuthStateStore(expiration_seconds=STATE_SECONDS, engine=get_engine(database_url))


def listed_teams(database_url: str) -> set[str]:
    """Every workspace some school lists in `slack_teams`."""
    with unit_of_work(database_url) as session:
        rows = session.execute(select(SchoolRoute.value).where(SchoolRoute.kind == SLACK_TEAM))
        return {value for (value,) in rows}


def staff_teams(session: Session, slack_user_id: str) -> list[str]:
    """The workspaces of this person's schools (a shared SENCo's schools may have several)."""
    schools = staff_schools(session, slack_user_id)
    if not schools:
        return []
    rows = session.execute(
        select(SchoolRoute.value)
        .where(SchoolRoute.kind == SLACK_TEAM, SchoolRoute.school_ref.in_(schools))
        .order_by(SchoolRoute.school_ref, SchoolRoute.value)
    )
    return list(dict.fromkeys(value for (value,) in rows))


def bot_token(store: SQLAlchemyInstallationStore, team_id: str) -> str | None:
    """The newest bot token of one workspace (of any Enterprise Grid org it is part of)."""
    bots = store.bots.c
    query = (
        select(bots.bot_token)
        .where(and_(bots.client_id == store.client_id, bots.team_id == team_id, bots.bot_token.is_not(None)))
        .order_by(desc(bots.installed_at))
        .limit(1)
    )
    with store.engine.connect() as connection:
        return connection.execute(query).scalar()


def installed_teams(store: SQLAlchemyInstallationStore) -> list[str]:
    """Every workspace that has a bot token now."""
    bots = store.bots.c
    installed = and_(
        bots.client_id == store.client_id, bots.team_id.is_not(None), bots.bot_token.is_not(None)
    )
    query = select(bots.team_id).where(installed).distinct().order_by(bots.team_id)
    with store.engine.connect() as connection:
        return list(connection.execute(query).scalars())


def bot_tokens_for_staff(database_url: str, client_id: str, slack_user_id: str) -> list[str]:
    """The bot tokens that may reach this person, to try in order (usually one).

    Their schools' workspaces that installed the app; when their schools list no workspace
    at all, the only installation there is (none if there are several: the bot cannot tell
    which workspace is theirs, and a message must not go out through another school's).
    """
    store = installation_store(database_url, client_id)
    with unit_of_work(database_url) as session:
        teams = staff_teams(session, slack_user_id)
    if not teams:
        teams = installed_teams(store)
        if len(teams) != 1:
            return []
    tokens = (bot_token(store, team) for team in teams)
    return list(dict.fromkeys(token for token in tokens if token))

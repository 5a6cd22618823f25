"""Whether Slack is on, and in which mode: read by the connector and by the launcher.

One workspace: SLACK_BOT_TOKEN, with SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET
(HTTP Events). Several workspaces: SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and
SLACK_SIGNING_SECRET (HTTP Events only); each workspace installs the app at `/slack/install`
and its bot token is kept in the database. Setting both the client id and the secret chooses
several workspaces, whatever else is set (slack-bolt itself switches to its install flow when
it sees them).
"""

from __future__ import annotations

import logging
import re

from knowledge.shared.settings import Settings

# The bot scopes asked for at installation: the same as slack/manifest.yml.
BOT_SCOPES = ("app_mentions:read", "chat:write", "im:history", "im:read", "im:write", "files:write")

API_LOGGER = "connectors.slack.api"  # the Web API clients log here (debug), through SecretFilter


def several_workspaces(settings: Settings) -> bool:
    """The client id and secret are set: workspaces install the app (OAuth)."""
    return bool(settings.slack_client_id and settings.slack_client_secret)


def mode(settings: Settings) -> str | None:
    """'socket', 'http', or None when Slack is not configured."""
    if several_workspaces(settings):
        return "http" if settings.slack_signing_secret else None
    if not settings.slack_bot_token:
        return None
    if settings.slack_app_token:
        return "socket"
    if settings.slack_signing_secret:
        return "http"
    return None


def sends(settings: Settings) -> bool:
    """The bot can start DMs itself (reminders, digests, alerts, broadcasts to staff)."""
    if several_workspaces(settings):
        return mode(settings) == "http"
    return bool(settings.slack_bot_token)


def why_off(settings: Settings) -> str:
    if several_workspaces(settings):
        return (
            "Slack is off: several workspaces (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET) need "
            "SLACK_SIGNING_SECRET too: HTTP Events mode (see README, 'Several Slack workspaces')."
        )
    if not settings.slack_bot_token:
        return "Slack is off: set SLACK_BOT_TOKEN and SLACK_APP_TOKEN (see README, 'Slack for staff')."
    return "Slack is off: set SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP Events)."


SECRET = re.compile(r"\b(xox[a-z]|xapp)-[A-Za-z0-9-]+")


class SecretFilter(logging.Filter):
    """Blanks Slack tokens out of a log record (slack_sdk logs whole responses at debug level,
    and `oauth.v2.access` answers with a bot token)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = SECRET.sub(lambda m: f"{m.group(1)}-(redacted)", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def api_logger() -> logging.Logger:
    """The logger the Web API clients are given: what they log passes through SecretFilter."""
    logger = logging.getLogger(API_LOGGER)
    if not any(isinstance(f, SecretFilter) for f in logger.filters):
        logger.addFilter(SecretFilter())
    return logger

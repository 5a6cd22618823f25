"""Whether Slack is on, and in which mode: read by the connector and by the launcher."""

from __future__ import annotations

from bot.settings import Settings


def mode(settings: Settings) -> str | None:
    """'socket', 'http', or None when Slack is not configured."""
    if not settings.slack_bot_token:
        return None
    if settings.slack_app_token:
        return "socket"
    if settings.slack_signing_secret:
        return "http"
    return None


def why_off(settings: Settings) -> str:
    if not settings.slack_bot_token:
        return "Slack is off: set SLACK_BOT_TOKEN and SLACK_APP_TOKEN (see README, 'Slack for staff')."
    return "Slack is off: set SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP Events)."

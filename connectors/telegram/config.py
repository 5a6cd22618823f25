"""Whether Telegram is on, and how it gets updates: read by the connector and by the launcher.

Long polling needs only the bot token and no public address, so it is the default.
Webhook mode (TELEGRAM_WEBHOOK_URL) is refused without a secret: without one, anybody who
guesses the URL could post updates as any parent.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

from knowledge.shared.settings import Settings

# What Telegram accepts as a webhook secret_token (Bot API, setWebhook).
SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def _webhook_problem(settings: Settings) -> str | None:
    if urlparse(settings.telegram_webhook_url).scheme != "https":
        return "TELEGRAM_WEBHOOK_URL must be a public https:// address (Telegram only calls https)."
    if not SECRET_TOKEN.match(settings.telegram_webhook_secret):
        return (
            "webhook mode (TELEGRAM_WEBHOOK_URL) needs TELEGRAM_WEBHOOK_SECRET: "
            "1-256 characters, only A-Z, a-z, 0-9, _ and -."
        )
    return None


def mode(settings: Settings) -> str | None:
    """'polling', 'webhook', or None when Telegram is not (properly) configured."""
    if not settings.telegram_bot_token:
        return None
    if not settings.telegram_webhook_url:
        return "polling"
    return None if _webhook_problem(settings) else "webhook"


def why_off(settings: Settings) -> str:
    if not settings.telegram_bot_token:
        return "Telegram is off: set TELEGRAM_BOT_TOKEN (the token @BotFather gives the school's bot)."
    return f"Telegram is off: {_webhook_problem(settings) or 'check the TELEGRAM_ settings.'}"


def webhook_path(settings: Settings) -> str:
    """The local path Telegram's POSTs arrive at: the path of TELEGRAM_WEBHOOK_URL."""
    return urlparse(settings.telegram_webhook_url).path or "/"

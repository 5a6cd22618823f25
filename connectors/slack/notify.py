"""Direct messages the bot starts itself (reminders, digests, safeguarding alerts).

Used from the scheduler thread, so it is the synchronous `WebClient`, pointed at
SLACK_API_URL, waiting out 429s as Slack asks (Retry-After) and retrying dropped
connections. A message that still fails raises, and the caller records the failure.
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from bot.settings import Settings


class SlackNotifier:
    def __init__(self, settings: Settings) -> None:
        self.client = WebClient(
            token=settings.slack_bot_token,
            base_url=settings.slack_api_url,
            timeout=15,
            retry_handlers=[
                ConnectionErrorRetryHandler(max_retry_count=2),
                RateLimitErrorRetryHandler(max_retry_count=3),
            ],
        )

    def dm(self, user_id: str, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        """Send `text` to one person's DM with the bot."""
        channel = self.client.conversations_open(users=user_id)["channel"]["id"]
        self.client.chat_postMessage(channel=channel, text=text, blocks=blocks)

"""Direct messages the bot starts itself (reminders, digests, safeguarding alerts).

Used from the scheduler thread, so it is the synchronous `WebClient`, pointed at
SLACK_API_URL, waiting out 429s as Slack asks (Retry-After) and retrying dropped
connections. A message that still fails raises, and the caller records the failure.

With one workspace every DM goes with SLACK_BOT_TOKEN. With several, each goes with the bot
token of the workspace of the person's own school (`connectors.slack.workspaces.StaffWorkspaces`);
when none is known, `NoWorkspace` is raised, like any other failure.
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from connectors.slack.config import api_logger
from connectors.slack.workspaces import NOT_HERE, NoWorkspace, StaffWorkspaces
from knowledge.shared.settings import Settings


class SlackNotifier:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.workspaces = StaffWorkspaces(settings)
        self._clients: dict[str, WebClient] = {}
        self.client = self._client(settings.slack_bot_token)  # the one workspace's (empty with several)

    def _client(self, token: str) -> WebClient:
        if token not in self._clients:
            self._clients[token] = WebClient(
                token=token or None,
                base_url=self.settings.slack_api_url,
                timeout=15,
                logger=api_logger(),
                retry_handlers=[
                    ConnectionErrorRetryHandler(max_retry_count=2),
                    RateLimitErrorRetryHandler(max_retry_count=3),
                ],
            )
        return self._clients[token]

    def dm(self, user_id: str, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        """Send `text` to one person's DM with the bot, in their own workspace."""
        tokens = self.workspaces.tokens_for(user_id)
        if not tokens:
            raise NoWorkspace("no installed Slack workspace is known for this member of staff")
        for i, token in enumerate(tokens):
            client = self._client(token)
            try:
                channel = client.conversations_open(users=user_id)["channel"]["id"]
            except SlackApiError as error:
                if i + 1 < len(tokens) and error.response.get("error") in NOT_HERE:
                    continue  # a SENCo shared by schools in two workspaces: try the next one
                raise
            client.chat_postMessage(channel=channel, text=text, blocks=blocks)
            return

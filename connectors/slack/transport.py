"""Sending broadcast messages to staff on Slack, for the outbox sender (`bot/sender.py`).

Each message is a direct message to one member of staff. Slack allows about one message a
second per conversation and a few hundred a minute per workspace; the sender keeps under
`overall_per_second` and waits out any 429 itself (so the client's own 429 retry is off
here, unlike the connector's). Failures are mapped onto `knowledge.broadcasts.delivery`.

With several workspaces (`from_settings`) each person is messaged with the bot token of
their own school's workspace, as `connectors.slack.notify` does.
"""

from __future__ import annotations

import asyncio

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from connectors.slack.config import api_logger, several_workspaces
from connectors.slack.workspaces import NOT_HERE, StaffWorkspaces
from knowledge.broadcasts.delivery import PermanentFailure, RateLimited, TemporaryFailure
from knowledge.shared.settings import Settings

# Slack error codes that mean this person can't be messaged until something changes.
PERMANENT = {
    "user_not_found",
    "users_not_found",
    "account_inactive",
    "user_disabled",
    "cannot_dm_bot",
    "channel_not_found",
    "is_archived",
    "not_in_channel",
    "user_is_restricted",
}


class SlackTransport:
    channel = "slack"
    overall_per_second = 4.0
    per_address_interval_s = 1.0

    def __init__(self, token: str, api_url: str, workspaces: StaffWorkspaces | None = None) -> None:
        """One workspace: `token`. Several: `workspaces` picks each person's token."""
        self.api_url = api_url
        self.workspaces = workspaces
        self._clients: dict[str, AsyncWebClient] = {}
        self.client = self._client(token)

    @classmethod
    def from_settings(cls, settings: Settings) -> SlackTransport:
        workspaces = StaffWorkspaces(settings) if several_workspaces(settings) else None
        return cls(settings.slack_bot_token, settings.slack_api_url, workspaces)

    def _client(self, token: str) -> AsyncWebClient:
        if token not in self._clients:
            self._clients[token] = AsyncWebClient(
                token=token or None,
                base_url=self.api_url,
                logger=api_logger(),
                retry_handlers=[AsyncConnectionErrorRetryHandler(max_retry_count=1)],
            )
        return self._clients[token]

    async def _clients_for(self, address: str) -> list[AsyncWebClient]:
        if self.workspaces is None:
            return [self.client]
        try:
            tokens = await asyncio.to_thread(self.workspaces.tokens_for, address)
        except Exception as error:  # the database is briefly unreachable: try again later
            raise TemporaryFailure(f"workspace lookup failed ({type(error).__name__})") from error
        return [self._client(token) for token in tokens]

    async def send(self, address: str, text: str) -> None:
        clients = await self._clients_for(address)
        if not clients:
            raise TemporaryFailure("no_workspace")  # until their school's workspace installs the app
        for i, client in enumerate(clients):
            try:
                await self._send(client, address, text)
                return
            except PermanentFailure as failure:
                if i + 1 < len(clients) and str(failure) in NOT_HERE:
                    continue  # a SENCo shared by schools in two workspaces: try the next one
                raise

    async def _send(self, client: AsyncWebClient, address: str, text: str) -> None:
        try:
            opened = await client.conversations_open(users=address)
            await client.chat_postMessage(channel=opened["channel"]["id"], text=text)
        except SlackApiError as error:
            response = error.response
            if response.status_code == 429:
                raise RateLimited(float(response.headers.get("Retry-After", 1) or 1)) from error
            code = str((response.data or {}).get("error", "")) if isinstance(response.data, dict) else ""
            if code in PERMANENT:
                raise PermanentFailure(code) from error
            raise TemporaryFailure(code or f"HTTP {response.status_code}") from error
        except (OSError, TimeoutError) as error:
            raise TemporaryFailure(type(error).__name__) from error

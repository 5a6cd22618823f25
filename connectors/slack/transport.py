"""Sending broadcast messages to staff on Slack, for the outbox sender (`bot/sender.py`).

Each message is a direct message to one member of staff. Slack allows about one message a
second per conversation and a few hundred a minute per workspace; the sender keeps under
`overall_per_second` and waits out any 429 itself (so the client's own 429 retry is off
here, unlike the connector's). Failures are mapped onto `knowledge.delivery`.
"""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from knowledge.delivery import PermanentFailure, RateLimited, TemporaryFailure

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

    def __init__(self, token: str, api_url: str) -> None:
        self.client = AsyncWebClient(
            token=token,
            base_url=api_url,
            retry_handlers=[AsyncConnectionErrorRetryHandler(max_retry_count=1)],
        )

    async def send(self, address: str, text: str) -> None:
        try:
            opened = await self.client.conversations_open(users=address)
            await self.client.chat_postMessage(channel=opened["channel"]["id"], text=text)
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

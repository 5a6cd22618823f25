"""Passing a Slack message to Rasa and getting the bot's replies back.

Messages go to the Rasa server's signed Slack bridge (`/webhooks/slack/webhook`, see
`connectors.rasa_channels.SlackBridgeInput`), so the Slack user id they carry is trusted
by the actions and nobody can post as a member of staff through the open REST channel.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp

from connectors import bridge_signing
from connectors.privacy import sender_ref

log = logging.getLogger(__name__)

UNAVAILABLE = (
    "Sorry, I can't answer just now because part of me is restarting. "
    "Please try again in a minute. If it's urgent, speak to the SENCo or the office."
)


@dataclass(frozen=True)
class SlackSender:
    """Who wrote, and where: enough for the actions to find the member of staff."""

    team_id: str
    user_id: str
    channel_id: str
    channel_type: str  # im | channel | group | mpim

    @property
    def sender_id(self) -> str:
        """One conversation per person per workspace, whether in a DM or by mention."""
        return f"slack-{self.team_id}-{self.user_id}"

    def metadata(self) -> dict[str, Any]:
        return {
            "slack": {
                "team_id": self.team_id,
                "user_id": self.user_id,
                "channel_id": self.channel_id,
                "channel_type": self.channel_type,
            }
        }


class RasaClient:
    """A small client for the bridge; one HTTP session for the connector's life."""

    def __init__(self, url: str, secret: str, timeout_s: float = 30) -> None:
        self.url = url
        self.secret = secret
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def send(self, sender: SlackSender, text: str) -> list[dict[str, Any]]:
        """The bot's replies, or one friendly 'try again' message if Rasa can't be reached."""
        body = json.dumps(
            {"sender": sender.sender_id, "message": text, "metadata": sender.metadata()}
        ).encode()
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        try:
            async with self._session.post(
                self.url, data=body, headers=bridge_signing.headers(self.secret, body)
            ) as response:
                if response.status != 200:
                    log.error("Rasa bridge answered %d for %s", response.status, sender_ref(sender.sender_id))
                    return [{"text": UNAVAILABLE}]
                replies = await response.json(content_type=None)
                return replies if isinstance(replies, list) else [{"text": UNAVAILABLE}]
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            log.error("Rasa bridge unreachable for %s: %s", sender_ref(sender.sender_id), type(error))
            return [{"text": UNAVAILABLE}]

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

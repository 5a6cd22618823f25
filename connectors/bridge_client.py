"""Passing a message from one of our connectors to Rasa's signed bridge, and the replies back.

Used by the Slack and Telegram connectors. Each message is signed with the bridge secret
(`connectors.bridge_signing`), so the identity in its metadata can be trusted by the
actions. If Rasa can't be reached the person gets one friendly "try again" message.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp

from connectors import bridge_signing
from connectors.privacy import sender_ref

log = logging.getLogger(__name__)

UNAVAILABLE = (
    "Sorry, I can't answer just now because part of me is restarting. "
    "Please try again in a minute. If it's urgent, please contact the school office."
)


def bridge_url(rasa_port: int, channel: str) -> str:
    return f"http://127.0.0.1:{rasa_port}/webhooks/{channel}/webhook"


class RasaClient:
    """A small client for the bridge; one HTTP session for the connector's life."""

    def __init__(self, url: str, secret: str, timeout_s: float = 30) -> None:
        self.url = url
        self.secret = secret
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def send(self, sender_id: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        """The bot's replies, or one friendly 'try again' message if Rasa can't be reached."""
        body = json.dumps({"sender": sender_id, "message": text, "metadata": metadata}).encode()
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        try:
            async with self._session.post(
                self.url, data=body, headers=bridge_signing.headers(self.secret, body)
            ) as response:
                if response.status != 200:
                    log.error("Rasa bridge answered %d for %s", response.status, sender_ref(sender_id))
                    return [{"text": UNAVAILABLE}]
                replies = await response.json(content_type=None)
                return replies if isinstance(replies, list) else [{"text": UNAVAILABLE}]
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            log.error("Rasa bridge unreachable for %s: %s", sender_ref(sender_id), type(error))
            return [{"text": UNAVAILABLE}]

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

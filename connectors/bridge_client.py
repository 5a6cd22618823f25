"""Passing a message from one of our connectors to Rasa's signed bridge, and the replies back.

Used by the Slack and Telegram connectors. Each message is signed with the bridge secret
(`connectors.bridge_signing`), so the identity in its metadata can be trusted by the
actions. If Rasa can't be reached the person gets one friendly "try again" message.

Each message carries a `message_id`, and an `X-Conversation-Id` header that nginx hashes
to keep a conversation on one Rasa server (the production profile, `bot.prod`). When the
bridge can't be reached, or answers 502/503/504 (a Rasa server restarting, or a message it
could not handle), the same message is sent again, with the same `message_id`, a few times:
the Rasa side (`connectors.rasa.exactly_once`) never answers one message twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

import aiohttp

from connectors import bridge_signing
from knowledge.shared.ids import sender_ref

log = logging.getLogger(__name__)

UNAVAILABLE = (
    "Sorry, I can't answer just now because part of me is restarting. "
    "Please try again in a minute. If it's urgent, please contact the school office."
)


def bridge_url(rasa_port: int, channel: str) -> str:
    return f"http://127.0.0.1:{rasa_port}/webhooks/{channel}/webhook"


RETRY_STATUSES = (502, 503, 504)
RETRY_PAUSES_S = (0.5, 2.0)  # after the first and the second try; then the person is told


class _TryAgain(Exception):
    pass


class RasaClient:
    """A small client for the bridge; one HTTP session for the connector's life."""

    def __init__(
        self, url: str, secret: str, timeout_s: float = 30, retry_pauses_s: tuple[float, ...] = RETRY_PAUSES_S
    ) -> None:
        self.url = url
        self.secret = secret
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.retry_pauses_s = retry_pauses_s
        self._session: aiohttp.ClientSession | None = None

    async def send(
        self, sender_id: str, text: str, metadata: dict[str, Any], message_id: str | None = None
    ) -> list[dict[str, Any]]:
        """The bot's replies, or one friendly 'try again' message if Rasa can't be reached.

        `message_id` (a fresh one when not given) makes a repeat of this message safe."""
        message_id = message_id or uuid.uuid4().hex
        body = json.dumps(
            {"sender": sender_id, "message": text, "metadata": metadata, "message_id": message_id}
        ).encode()
        for attempt in range(len(self.retry_pauses_s) + 1):
            if attempt:
                await asyncio.sleep(self.retry_pauses_s[attempt - 1])
            try:
                return await self._post(sender_id, body)
            except _TryAgain:
                continue
            except (aiohttp.ClientError, asyncio.TimeoutError, TimeoutError, ValueError) as error:
                log.error("Rasa bridge unreachable for %s: %s", sender_ref(sender_id), type(error))
                if isinstance(error, ValueError):  # an answer we can't read: not worth repeating
                    break
        return [{"text": UNAVAILABLE}]

    async def _post(self, sender_id: str, body: bytes) -> list[dict[str, Any]]:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        # Signed afresh on each try: the signature carries a timestamp.
        headers = {**bridge_signing.headers(self.secret, body), "X-Conversation-Id": sender_id}
        async with self._session.post(self.url, data=body, headers=headers) as response:
            if response.status != 200:
                log.error("Rasa bridge answered %d for %s", response.status, sender_ref(sender_id))
                if response.status in RETRY_STATUSES:
                    raise _TryAgain
                return [{"text": UNAVAILABLE}]
            replies = await response.json(content_type=None)
            return replies if isinstance(replies, list) else [{"text": UNAVAILABLE}]

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

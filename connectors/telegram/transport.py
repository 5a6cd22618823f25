"""Sending one text to one Telegram chat for the outbox (reminders, SENCo broadcasts).

Implements `knowledge.broadcasts.delivery.Transport`: it sends, or it raises what the outbox needs
to decide what to do next. Telegram's errors map as follows:

- flood control (429, `retry_after`)                     -> RateLimited(retry_after)
- 403 (the parent blocked the bot, account deactivated),
  400 "chat not found", a chat that moved                 -> PermanentFailure
- network errors, timeouts, 5xx, anything else            -> TemporaryFailure

Limits are Telegram's published ones (PTB `constants.FloodLimit`): about 30 messages a
second in all, and no more than one a second to the same chat.
"""

from __future__ import annotations

import re

from telegram import Bot
from telegram.constants import FloodLimit
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, RetryAfter, TelegramError

from connectors.telegram.replies import split_text
from connectors.telegram.sending import retry_after_s
from knowledge.broadcasts.delivery import PermanentFailure, RateLimited, TemporaryFailure

GONE = ("chat not found", "user not found", "peer_id_invalid", "chat_id is empty")
CHAT_ID = re.compile(r"^-?\d+$")


class TelegramTransport:
    """`await transport.send(chat_id, text)`; `await transport.close()` when done."""

    channel = "telegram"
    overall_per_second = float(FloodLimit.MESSAGES_PER_SECOND)
    per_address_interval_s = 1.0 / FloodLimit.MESSAGES_PER_SECOND_PER_CHAT

    def __init__(self, token: str, api_url: str = "https://api.telegram.org/bot") -> None:
        self.bot = Bot(token, base_url=api_url)
        self._started = False

    async def send(self, address: str, text: str) -> None:
        """Send `text` (plain, split if longer than Telegram allows) to chat `address`."""
        chat_id: int | str = int(address) if CHAT_ID.match(address) else address
        try:
            if not self._started:
                await self.bot.initialize()
                self._started = True
            for part in split_text(text):
                await self.bot.send_message(chat_id, part)
        except RetryAfter as error:
            raise RateLimited(retry_after_s(error)) from error
        except (Forbidden, ChatMigrated) as error:
            raise PermanentFailure(error.message) from error
        except BadRequest as error:
            if any(gone in error.message.lower() for gone in GONE):
                raise PermanentFailure(error.message) from error
            raise TemporaryFailure(error.message) from error
        except InvalidToken:  # its message holds the token: never pass that on
            raise TemporaryFailure("Telegram rejected TELEGRAM_BOT_TOKEN") from None
        except TelegramError as error:  # NetworkError, TimedOut, 5xx, Conflict
            raise TemporaryFailure(f"{type(error).__name__}: {error.message}") from error

    async def close(self) -> None:
        if self._started:
            await self.bot.shutdown()
            self._started = False

"""Talking back to Telegram: send, edit, take buttons away, answer a press, show "typing…".

Sending and editing wait out Telegram's flood control (`RetryAfter`) a few times; a courtesy
(typing, taking old buttons away, stopping a button's spinner) never fails an update.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import timedelta

from telegram import Bot, CallbackQuery, InlineKeyboardMarkup, Message
from telegram.constants import ChatAction
from telegram.error import BadRequest, RetryAfter, TelegramError

from connectors.telegram.replies import Outgoing

log = logging.getLogger(__name__)

TYPING_EVERY_S = 4.5  # Telegram shows "typing…" for about 5 s
SEND_ATTEMPTS = 3
LONGEST_WAIT_S = 30.0


def seconds(value: int | float | timedelta) -> float:
    """A Telegram time period (PTB gives int or timedelta, depending on PTB_TIMEDELTA)."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def retry_after_s(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB warns that the type of retry_after will change
        warnings.simplefilter("ignore")
        return seconds(error.retry_after)


async def post(bot: Bot, chat_id: int, message: Outgoing) -> Message:
    """Send one message as plain text, waiting out Telegram's flood control a few times."""
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            return await bot.send_message(chat_id, message.text, reply_markup=message.keyboard)
        except RetryAfter as error:
            if attempt == SEND_ATTEMPTS:
                raise
            await asyncio.sleep(min(retry_after_s(error), LONGEST_WAIT_S))
    raise AssertionError("unreachable")


async def edit(query: CallbackQuery, text: str, keyboard: InlineKeyboardMarkup | None = None) -> None:
    """Change the message a button is under (its buttons go when `keyboard` is None).

    Waits out flood control like `post`. A message Telegram won't edit (too old, deleted,
    unchanged) is left as it is: what the parent chose still counts.
    """
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            await query.edit_message_text(text, reply_markup=keyboard)
            return
        except RetryAfter as error:
            if attempt == SEND_ATTEMPTS:
                raise
            await asyncio.sleep(min(retry_after_s(error), LONGEST_WAIT_S))
        except BadRequest as error:
            log.info("could not edit a message: %s", error.message)
            return


async def take_buttons_away(bot: Bot, chat_id: int, message_id: int | None) -> None:
    if message_id is None:
        return
    with suppress(TelegramError):  # the message may be too old to edit; that's fine
        await bot.edit_message_reply_markup(chat_id, message_id, reply_markup=None)


def message_id_of(query: CallbackQuery) -> int | None:
    return query.message.message_id if query.message else None


async def acknowledge(query: CallbackQuery, text: str | None = None) -> None:
    """Stop the button's spinner (showing `text` briefly, if given); a press still counts if
    Telegram says it is too old to answer."""
    with suppress(TelegramError):
        await query.answer(text)


@asynccontextmanager
async def typing(bot: Bot, chat_id: int) -> AsyncIterator[None]:
    """Show "typing…" in the chat until the block ends."""

    async def keep_typing() -> None:
        while True:
            try:
                await bot.send_chat_action(chat_id, ChatAction.TYPING)
            except TelegramError:
                return  # only a courtesy
            await asyncio.sleep(TYPING_EVERY_S)

    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task

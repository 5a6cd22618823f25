"""Rasa input channels with the input guard in front: REST and socket.io.

They keep the built-in channels' URLs and protocols (`/webhooks/rest/webhook`,
`/socket.io`) and only wrap the `on_new_message` callback, so every message is
cleaned the same way whichever channel it came by. Registered in credentials.yml.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.channels.socketio import SocketIOInput
from sanic import Blueprint

from bot.settings import get_settings
from connectors import input_guard, rasa_speedups

rasa_speedups.apply()  # this module is the first of ours the Rasa server imports

log = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


def sender_ref(sender_id: str) -> str:
    """A short stable reference for logs: never log the sender id or text themselves."""
    return hashlib.sha256(str(sender_id).encode()).hexdigest()[:12]


def guarded(on_new_message: OnNewMessage) -> OnNewMessage:
    """Wrap Rasa's message handler with `input_guard.clean`."""
    max_chars = get_settings().max_message_chars

    async def handle(message: UserMessage) -> Any:
        cleaned = input_guard.clean(message.text, max_chars)
        message.text = cleaned.text
        message.metadata = {**(message.metadata or {}), "input_guard": cleaned.metadata()}
        log.info(
            "message from %s via %s: %d chars%s%s",
            sender_ref(message.sender_id),
            message.input_channel,
            cleaned.original_length,
            f", flagged {cleaned.issue}" if cleaned.issue else "",
            ", truncated" if cleaned.truncated else "",
        )
        if cleaned.truncated:
            await message.output_channel.send_text_message(
                message.sender_id, input_guard.truncation_notice(max_chars)
            )
        return await on_new_message(message)

    return handle


class GuardedRestInput(RestInput):
    """Rasa's REST channel (`/webhooks/rest/webhook`) behind the input guard."""

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        return super().blueprint(guarded(on_new_message))


class GuardedSocketIOInput(SocketIOInput):
    """Rasa's socket.io channel (used by the web chat page) behind the input guard."""

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        return super().blueprint(guarded(on_new_message))

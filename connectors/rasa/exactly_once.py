"""Each user message is handled once, however often it is delivered.

With two Rasa servers behind nginx a message can arrive twice: nginx retries it on the
other server when the first dies mid-request, and a client retries after its connection
dropped. Clients therefore send a `message_id` (REST body, the signed bridges, the web
page over socket.io), which becomes the `message_id` of Rasa's `UserMessage` and of the
`UserUttered` event saved in the tracker.

How a repeat is recognised, in Rasa 3.6's own order of work:

1. `Agent.handle_message` takes the conversation's lock from the lock store (Redis in the
   production profile, shared by every Rasa server) and only then calls
   `MessageProcessor.handle_message`. So two deliveries of one message never run at once:
   the second waits until the first has finished and saved its tracker (or died: a dead
   server's lock ticket expires after TICKET_LOCK_LIFETIME seconds).
2. The processor loads the tracker and calls `_handle_message_with_tracker(message,
   tracker)` just before it would log the new `UserUttered`. There we look for a
   `UserUttered` with the same `message_id` in the tracker already loaded (no extra query).
3. If there is one, the turn is not processed again: the bot messages (`BotUttered`) that
   followed that `UserUttered` are sent again to this delivery's output channel, exactly as
   Rasa sent them the first time (`send_response(sender, event.message())`), and nothing
   is saved. Otherwise Rasa carries on as usual.

Rasa saves a turn's events in one transaction at its end, so a delivery that died before
saving left nothing behind and the repeat is processed normally; one that saved is
replayed. A message without a `message_id` from the client gets a random one from Rasa,
which is never found, so it is handled exactly as before.

Known limit: a lock ticket lives TICKET_LOCK_LIFETIME seconds (including its wait), so a
repeat that arrives while a first delivery has already been running longer than that could
run alongside it, and the conversation would show the message twice. Its side effects still
happen once: the actions that book, broadcast, erase or record keep their result per
message_id (`knowledge.shared.action_ledger`), and the safeguarding screen, which runs in the
channel before the lock, records a disclosure once per message_id. A turn waiting for the
conversation store gives up before the lock expires (`connectors.rasa.tracker_store`).

`install()` patches the two methods on Rasa's `MessageProcessor` class once (idempotent);
`connectors.rasa.channels` calls it when the Rasa server loads our channels.
"""

from __future__ import annotations

import contextvars
import logging
from typing import Any, Iterable

from rasa.core.channels.channel import CollectingOutputChannel
from rasa.shared.core.events import BotUttered, Event, UserUttered

from knowledge.shared.ids import sender_ref

log = logging.getLogger(__name__)

MAX_MESSAGE_ID_CHARS = 200
_MARK = "_sendbot_exactly_once"

# The message whose delivery is being handled, so the check runs only inside handle_message
# (not when Rasa's HTTP API logs a message without running the bot).
_handling: contextvars.ContextVar[Any] = contextvars.ContextVar("sendbot_handling", default=None)


class AlreadyHandled(Exception):
    """Raised inside the processor when the message was handled before; carries its replies."""

    def __init__(self, replies: list[dict[str, Any]]) -> None:
        super().__init__(f"already handled ({len(replies)} replies)")
        self.replies = replies


def client_message_id(value: Any) -> str | None:
    """The `message_id` a client sent, as text; None when absent. ValueError when unusable."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError("message_id must be a string")
    text = str(value)
    if len(text) > MAX_MESSAGE_ID_CHARS:
        raise ValueError(f"message_id must be at most {MAX_MESSAGE_ID_CHARS} characters")
    return text


def replies_to(events: Iterable[Event], message_id: str) -> list[dict[str, Any]] | None:
    """The bot messages that answered the user message `message_id`, as Rasa sent them,
    or None when no user message with that id is in `events`."""
    found = False
    replies: list[dict[str, Any]] = []
    for event in events:
        if isinstance(event, UserUttered):
            if found:
                break
            found = event.message_id == message_id
        elif found and isinstance(event, BotUttered):
            replies.append(event.message())
    return replies if found else None


def install(processor_class: type | None = None) -> None:
    """Wrap `handle_message` and `_handle_message_with_tracker` of Rasa's `MessageProcessor`
    (or of `processor_class`, for tests) once."""
    if processor_class is None:
        from rasa.core.processor import MessageProcessor

        processor_class = MessageProcessor
    if getattr(processor_class, _MARK, False):
        return
    original_handle = processor_class.handle_message
    original_with_tracker = processor_class._handle_message_with_tracker

    async def handle_message(self: Any, message: Any) -> Any:
        token = _handling.set(message)
        try:
            return await original_handle(self, message)
        except AlreadyHandled as done:
            log.info(
                "message %s from %s was handled before: not processed again, its %d bot messages resent",
                message.message_id,
                sender_ref(message.sender_id),
                len(done.replies),
            )
            for reply in done.replies:
                await message.output_channel.send_response(message.sender_id, dict(reply))
            if isinstance(message.output_channel, CollectingOutputChannel):
                return message.output_channel.messages  # as MessageProcessor.handle_message does
            return None
        finally:
            _handling.reset(token)

    async def _handle_message_with_tracker(self: Any, message: Any, tracker: Any) -> None:
        if _handling.get() is message and message.message_id:
            replies = replies_to(tracker.events, message.message_id)
            if replies is not None:
                raise AlreadyHandled(replies)
        await original_with_tracker(self, message, tracker)

    processor_class.handle_message = handle_message
    processor_class._handle_message_with_tracker = _handle_message_with_tracker
    setattr(processor_class, _MARK, True)

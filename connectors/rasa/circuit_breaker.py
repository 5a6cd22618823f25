"""A conversation whose last turn tripped Rasa's circuit breaker answers the next message.

Rasa stops a turn after `max_number_of_predictions` actions without listening (the
"circuit breaker"). It then saves the conversation without the closing `action_listen`.
`MessageProcessor.is_action_limit_reached` counts actions back to the last
`action_listen`, so on every later message, `/restart` included, the limit is already
reached: the person gets no reply at all until the session expires.

Before a new message is logged we therefore close such an unfinished turn with the
`action_listen` Rasa would have saved. The rules (every intent has one, and the fallback
takes its message back) keep turns from looping in the first place; this is the safety
net, and it also frees conversations saved in that state before the rules were fixed.

`install()` wraps `MessageProcessor._handle_message_with_tracker` once (idempotent);
`connectors.rasa.channels` calls it when the Rasa server loads our channels.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.events import ActionExecuted

from knowledge.shared.ids import sender_ref

log = logging.getLogger(__name__)

_MARK = "_sendbot_listens_after_circuit_break"


def close_unfinished_turn(tracker: Any) -> bool:
    """Add the missing `action_listen` when the last turn ended without one; True if added."""
    latest = tracker.latest_action_name
    if not tracker.events or latest in (None, ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME):
        return False
    tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
    return True


def install(processor_class: type | None = None) -> None:
    """Wrap `_handle_message_with_tracker` of Rasa's `MessageProcessor` (or of
    `processor_class`, for tests) once."""
    if processor_class is None:
        from rasa.core.processor import MessageProcessor

        processor_class = MessageProcessor
    if getattr(processor_class, _MARK, False):
        return
    original = processor_class._handle_message_with_tracker

    async def _handle_message_with_tracker(self: Any, message: Any, tracker: Any) -> None:
        if close_unfinished_turn(tracker):
            log.warning(
                "conversation %s: the last turn ended without listening (circuit breaker); closed it",
                sender_ref(tracker.sender_id),
            )
        await original(self, message, tracker)

    processor_class._handle_message_with_tracker = _handle_message_with_tracker
    setattr(processor_class, _MARK, True)

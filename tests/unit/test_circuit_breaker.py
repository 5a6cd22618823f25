"""A conversation whose last turn tripped Rasa's circuit breaker answers the next message,
instead of staying silent until the session expires (connectors.rasa.circuit_breaker)."""

from __future__ import annotations

from types import SimpleNamespace

from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from connectors.rasa.circuit_breaker import close_unfinished_turn, install

LIMIT = SimpleNamespace(max_number_of_predictions=10)


def tripped_conversation() -> DialogueStateTracker:
    """A "yes" nobody asked for, answered by the fallback ten times and never listened after."""
    events = [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
        UserUttered("yes", {"name": "affirm", "confidence": 0.99}),
        *[ActionExecuted("action_default_fallback") for _ in range(10)],
    ]
    return DialogueStateTracker.from_events("web-parent", events)


def next_message(tracker: DialogueStateTracker, text: str = "/restart", intent: str = "restart") -> None:
    tracker.update(UserUttered(text, {"name": intent, "confidence": 1.0}))


def test_rasa_itself_would_stay_silent_on_every_later_message_even_restart():
    tracker = tripped_conversation()
    next_message(tracker)
    assert MessageProcessor.is_action_limit_reached(LIMIT, tracker, True)


def test_the_unfinished_turn_is_closed_so_the_next_message_is_answered():
    tracker = tripped_conversation()
    assert close_unfinished_turn(tracker)
    next_message(tracker, "hello", "greet")
    assert not MessageProcessor.is_action_limit_reached(LIMIT, tracker, True)
    assert tracker.events[-2] == ActionExecuted("action_listen")


def test_a_conversation_that_ended_normally_is_left_as_it_is():
    tracker = tripped_conversation()
    tracker.update(ActionExecuted("action_listen"))
    before = len(tracker.events)
    assert not close_unfinished_turn(tracker)
    assert len(tracker.events) == before
    assert not close_unfinished_turn(DialogueStateTracker.from_events("new", []))


async def test_installed_it_runs_before_rasa_logs_the_new_message():
    seen = []

    class Processor:
        async def _handle_message_with_tracker(self, message, tracker):
            seen.append(tracker.latest_action_name)

    install(Processor)
    install(Processor)  # idempotent
    await Processor()._handle_message_with_tracker(SimpleNamespace(text="hi"), tripped_conversation())
    assert seen == ["action_listen"]

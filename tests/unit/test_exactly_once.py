"""connectors.rasa.exactly_once: a repeated message_id gets the first delivery's replies, not a second
turn. Against a stand-in for Rasa's MessageProcessor with the same two methods and the same
order of work (no TensorFlow), then once against Rasa's own class."""

from __future__ import annotations

import asyncio

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from connectors.rasa import exactly_once


class FakeProcessor:
    """Rasa's order: load the tracker, `_handle_message_with_tracker` logs the user message,
    the bot answers through the output channel, the tracker is saved at the end."""

    def __init__(self) -> None:
        self.store: dict[str, list] = {}
        self.turns = 0

    def load(self, sender: str) -> DialogueStateTracker:
        return DialogueStateTracker.from_events(sender, list(self.store.get(sender, [])))

    async def handle_message(self, message: UserMessage):
        tracker = self.load(message.sender_id)
        await self._handle_message_with_tracker(message, tracker)
        self.turns += 1
        buttons = [{"title": "More", "payload": "/more"}]
        answer = BotUttered(f"answer {self.turns} to {message.text}", data={"buttons": buttons})
        await message.output_channel.send_response(message.sender_id, answer.message())
        tracker.update(answer)
        self.store[message.sender_id] = list(tracker.events)  # saved in one go, at the end
        if isinstance(message.output_channel, CollectingOutputChannel):
            return message.output_channel.messages
        return None

    async def log_message(self, message: UserMessage):
        """As Rasa's HTTP API logs a message without running the bot (no check there)."""
        tracker = self.load(message.sender_id)
        await self._handle_message_with_tracker(message, tracker)
        self.store[message.sender_id] = list(tracker.events)
        return tracker

    async def _handle_message_with_tracker(self, message: UserMessage, tracker) -> None:
        tracker.update(UserUttered(message.text, message_id=message.message_id))


@pytest.fixture
def processor() -> FakeProcessor:
    cls = type("Processor", (FakeProcessor,), {})  # a fresh class for each test: install patches it
    exactly_once.install(cls)
    return cls()


def deliver(processor, text: str, message_id: str | None, sender: str = "parent-1") -> list[dict]:
    output = CollectingOutputChannel()
    asyncio.run(processor.handle_message(UserMessage(text, output, sender, message_id=message_id)))
    return output.messages


def test_a_repeated_message_id_gets_the_same_replies_and_is_not_processed_again(processor):
    first = deliver(processor, "how long does an ehcp take", "m-1")
    again = deliver(processor, "how long does an ehcp take", "m-1")
    assert again == first and first[0]["text"] == "answer 1 to how long does an ehcp take"
    assert first[0]["buttons"] == [{"title": "More", "payload": "/more"}]
    assert processor.turns == 1
    user_ids = [e.message_id for e in processor.store["parent-1"] if isinstance(e, UserUttered)]
    assert user_ids == ["m-1"]


def test_new_message_ids_and_messages_without_one_are_processed_as_usual(processor):
    deliver(processor, "one", "m-1")
    assert deliver(processor, "two", "m-2")[0]["text"] == "answer 2 to two"
    assert deliver(processor, "three", None)[0]["text"] == "answer 3 to three"  # Rasa gives it a random id
    assert deliver(processor, "three", None)[0]["text"] == "answer 4 to three"
    assert processor.turns == 4


def test_the_same_message_id_in_another_conversation_is_another_message(processor):
    deliver(processor, "hello", "m-1", sender="parent-1")
    assert deliver(processor, "hello", "m-1", sender="parent-2")[0]["text"] == "answer 2 to hello"


def test_a_repeat_of_an_earlier_message_gets_that_messages_replies(processor):
    deliver(processor, "first", "m-1")
    deliver(processor, "second", "m-2")
    assert deliver(processor, "first", "m-1")[0]["text"] == "answer 1 to first"
    assert processor.turns == 2


def test_logging_a_message_outside_handle_message_is_untouched(processor):
    deliver(processor, "first", "m-1")
    message = UserMessage("first", CollectingOutputChannel(), "parent-1", message_id="m-1")
    asyncio.run(processor.log_message(message))
    assert [e.message_id for e in processor.store["parent-1"] if isinstance(e, UserUttered)] == ["m-1", "m-1"]


def test_install_is_idempotent():
    cls = type("Processor", (FakeProcessor,), {})
    exactly_once.install(cls)
    wrapped = cls.handle_message
    exactly_once.install(cls)
    assert cls.handle_message is wrapped


def test_replies_to_takes_the_bot_messages_up_to_the_next_user_message():
    events = [
        SessionStarted(),
        ActionExecuted("action_listen"),
        UserUttered("a", message_id="m-1"),
        ActionExecuted("action_answer"),
        BotUttered("one"),
        BotUttered("two", data={"buttons": [{"title": "t", "payload": "/p"}]}),
        ActionExecuted("action_listen"),
        UserUttered("b", message_id="m-2"),
        BotUttered("three"),
    ]
    replies = exactly_once.replies_to(events, "m-1")
    assert [r["text"] for r in replies] == ["one", "two"]
    assert replies[1]["buttons"] == [{"title": "t", "payload": "/p"}]
    assert [r["text"] for r in exactly_once.replies_to(events, "m-2")] == ["three"]
    assert exactly_once.replies_to(events, "m-3") is None
    assert exactly_once.replies_to([UserUttered("c", message_id="m-4")], "m-4") == []  # no reply, still seen


@pytest.mark.parametrize("value, expected", [(None, None), ("", None), ("abc", "abc"), (42, "42")])
def test_client_message_ids_are_read_as_text(value, expected):
    assert exactly_once.client_message_id(value) == expected


@pytest.mark.parametrize("value", [{"x": 1}, ["a"], True, 1.5, "x" * 201])
def test_unusable_client_message_ids_are_refused(value):
    with pytest.raises(ValueError):
        exactly_once.client_message_id(value)


def test_the_rasa_server_gets_the_check_when_it_loads_our_channels():
    from rasa.core.processor import MessageProcessor

    import connectors.rasa.channels  # noqa: F401 - importing it installs the check

    assert getattr(MessageProcessor, exactly_once._MARK)
    assert MessageProcessor.handle_message.__module__ == "connectors.rasa.exactly_once"

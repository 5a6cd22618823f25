"""A message a connector only wants screened (`screen_only`, e.g. a Telegram group message):
the guarded channel records and answers a concern as usual, and answers nothing otherwise.

Only the signed bridges may ask for it; from any other channel the key is dropped and the
message is an ordinary turn. Runs `connectors.rasa.channels.guarded` on a real database,
with a stand-in for Rasa's message handler (no model needed).
"""

from __future__ import annotations

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from sqlalchemy import select

from connectors.rasa import channels as rasa_channels
from knowledge.shared.db import unit_of_work
from knowledge.shared.models import SafeguardingRecord

DISCLOSURE = "my son told me his stepdad hits him with a belt"
GROUP = {"telegram": {"chat_id": -2001, "chat_type": "group"}, "screen_only": True}


@pytest.fixture
def turns(settings, monkeypatch) -> list[UserMessage]:
    monkeypatch.setattr(rasa_channels, "get_settings", lambda: settings)
    return []


def handler(turns: list[UserMessage]):
    async def on_new_message(message: UserMessage) -> None:
        turns.append(message)

    return on_new_message


def records(settings) -> list[SafeguardingRecord]:
    with unit_of_work(settings.database_url) as session:
        return list(session.execute(select(SafeguardingRecord)).scalars())


async def test_an_ordinary_screen_only_message_is_not_a_turn_and_gets_no_answer(settings, turns):
    collector = CollectingOutputChannel()
    message = UserMessage(
        "see you all at pickup", collector, "telegram-42", input_channel="telegram", metadata=dict(GROUP)
    )
    await rasa_channels.guarded(handler(turns), trusted=True)(message)
    assert turns == [] and collector.messages == [] and records(settings) == []


async def test_a_screen_only_concern_is_recorded_once_and_gets_the_safeguarding_turn(settings, turns):
    for _ in range(2):  # delivered twice, under one message_id
        message = UserMessage(
            DISCLOSURE,
            CollectingOutputChannel(),
            "telegram-42",
            input_channel="telegram",
            metadata=dict(GROUP),
            message_id="telegram-1-(-2001)-7",
        )
        await rasa_channels.guarded(handler(turns), trusted=True)(message)
    assert [t.text for t in turns] == ["/safeguarding_concern"] * 2  # Rasa's exactly-once replays the second
    (record,) = records(settings)
    assert record.message == DISCLOSURE and record.channel == "telegram"


async def test_screen_only_from_an_unsigned_channel_is_ignored(settings, turns):
    message = UserMessage(
        "see you all at pickup",
        CollectingOutputChannel(),
        "web-someone",
        input_channel="rest",
        metadata={"screen_only": True},
    )
    await rasa_channels.guarded(handler(turns))(message)
    (turn,) = turns
    assert turn.text == "see you all at pickup" and "screen_only" not in turn.metadata

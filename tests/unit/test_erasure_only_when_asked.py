"""A conversation is deleted only when the person asked for that and then said yes to the
question (issue #15: an everyday "what can I safely delete?" is not a request to erase)."""

from __future__ import annotations

import pytest
from rasa_sdk import Tracker
from sqlalchemy import select

from actions import actions
from knowledge.privacy import rights as privacy
from knowledge.shared.db import unit_of_work
from knowledge.shared.models import ErasureRequest
from tests.unit.custom_actions import said

ERASE_QUESTION = privacy.confirm_erase_reply().text


def tracker(intent: str, text: str, events: list[dict] | None = None) -> Tracker:
    return Tracker.from_dict(
        {
            "sender_id": "parent-erase",
            "slots": {},
            "latest_message": {
                "text": text,
                "intent": {"name": intent, "confidence": 0.9},
                "intent_ranking": [{"name": intent, "confidence": 0.9}],
                "entities": [],
                "metadata": {},
                "message_id": "m-erase",
            },
            "events": events or [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        }
    )


def erasures(settings) -> int:
    with unit_of_work(settings.database_url) as session:
        return len(session.execute(select(ErasureRequest)).all())


@pytest.mark.parametrize(
    "text",
    [
        "please delete this conversation",
        "forget me",
        "can you erase what I said about my son",
        "wipe my data",
    ],
)
async def test_asking_to_erase_gets_the_question_first(on, text):
    assert ERASE_QUESTION in await said(actions.ActionAskEraseConfirmation(), tracker("erase_my_data", text))


@pytest.mark.parametrize(
    "text",
    ["my phone storage is full, what can I safely delete", "how do I delete an app on an iPad"],
)
async def test_an_everyday_question_about_deleting_is_answered_not_taken_as_a_request(on, text):
    reply = await said(actions.ActionAskEraseConfirmation(), tracker("erase_my_data", text))
    assert ERASE_QUESTION not in reply and reply


async def test_yes_to_the_erase_question_erases(on):
    events = [
        {"event": "user", "text": "delete my data", "parse_data": {"intent": {"name": "erase_my_data"}}},
        {"event": "bot", "text": ERASE_QUESTION},
        {"event": "user", "text": "yes", "parse_data": {"intent": {"name": "affirm"}}},
    ]
    await said(actions.ActionEraseMyData(), tracker("affirm", "yes", events))
    assert erasures(on) == 1


async def test_a_yes_after_any_other_reply_erases_nothing(on):
    events = [
        {
            "event": "user",
            "text": "what can I safely delete",
            "parse_data": {"intent": {"name": "erase_my_data"}},
        },
        {"event": "bot", "text": "Sorry, I can't help with that."},
        {"event": "user", "text": "yes", "parse_data": {"intent": {"name": "affirm"}}},
    ]
    reply = await said(actions.ActionEraseMyData(), tracker("affirm", "yes", events))
    assert erasures(on) == 0 and "deleted" not in reply.lower()

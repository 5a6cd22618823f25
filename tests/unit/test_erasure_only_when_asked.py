"""A conversation is deleted only when the person asked for that and then said yes to the
question (issue #15: an everyday "what can I safely delete?" is not a request to erase)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from actions import actions
from knowledge.privacy import rights as privacy
from knowledge.shared.db import unit_of_work
from knowledge.shared.models import ErasureRequest
from tests.unit.custom_actions import said, tracker

ERASE_QUESTION = privacy.confirm_erase_reply().text


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
    await said(actions.ActionEraseMyData(), tracker("affirm", "yes", events=events))
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
    reply = await said(actions.ActionEraseMyData(), tracker("affirm", "yes", events=events))
    assert erasures(on) == 0 and "deleted" not in reply.lower()

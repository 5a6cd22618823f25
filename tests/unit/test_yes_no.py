"""A typed "yes" or "no": it answers the question just asked, as its button would, and when
nothing was asked it gets a kind "what would you like to do?", never a fallback loop.

Run as the action server runs the actions (no TensorFlow): the first action's own events are
replayed into the tracker that the typed answer arrives with."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import actions
from knowledge.schools.staff import find_staff
from knowledge.shared.db import unit_of_work
from knowledge.shared.models import Booking, SafeguardingRecord
from knowledge.shared.settings import PROJECT_ROOT
from knowledge.surgery import booking
from tests.builders import add_slot

SCHOOL = "example-primary"
TEACHER = "U0EXTEACH1"


@pytest.fixture(autouse=True)
def use_test_settings(settings, monkeypatch):
    monkeypatch.setattr(actions, "get_settings", lambda: settings)


class Conversation:
    """One person's conversation as the action server sees it: the events so far, and the
    message being answered now."""

    def __init__(self, channel: str = "rest", slack_user: str | None = None) -> None:
        self.channel, self.slack_user, self.events = channel, slack_user, []
        self.count = 0

    def _message(self, intent: str, text: str, entities: list | None = None) -> dict:
        self.count += 1
        metadata = {"slack": {"user_id": self.slack_user}} if self.slack_user else {}
        return {
            "text": text,
            "intent": {"name": intent, "confidence": 0.95},
            "entities": entities or [],
            "metadata": metadata,
            "message_id": f"m{self.count}",
        }

    async def says(self, action, intent: str, text: str, entities: list | None = None) -> list[dict]:
        """The person sends a message; `action` answers it. Returns the bot's messages."""
        latest = self._message(intent, text, entities)
        self.events += [
            {"event": "action", "name": "action_listen"},
            {"event": "user", "text": text, "parse_data": latest, "input_channel": self.channel},
        ]
        tracker = Tracker(
            "slack-T1-" + TEACHER if self.slack_user else "web-parent-1",
            {},
            latest,
            list(self.events),
            False,
            None,
            {},
            "action_listen",
        )
        dispatcher = CollectingDispatcher()
        returned = await action.run(dispatcher, tracker, {})
        for message in dispatcher.messages:
            self.events.append({"event": "bot", "text": message.get("text"), "data": message})
        for event in returned:
            self.events.append(dict(event))
        self.events.append({"event": "action", "name": action.name()})
        return dispatcher.messages


def a_booking(settings) -> int:
    """An active booking of the teacher's, three days ahead."""
    starts = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3)).replace(microsecond=0)
    slot_id = add_slot(settings.database_url, SCHOOL, starts)
    with unit_of_work(settings.database_url) as session:
        member = find_staff(session, SCHOOL, TEACHER)
        made = booking.book(session, member, slot_id, topic="reading", now=dt.datetime.now(dt.timezone.utc))
        return made.id


def status_of(settings, booking_id: int) -> str:
    with unit_of_work(settings.database_url) as session:
        return session.get(Booking, booking_id).status


async def test_a_yes_nobody_asked_for_asks_kindly_what_they_would_like_with_buttons():
    parent = Conversation()
    [reply] = await parent.says(actions.ActionAnswerYesNo(), "affirm", "yes")
    assert reply["text"].startswith("OK. What would you like to do?")
    assert "Sorry" not in reply["text"]
    assert len(reply["buttons"]) >= 4


async def test_a_no_nobody_asked_for_gets_no_problem_and_the_menu():
    parent = Conversation()
    [reply] = await parent.says(actions.ActionAnswerYesNo(), "deny", "nope")
    assert reply["text"].startswith("No problem. What would you like to do?")
    assert reply["buttons"]


async def test_staff_on_slack_who_say_yes_out_of_the_blue_get_the_surgery_menu():
    teacher = Conversation("slack", TEACHER)
    [reply] = await teacher.says(actions.ActionAnswerYesNo(), "affirm", "ok")
    assert "What would you like to do?" in reply["text"]
    assert "/list_free_slots" in [b["payload"] for b in reply["buttons"]]


async def test_a_typed_yes_after_cancel_my_booking_cancels_it_as_the_button_would(settings):
    booking_id = a_booking(settings)
    teacher = Conversation("slack", TEACHER)
    [question] = await teacher.says(actions.ActionSurgery(), "cancel_booking", "cancel my booking")
    assert question["text"].startswith("Cancel your SENCo surgery slot")
    assert status_of(settings, booking_id) == "active"

    replies = await teacher.says(actions.ActionAnswerYesNo(), "affirm", "yes")
    assert replies[0]["text"].startswith("Cancelled your slot")
    assert status_of(settings, booking_id) == "cancelled"


async def test_a_typed_no_after_the_confirmation_keeps_the_booking(settings):
    booking_id = a_booking(settings)
    teacher = Conversation("slack", TEACHER)
    await teacher.says(actions.ActionSurgery(), "cancel_booking", "cancel my booking")
    [reply] = await teacher.says(actions.ActionAnswerYesNo(), "deny", "no")
    assert "Cancelled" not in reply["text"]
    assert status_of(settings, booking_id) == "active"


async def test_a_yes_answers_only_the_question_just_asked_not_an_older_one(settings):
    booking_id = a_booking(settings)
    teacher = Conversation("slack", TEACHER)
    await teacher.says(actions.ActionSurgery(), "cancel_booking", "cancel my booking")
    await teacher.says(actions.ActionSmallTalk(), "thanks", "thanks")
    [reply] = await teacher.says(actions.ActionAnswerYesNo(), "affirm", "yes")
    assert "What would you like to do?" in reply["text"]
    assert status_of(settings, booking_id) == "active"


async def test_a_typed_yes_to_the_safeguarding_check_after_a_question_gives_the_full_reply(
    settings, monkeypatch
):
    monkeypatch.setattr(actions, "possible_concern", lambda tracker: True)
    parent = Conversation()
    [check] = await parent.says(
        actions.ActionAnswerTopic(), "ask_everyday_support", "he comes home with bruises and won't say why"
    )
    assert "are you worried that a child is being harmed" in check["text"]
    monkeypatch.undo()
    monkeypatch.setattr(actions, "get_settings", lambda: settings)
    [reply] = await parent.says(actions.ActionAnswerYesNo(), "affirm", "yes")
    assert "999" in reply["text"] and reply["text"].startswith("Thank you")
    with unit_of_work(settings.database_url) as session:
        [record] = session.execute(select(SafeguardingRecord)).scalars().all()
        assert record.sender_answer == "yes" and record.alerted_at is not None


async def test_a_question_with_yes_no_buttons_remembers_them_for_the_next_message(settings):
    a_booking(settings)
    teacher = Conversation("slack", TEACHER)
    await teacher.says(actions.ActionSurgery(), "cancel_booking", "cancel my booking")
    [remembered] = [e for e in teacher.events if e.get("event") == "slot"]
    assert remembered["name"] == actions.PENDING_ANSWERS
    assert set(remembered["value"]) == {"yes", "no"}
    assert remembered["value"]["yes"].startswith("/cancel_booking")


async def test_an_answer_without_a_question_remembers_nothing():
    parent = Conversation()
    await parent.says(actions.ActionAnswerTopic(), "ask_appeal", "can I appeal")
    assert SlotSet(actions.PENDING_ANSWERS, None) not in parent.events
    assert not [e for e in parent.events if e.get("event") == "slot"]


async def test_the_dialogue_fallback_takes_the_message_back_so_the_policy_listens_next():
    parent = Conversation()
    replies = await parent.says(actions.ActionDefaultFallback(), "affirm", "hmm")
    assert replies[0]["text"].startswith("Sorry, I can't help with that")
    assert parent.events[-2] == dict(UserUtteranceReverted())


def test_every_button_intent_runs_the_action_the_rules_give_it():
    rules = yaml.safe_load(Path(PROJECT_ROOT / "nlu/rules/rules.yml").read_text())["rules"]
    action_of: dict[str, str] = {}
    for rule in rules:
        steps = rule["steps"]
        if len(steps) == 2 and "action" in steps[1]:
            first = steps[0]
            intents = [s["intent"] for s in first["or"]] if "or" in first else [first.get("intent")]
            for intent in intents:
                action_of[intent] = steps[1]["action"]
    for intent, action in actions.BUTTON_ACTIONS.items():
        assert action_of[intent] == action.name(), intent


def test_the_safeguarding_checks_buttons_can_be_answered_by_typing():
    from knowledge.safeguarding.replies import safeguarding_check_reply

    for button in safeguarding_check_reply(1).buttons:
        intent, _ = actions.button_press(button.payload)
        assert intent in actions.BUTTON_ACTIONS and button.answers in ("yes", "no")


def test_a_button_payload_is_read_as_rasa_reads_it():
    assert actions.button_press('/cancel_booking{"booking_id": "5", "confirm": "yes"}') == (
        "cancel_booking",
        [{"entity": "booking_id", "value": "5"}, {"entity": "confirm", "value": "yes"}],
    )
    assert actions.button_press("/my_bookings") == ("my_bookings", [])
    assert actions.button_press("/cancel_booking{not json") is None
    assert actions.button_press("yes please") is None

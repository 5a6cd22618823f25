"""The Rasa custom actions, run as the action server runs them (no TensorFlow needed)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions import actions
from knowledge.shared.db import unit_of_work
from knowledge.shared.models import SafeguardingRecord
from knowledge.shared.settings import PROJECT_ROOT


@pytest.fixture(autouse=True)
def use_test_settings(settings, monkeypatch):
    monkeypatch.setattr(actions, "get_settings", lambda: settings)


def tracker(intent: str, text: str, entities: list | None = None, sender: str = "parent-1") -> Tracker:
    return Tracker.from_dict(
        {
            "sender_id": sender,
            "slots": {},
            "latest_message": {
                "text": text,
                "intent": {"name": intent, "confidence": 0.9},
                "entities": entities or [],
                "metadata": {},
            },
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        }
    )


async def run(action, intent: str, text: str, entities: list | None = None) -> list[dict]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker(intent, text, entities), {})
    assert events == []
    return dispatcher.messages


async def test_a_topic_question_is_answered_with_source_and_buttons():
    [message] = await run(actions.ActionAnswerTopic(), "ask_ehcp_timeline", "how long does an ehcp take")
    assert "20 weeks" in message["text"]
    assert "Source:" in message["text"]
    assert message["buttons"][-1] == {"title": "Talk to a person", "payload": "/ask_contact_senco"}


async def test_a_button_payload_is_not_searched_as_words():
    [message] = await run(actions.ActionAnswerTopic(), "ask_appeal", "/ask_appeal")
    assert "Tribunal" in message["text"]


async def test_the_local_offer_search_uses_entities_and_age():
    entities = [{"entity": "service_type", "value": "occupational therapy"}]
    [message] = await run(
        actions.ActionSearchLocalOffer(), "search_local_offer", "any ot for my 7 year old", entities
    )
    assert "Occupational Therapy" in message["text"]
    assert "7-year-old" in message["text"]


async def test_low_confidence_gets_an_honest_answer():
    [message] = await run(actions.ActionAnswerUnknown(), "nlu_fallback", "can you book me a taxi")
    assert message["text"].startswith("Sorry, I can't help with that")
    assert len(message["buttons"]) >= 4


async def test_bad_input_reads_the_guards_entity():
    entities = [{"entity": "input_issue", "value": "other_language"}]
    [message] = await run(
        actions.ActionBadInput(), "bad_input", '/bad_input{"input_issue":"other_language"}', entities
    )
    assert "English" in message["text"]


async def test_small_talk_answers_each_intent():
    for intent in ("greet", "goodbye", "thanks", "help", "bot_challenge"):
        [message] = await run(actions.ActionSmallTalk(), intent, "hi")
        assert message["text"]


async def test_a_failure_becomes_an_apology_not_a_stack_trace(monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("database is down")

    monkeypatch.setattr(actions.Assistant, "answer_question", broken)
    [message] = await run(actions.ActionAnswerTopic(), "ask_appeal", "can I appeal")
    assert message["text"] == actions.SORRY


def test_the_action_server_does_not_load_tensorflow():
    code = "import actions.actions, sys; print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


async def test_a_flagged_disclosure_gets_the_safeguarding_reply_without_a_second_record(settings):
    dispatcher = CollectingDispatcher()
    flagged = tracker("safeguarding_concern", "/safeguarding_concern")
    flagged.latest_message["metadata"] = {"safeguarding": {"record_id": 7, "child_voice": True}}
    await actions.ActionSafeguarding().run(dispatcher, flagged, {})
    [message] = dispatcher.messages
    assert message["text"].startswith("Thank you for telling us")
    assert "0800 1111" in message["text"]
    with unit_of_work(settings.database_url) as session:
        assert session.execute(select(func.count(SafeguardingRecord.id))).scalar_one() == 0


async def test_the_dialogue_fallback_says_what_the_bot_can_do_and_takes_the_message_back():
    dispatcher = CollectingDispatcher()
    events = await actions.ActionDefaultFallback().run(dispatcher, tracker("nlu_fallback", "hmm"), {})
    [message] = dispatcher.messages
    assert message["text"].startswith("Sorry, I can't help with that")
    assert events == [{"event": "rewind", "timestamp": None}]


async def test_a_question_the_model_half_reads_as_a_concern_is_checked_before_it_is_answered(settings):
    from knowledge.shared.models import SafeguardingRecord

    text = "he keeps saying he doesn't want to go to his dad's at the weekend anymore"
    half = tracker("ask_everyday_support", text)
    half.latest_message["intent_ranking"] = [
        {"name": "ask_everyday_support", "confidence": 0.8},
        {"name": "safeguarding_concern", "confidence": 0.15},
    ]
    dispatcher = CollectingDispatcher()
    await actions.ActionAnswerTopic().run(dispatcher, half, {})
    (reply,) = dispatcher.messages
    assert reply["text"].startswith("Before I answer, can I check one thing")
    with unit_of_work(settings.database_url) as session:
        assert session.execute(select(SafeguardingRecord.message)).scalar_one() == text

    plain = tracker("ask_everyday_support", "what is a sensory circuit")
    plain.latest_message["intent_ranking"] = [
        {"name": "ask_everyday_support", "confidence": 0.95},
        {"name": "safeguarding_concern", "confidence": 0.02},
    ]
    dispatcher = CollectingDispatcher()
    await actions.ActionAnswerTopic().run(dispatcher, plain, {})
    assert not dispatcher.messages[0]["text"].startswith("Before I answer")


async def test_a_question_the_model_read_as_a_service_search_gets_the_banks_confident_answer():
    """The model sends "how far away..." to the local offer search because it names transport;
    the answer bank knows the answer, so that comes first (issue #15)."""
    [message] = await run(
        actions.ActionSearchLocalOffer(),
        "search_local_offer",
        "How many miles from school before the council has to give free school transport?",
    )
    assert "3 miles" in message["text"]
    assert "local offer" not in message["text"].split("\n")[0]


async def test_a_search_for_a_service_still_searches_the_local_offer():
    [message] = await run(
        actions.ActionSearchLocalOffer(),
        "search_local_offer",
        "is there any help with school transport for SEND",
    )
    assert "local offer" in message["text"].split("\n")[0]

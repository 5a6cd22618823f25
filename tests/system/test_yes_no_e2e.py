"""A typed "yes", "no", "ok", "sure" or "nope" on every channel and in every state: it does
what the waiting question's button does, or, when nothing is waiting, gets one kind "what
would you like to do?", and the conversation goes on. Never ten "Sorry"s, never silence.

States: nothing asked; a booking cancellation waiting (Slack); an erasure waiting; a
safeguarding check waiting. Channels: REST (the web page's socket.io shares its guard and
dialogue), Slack and Telegram through their real connectors and fake APIs.
"""

from __future__ import annotations

import secrets

import httpx
import pytest
import yaml
from sqlalchemy import select

from knowledge.shared.db import unit_of_work
from knowledge.shared.models import Booking, SafeguardingRecord
from knowledge.shared.settings import PROJECT_ROOT
from tests.system.conftest import web_sender
from tests.system.test_slack_e2e import StaffMemberOnSlack, button, text_of
from tests.system.test_telegram_e2e import ParentOnTelegram, texts

NOTHING_ASKED = "What would you like to do?"
TEACHING_ASSISTANT = "U0EXTA0001"
BARE_ANSWERS = ("yes", "no", "ok", "sure", "nope", "yes please")


def sender() -> str:
    return "yes-no-" + secrets.token_hex(5)


def events_of_last_turn(bot, who: str) -> list[dict]:
    """The events since the person's last message (that message included)."""
    events = bot.tracker(who)["events"]
    last_user = max(i for i, e in enumerate(events) if e["event"] == "user")
    return events[last_user:]


def assert_one_reply_then_listening(bot, who: str) -> None:
    turn = events_of_last_turn(bot, who)
    actions = [e["name"] for e in turn if e["event"] == "action"]
    assert actions[-1] == "action_listen", actions
    assert len(actions) <= 3, actions  # the answer (maybe a rewind's listen), then listen
    assert "action_default_fallback" not in actions


@pytest.mark.parametrize("said", BARE_ANSWERS)
def test_a_bare_answer_nobody_asked_for_on_rest_gets_one_kind_question_and_the_talk_goes_on(bot, said):
    who = sender()
    replies = bot.say(said, who)
    assert len(replies) == 1, replies
    assert NOTHING_ASKED in replies[0]["text"] and replies[0].get("buttons")
    assert_one_reply_then_listening(bot, web_sender(who))
    assert "20 weeks" in bot.ask("how long does an EHCP take?", who)


def test_every_intent_sent_when_nothing_waits_for_it_gets_a_reply_and_the_bot_listens(bot):
    """Every intent of the domain, as a payload from a client that was not asked anything."""
    intents = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())["intents"]
    for intent in intents:
        who = sender()
        replies = bot.say(f"/{intent}", who, timeout=90)
        assert replies and all(r.get("text") or r.get("custom") for r in replies), intent
        assert_one_reply_then_listening(bot, web_sender(who))
        assert bot.say("hello", who), f"no reply after /{intent}"


def test_a_conversation_that_tripped_the_circuit_breaker_answers_the_next_message(bot):
    """A conversation saved in the state the old loop left behind (ten fallbacks, no listen)."""
    who = sender()
    bot.say("hello", who)
    stuck = [{"event": "user", "text": "yes", "parse_data": {"intent": {"name": "affirm"}}}]
    stuck += [{"event": "action", "name": "action_default_fallback"} for _ in range(10)]
    response = httpx.post(
        f"{bot.rasa_url}/conversations/{web_sender(who)}/tracker/events",
        params={"token": bot.api_token, "execute_side_effects": "false"},
        json=stuck,
        timeout=30,
    )
    response.raise_for_status()
    assert "Hello" in bot.ask("hello", who)
    assert "20 weeks" in bot.ask("how long does an EHCP take?", who)


def test_a_typed_yes_while_erasure_waits_erases_and_a_typed_no_keeps(bot):
    who = sender()
    bot.say("what is an ehcp", who)
    assert "can't be undone" in bot.ask("please delete this conversation", who)
    assert bot.ask("yes", who).startswith("Done.")

    other = sender()
    assert "can't be undone" in bot.ask("please delete this conversation", other)
    assert "haven't deleted" in bot.ask("nope", other)


def test_a_typed_yes_while_the_safeguarding_check_waits_gives_the_full_reply_and_alerts(bot):
    who = sender()
    # the screen matches, but in an everyday context: the sender is asked first
    check = bot.ask("she's got a bruise on her cheek from the swings at the park, just letting you know", who)
    assert "are you worried that a child is being harmed" in check
    reply = bot.ask("yes", who)
    assert reply.startswith("Thank you") and "999" in reply
    with unit_of_work(bot.settings.database_url) as session:
        record = session.execute(
            select(SafeguardingRecord).order_by(SafeguardingRecord.id.desc()).limit(1)
        ).scalar_one()
        assert record.sender_answer == "yes" and record.alerted_at is not None
    assert NOTHING_ASKED in bot.ask("yes", who)  # answered once; a second yes asks nothing again


def test_on_slack_a_typed_yes_after_cancel_my_booking_cancels_it_like_the_button(bot, slots):
    assistant = StaffMemberOnSlack(bot.slack, TEACHING_ASSISTANT)
    assert NOTHING_ASKED in text_of(assistant.say("yes", expect=NOTHING_ASKED))
    offer = assistant.say("can I book a SENCo slot please?", expect="free")
    assistant.click(button(offer, r"\d(am|pm)"), expect="Booked", topic="reading")

    assistant.say("cancel my booking", expect="Cancel your SENCo surgery slot")
    kept = assistant.say("no", expect="")
    assert "Cancelled" not in text_of(kept)
    assert active_bookings(bot, TEACHING_ASSISTANT) == 1

    assistant.say("cancel my booking", expect="Cancel your SENCo surgery slot")
    assert "Cancelled your slot" in text_of(assistant.say("yes", expect="Cancelled"))
    assert active_bookings(bot, TEACHING_ASSISTANT) == 0
    assert NOTHING_ASKED in text_of(assistant.say("ok", expect=NOTHING_ASKED))


def active_bookings(bot, slack_user_id: str) -> int:
    with unit_of_work(bot.settings.database_url) as session:
        active = session.execute(select(Booking).where(Booking.status == "active")).scalars().all()
        return len([b for b in active if b.staff.slack_user_id == slack_user_id])


def test_on_telegram_a_yes_nobody_asked_for_gets_one_kind_question_and_the_talk_goes_on(bot):
    parent = ParentOnTelegram(bot.telegram)
    answer = parent.say("sure", NOTHING_ASKED)
    assert texts(answer).count(NOTHING_ASKED) == 1 and "Sorry" not in texts(answer)
    assert "20 weeks" in texts(parent.say("how long does an EHCP assessment take?", "20 weeks"))


def test_on_telegram_a_typed_yes_while_erasure_waits_erases(bot):
    parent = ParentOnTelegram(bot.telegram)
    parent.say("what is an ehcp?", "")
    parent.say("please delete this conversation", "can't be undone")
    assert "Done." in texts(parent.say("yes", "Done."))


def test_on_slack_a_typed_no_while_erasure_waits_keeps_the_conversation(bot):
    teacher = StaffMemberOnSlack(bot.slack, TEACHING_ASSISTANT)
    teacher.say("please delete this conversation", expect="can't be undone")
    assert "haven't deleted" in text_of(teacher.say("nope", expect="haven't deleted"))

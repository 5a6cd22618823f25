"""Parents on Telegram, end to end: the fake Bot API -> the real python-telegram-bot
connector (long polling) -> the signed bridge -> Rasa -> actions -> the database, and back.

Delivered as Telegram delivers: the same update twice, edits, captions, group messages."""

from __future__ import annotations

import itertools
import json
import secrets
import time

from sqlalchemy import select

from connectors.telegram import replies
from knowledge.shared.db import unit_of_work
from knowledge.shared.ids import sender_ref
from knowledge.shared.models import SafeguardingRecord, Subscriber
from tests.fakes.fake_telegram import BOT_USERNAME

# Other test modules import this one by its package path while pytest imports it by its file
# name, so there may be two copies of these counters in one run: each copy starts at its own
# random place, so that two parents never share a chat (a chat seen before gets no welcome).
_chats = itertools.count(700_001 + secrets.randbelow(10**6) * 100)
_groups = itertools.count(-900_001 - secrets.randbelow(10**6) * 100, -1)
DISCLOSURE = "my son told me his stepdad hits him with a belt"
SAFEGUARDING_REPLY = "0808 800 5000"


class ParentOnTelegram:
    def __init__(self, telegram) -> None:
        self.telegram, self.chat_id = telegram, next(_chats)

    def _after(self, push, expect: str, timeout: float = 60) -> list:
        before = len(self.telegram.sent_to(self.chat_id))
        push()

        def arrived(t):
            new = t.sent_to(self.chat_id)[before:]
            return new if any(expect.lower() in str(c.body.get("text", "")).lower() for c in new) else None

        return self.telegram.wait_for(arrived, timeout)

    def say(self, text: str, expect: str) -> list:
        return self._after(lambda: self.telegram.push_message(self.chat_id, text), expect)

    def press(self, data: str, expect: str) -> list:
        return self._after(lambda: self.telegram.push_callback(self.chat_id, data), expect)

    def send_photo(self, caption: str, expect: str) -> list:
        return self._after(lambda: self.telegram.push_file(self.chat_id, "photo", caption=caption), expect)

    def edit(self, update_id: int, text: str, expect: str) -> list:
        return self._after(lambda: self.telegram.push_edit(update_id, text), expect)

    def texts(self) -> list[str]:
        return [str(c.body.get("text", "")) for c in self.telegram.sent_to(self.chat_id)]


def records_of(bot, chat_id: int) -> list[SafeguardingRecord]:
    with unit_of_work(bot.settings.database_url) as session:
        query = select(SafeguardingRecord).where(
            SafeguardingRecord.sender_ref == sender_ref(f"telegram-{chat_id}")
        )
        return list(session.execute(query).scalars())


def user_said(bot, chat_id: int) -> list[str]:
    """What Rasa's conversation with this chat holds as the person's messages."""
    return [e.get("text") for e in bot.tracker(f"telegram-{chat_id}")["events"] if e.get("event") == "user"]


def texts(calls: list) -> str:
    return "\n".join(str(c.body.get("text", "")) for c in calls)


def keyboard(call) -> list[tuple[str, str]]:
    markup = call.body.get("reply_markup")
    markup = json.loads(markup) if isinstance(markup, str) else markup or {}
    return [(b["text"], b["callback_data"]) for row in markup.get("inline_keyboard", []) for b in row]


def test_a_parent_starts_reads_the_privacy_notice_opts_in_and_asks_a_question(bot):
    parent = ParentOnTelegram(bot.telegram)
    welcome = parent.say("/start", "reminders")
    said = texts(welcome)
    assert "https://example.org/school/privacy" in said and "date of birth" in said
    yes = next(data for label, data in keyboard(welcome[-1]) if label.lower().startswith("yes"))
    parent.press(yes, "/stop")
    with unit_of_work(bot.settings.database_url) as session:
        subscriber = session.execute(
            select(Subscriber).where(
                Subscriber.channel == "telegram", Subscriber.address == str(parent.chat_id)
            )
        ).scalar_one()
        assert subscriber.opted_in and subscriber.privacy_notice_at is not None

    answer = parent.say("how long does an EHCP assessment take?", "20 weeks")
    assert "20 weeks" in texts(answer)

    parent.say("stop reminders", "won't get any more reminders")
    with unit_of_work(bot.settings.database_url) as session:
        assert not session.execute(
            select(Subscriber.opted_in).where(Subscriber.address == str(parent.chat_id))
        ).scalar_one()


def test_a_disclosure_on_telegram_gets_the_safeguarding_reply_and_a_record(bot):
    parent = ParentOnTelegram(bot.telegram)
    reply = parent.say("my son told me his stepdad hits him with a belt", "0808 800 5000")
    assert "Thank you for telling us" in texts(reply) and "999" in texts(reply)
    with unit_of_work(bot.settings.database_url) as session:
        record = (
            session.execute(select(SafeguardingRecord).order_by(SafeguardingRecord.id.desc()))
            .scalars()
            .first()
        )
        assert record.channel == "telegram" and "stepdad" in record.message


def test_the_senco_broadcasts_from_slack_to_opted_in_parents_and_staff_and_gets_the_summary(bot):
    from tests.system.test_slack_e2e import SENCO, StaffMemberOnSlack, button, text_of

    parents = [ParentOnTelegram(bot.telegram) for _ in range(3)]
    for parent in parents[:2]:
        welcome = parent.say("/start", "reminders")
        yes = next(data for label, data in keyboard(welcome[-1]) if label.lower().startswith("yes"))
        parent.press(yes, "/stop")
    parents[2].say("/start", "reminders")  # never says yes

    senco = StaffMemberOnSlack(bot.slack, SENCO)
    preview = senco.say(
        "tell parents and staff now: the SEND coffee morning is this Friday at 9am", "not sent yet"
    )
    assert "SEND coffee morning" in text_of(preview)
    senco.click(button(preview, "Send it"), expect="Confirmed")

    for parent in parents[:2]:
        bot.telegram.wait_for(
            lambda t, p=parent: [c for c in t.sent_to(p.chat_id) if "coffee morning" in c.body["text"]]
        )
    summary = bot.slack.wait_for(
        lambda s: [
            c
            for c in s.of("chat.postMessage")
            if c.body.get("channel") == "D0EXSENCO1" and "delivered" in c.body.get("text", "")
        ],
        timeout=90,
    )
    assert "of" in summary[0].body["text"]
    assert not [
        c for c in bot.telegram.sent_to(parents[2].chat_id) if "SEND coffee morning" in c.body["text"]
    ]
    teacher_dms = [c for c in bot.slack.of("chat.postMessage") if c.body.get("channel") == "D0EXTEACH1"]
    assert any("coffee morning" in c.body.get("text", "") for c in teacher_dms)


# --- every message once, every word screened (issue #12) -----------------------------
def test_a_disclosure_telegram_delivers_twice_is_answered_recorded_and_alerted_once(bot):
    parent = ParentOnTelegram(bot.telegram)
    parent.say("/start", "reminders")
    update_id = bot.telegram.push_message(parent.chat_id, DISCLOSURE)
    bot.telegram.wait_for(lambda t: SAFEGUARDING_REPLY in "".join(parent.texts()), 60)
    answered = len(parent.texts())
    bot.telegram.redeliver(update_id)  # the webhook answer was late, or a restart before the offset
    parent.say("what is an EHCP?", "EHC")  # the same chat's updates run in order: the repeat is done

    (record,) = records_of(bot, parent.chat_id)
    assert record.message == DISCLOSURE
    assert sum(SAFEGUARDING_REPLY in text for text in parent.texts()) == 1
    assert len(parent.texts()) > answered
    assert user_said(bot, parent.chat_id).count("/safeguarding_concern") == 1

    def alerts(slack):
        return [
            c
            for c in slack.of("chat.postMessage")
            if c.body.get("channel") == "D0EXDSL001"
            and f"Safeguarding concern #{record.id}" in c.body.get("text", "")
        ]

    bot.slack.wait_for(alerts, timeout=30)
    time.sleep(5)  # the scheduler runs every 2 s: a second alert would have come by now
    assert len(alerts(bot.slack)) == 1


def test_a_disclosure_in_a_photo_caption_is_screened_recorded_and_answered(bot):
    parent = ParentOnTelegram(bot.telegram)
    parent.say("/start", "reminders")
    answer = parent.send_photo(DISCLOSURE, replies.FILE_NOT_OPENED)
    assert SAFEGUARDING_REPLY in texts(answer) and "Thank you for telling us" in texts(answer)
    assert texts(answer).index(SAFEGUARDING_REPLY) < texts(answer).index(replies.FILE_NOT_OPENED)
    (record,) = records_of(bot, parent.chat_id)
    assert record.message == DISCLOSURE and record.channel == "telegram"


def test_a_message_edited_into_a_disclosure_is_screened_recorded_and_answered(bot):
    parent = ParentOnTelegram(bot.telegram)
    parent.say("/start", "reminders")
    update_id = bot.telegram.push_message(parent.chat_id, "what is an EHCP?")
    bot.telegram.wait_for(lambda t: "EHC" in "".join(parent.texts()[2:]), 60)
    answer = parent.edit(update_id, DISCLOSURE, SAFEGUARDING_REPLY)
    assert "Thank you for telling us" in texts(answer)
    (record,) = records_of(bot, parent.chat_id)
    assert record.message == DISCLOSURE


def test_a_disclosure_in_a_group_is_recorded_and_answered_privately_never_in_the_group(bot):
    group = next(_groups)
    parent = ParentOnTelegram(bot.telegram)
    parent.say("/start", "reminders")  # has started the bot, so it may write to them
    before = len(parent.texts())
    bot.telegram.push_message_from(group, parent.chat_id, "hello everyone, is the coffee morning on Friday?")
    (pointer,) = bot.telegram.wait_for(lambda t: t.sent_to(group), 60)
    bot.telegram.push_message_from(group, parent.chat_id, DISCLOSURE)
    bot.telegram.wait_for(lambda t: SAFEGUARDING_REPLY in "".join(parent.texts()[before:]), 60)
    time.sleep(2)

    private = parent.texts()[before:]
    assert replies.ANSWERED_PRIVATELY in private and "Thank you for telling us" in "".join(private)
    assert [c.body["text"] for c in bot.telegram.sent_to(group)] == [replies.private_only(BOT_USERNAME)]
    (record,) = records_of(bot, parent.chat_id)
    assert record.message == DISCLOSURE
    assert "coffee morning" not in " ".join(str(t) for t in user_said(bot, parent.chat_id))  # not a turn


def test_a_disclosure_in_a_group_from_someone_who_never_started_the_bot_gets_only_a_pointer(bot):
    group = next(_groups)
    person = next(_chats)
    bot.telegram.not_started(person)
    bot.telegram.push_message_from(group, person, DISCLOSURE)
    bot.telegram.wait_for(lambda t: t.of("sendMessage:403") and t.sent_to(group), 60)
    time.sleep(2)

    assert [c.body["text"] for c in bot.telegram.sent_to(group)] == [replies.private_only(BOT_USERNAME)]
    (record,) = records_of(bot, person)
    assert record.message == DISCLOSURE


def test_a_typed_yes_please_to_the_reminders_question_opts_in_without_reaching_rasa(bot):
    parent = ParentOnTelegram(bot.telegram)
    parent.say("/start", "reminders")
    parent.say("Yes please", "/stop")
    with unit_of_work(bot.settings.database_url) as session:
        subscriber = session.execute(
            select(Subscriber).where(
                Subscriber.channel == "telegram", Subscriber.address == str(parent.chat_id)
            )
        ).scalar_one()
        assert subscriber.opted_in
    assert "Yes please" not in user_said(bot, parent.chat_id)

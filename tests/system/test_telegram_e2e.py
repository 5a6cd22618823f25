"""Parents on Telegram, end to end: the fake Bot API -> the real python-telegram-bot
connector (long polling) -> the signed bridge -> Rasa -> actions -> the database, and back."""

from __future__ import annotations

import itertools
import json

from sqlalchemy import select

from knowledge.db import unit_of_work
from knowledge.models import SafeguardingRecord, Subscriber

_chats = itertools.count(700001)


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

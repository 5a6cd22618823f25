"""The Telegram connector: the real python-telegram-bot app, in its own process, against a fake Bot API.

`python -m connectors.telegram` runs as the launcher starts it, long-polling the local fake
Telegram Bot API (tests/fakes/fake_telegram.py) and talking to a stub of the Rasa bridge
that checks the bridge signature (tests/fakes/stub_rasa.py), so no TensorFlow is needed.
Reminder choices are checked in a real database built from the shipped school data. The
delivery transport is tested in-process against the same fake.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest
import yaml

from bot.seed import load_everything
from connectors.telegram import replies
from connectors.telegram.config import mode, why_off
from connectors.telegram.reminder_menus import MENU, Press, action_data, key, named, parse, toggle_data
from connectors.telegram.transport import TelegramTransport
from knowledge.broadcasts import subscribers
from knowledge.broadcasts.delivery import PermanentFailure, RateLimited, TemporaryFailure
from knowledge.broadcasts.parent_chats import INTERESTS, YEAR_GROUPS, ReminderSettings
from knowledge.broadcasts.subscribers import MAX_CHOICES, Choices
from knowledge.schools.profile import SchoolProfile, read_profile
from knowledge.shared.db import unit_of_work
from knowledge.shared.ids import sender_ref
from knowledge.shared.settings import PROJECT_ROOT, Settings
from tests.conftest import make_settings
from tests.fakes.fake_telegram import (
    BLOCKED,
    CHAT_NOT_FOUND,
    SERVER_ERROR,
    TOO_MANY_REQUESTS,
    Call,
    FakeTelegram,
    message_update,
)
from tests.fakes.stub_rasa import StubRasa

TOKEN = "123456:TEST-token"
PRIVACY_URL = "https://example.org/school/privacy"  # school_data/example_school.yml
WEBHOOK_URL = "https://bot.example.org/telegram/webhook"
WEBHOOK_SECRET = "test-webhook-secret_123"
TICK = "\u2713"
LONG_PAYLOAD = '/choose_service{"service_id": "an-identifier-long-enough-to-go-past-sixty-four-bytes"}'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(settings: Settings, telegram: FakeTelegram, rasa_port: int, secret: str, port: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    return {
        **env,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": telegram.api_url,
        "TELEGRAM_PORT": str(port),
        "RASA_PORT": str(rasa_port),
        "BRIDGE_SECRET": secret,
        "DATABASE_URL": settings.database_url,
        "CHAT_LOG_RETENTION_DAYS": str(settings.chat_log_retention_days),
    }


@dataclass
class Running:
    url: str
    log: str = ""  # everything the connector printed, once it has stopped


@contextmanager
def connector(settings: Settings, telegram: FakeTelegram, rasa: StubRasa, *, webhook: bool = False):
    port = _free_port()
    env = _env(settings, telegram, rasa.port, rasa.secret, port)
    if webhook:
        env.update(TELEGRAM_WEBHOOK_URL=WEBHOOK_URL, TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET)
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "connectors.telegram"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        running = Running(f"http://127.0.0.1:{port}")

        def printed() -> str:
            output.seek(0)
            return output.read().decode()

        try:
            deadline = time.monotonic() + 30
            while True:
                if process.poll() is not None:
                    pytest.fail(printed())
                try:
                    if httpx.get(f"{running.url}/health", timeout=1).json().get("status") == "ok":
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "the Telegram connector did not start"
                time.sleep(0.1)
            yield running
        finally:
            process.terminate()
            code = process.wait(30)
            running.log = printed()
            assert code == 0, running.log


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    """One database for the module's connector process, loaded with the example school."""
    settings = make_settings(tmp_path_factory.mktemp("telegram"))
    load_everything(settings)
    return settings


@pytest.fixture(scope="module")
def telegram():
    with FakeTelegram() as fake:
        yield fake


class PacedRasa(StubRasa):
    """The stub bridge, answering after `pause_s` (Rasa takes a moment; "typing…" shows meanwhile)."""

    pause_s = 0.0

    async def _webhook(self, request):
        await asyncio.sleep(self.pause_s)
        return await super()._webhook(request)


@pytest.fixture(scope="module")
def rasa():
    with PacedRasa(secrets.token_hex(16)) as stub:
        yield stub


@pytest.fixture(scope="module")
def polling(settings, telegram, rasa):
    with connector(settings, telegram, rasa) as running:
        yield running.url


def school_ref(settings: Settings) -> str:
    with unit_of_work(settings.database_url) as session:
        return read_profile(session).ref


def opted_in(settings: Settings, chat_id: int) -> bool:
    with unit_of_work(settings.database_url) as session:
        return subscribers.is_opted_in(session, school_ref(settings), "telegram", str(chat_id))


def known_chat(settings: Settings, chat_id: int, *, opt_in: bool = False) -> None:
    """A chat that has already seen the privacy notice (and perhaps opted in)."""
    ref = school_ref(settings)
    with unit_of_work(settings.database_url) as session:
        subscribers.first_contact(session, ref, "telegram", str(chat_id))
        if opt_in:
            subscribers.opt_in(session, ref, "telegram", str(chat_id))


def replies_to(telegram: FakeTelegram, chat_id: int, count: int) -> list[dict]:
    """The messages sent to a chat, once there are at least `count`."""
    calls = telegram.wait_for(lambda t: len(t.sent_to(chat_id)) >= count and t.sent_to(chat_id))
    return [c.body for c in calls]


def from_chat(rasa: StubRasa, chat_id: int) -> list[dict]:
    return [m for m in rasa.received if m["sender"] == f"telegram-{chat_id}"]


def keyboard(body: dict) -> list[list[dict]]:
    return body["reply_markup"]["inline_keyboard"]


# --- first contact and reminders ------------------------------------------------------
def test_start_on_first_contact_shows_the_privacy_notice_then_asks_about_reminders(
    settings, telegram, rasa, polling
):
    telegram.push_message(1001, "/start")
    notice, question = replies_to(telegram, 1001, 2)

    assert PRIVACY_URL in notice["text"]
    assert "name, date of birth or diagnosis" in notice["text"]
    assert f"deleted after {settings.chat_log_retention_days} days" in notice["text"]
    assert len(notice["text"].splitlines()) == 2
    assert "coffee mornings" in question["text"]
    assert [[b["callback_data"] for b in row] for row in keyboard(question)] == [["optin:yes", "optin:no"]]
    assert [[b["text"] for b in row] for row in keyboard(question)] == [["Yes please", "No thanks"]]
    assert not from_chat(rasa, 1001)


def test_start_again_asks_about_reminders_without_repeating_the_privacy_notice(settings, telegram, polling):
    known_chat(settings, 1002)
    telegram.push_message(1002, "/start")
    (question,) = replies_to(telegram, 1002, 1)
    assert "reminders" in question["text"] and PRIVACY_URL not in question["text"]
    time.sleep(0.3)
    assert len(telegram.sent_to(1002)) == 1


def test_pressing_yes_please_stores_the_opt_in_and_says_how_to_stop(settings, telegram, rasa, polling):
    known_chat(settings, 1003)
    telegram.push_callback(1003, "optin:yes", message_id=77)
    confirmation, _year_groups = replies_to(telegram, 1003, 2)

    assert opted_in(settings, 1003)
    assert "/stop" in confirmation["text"] and "stop reminders" in confirmation["text"]
    assert telegram.wait_for(lambda t: t.of("answerCallbackQuery"))
    edited = [c for c in telegram.of("editMessageReplyMarkup") if c.body["chat_id"] == "1003"]
    assert edited[0].body["message_id"] == "77"  # the question's buttons are taken away
    assert not from_chat(rasa, 1003)


def test_pressing_no_thanks_leaves_reminders_off_and_says_start_changes_it(settings, telegram, polling):
    known_chat(settings, 1004)
    telegram.push_callback(1004, "optin:no")
    (answer,) = replies_to(telegram, 1004, 1)
    assert "/start" in answer["text"]
    assert not opted_in(settings, 1004)


@pytest.mark.parametrize(
    ("chat_id", "text"), [(1011, "/stop"), (1012, "Stop Reminders"), (1013, "  unsubscribe. ")]
)
def test_stop_and_stop_reminders_opt_out_and_never_reach_rasa(
    settings, telegram, rasa, polling, chat_id, text
):
    known_chat(settings, chat_id, opt_in=True)
    telegram.push_message(chat_id, text)
    (confirmation,) = replies_to(telegram, chat_id, 1)
    assert "won't get any more reminders" in confirmation["text"]
    assert not opted_in(settings, chat_id)
    assert not from_chat(rasa, chat_id)


def test_help_says_what_the_bot_can_do_in_a_few_lines(telegram, polling):
    telegram.push_message(1021, "/help")
    (answer,) = replies_to(telegram, 1021, 1)
    assert 3 <= len(answer["text"].splitlines()) <= 5
    assert "SENCo" in answer["text"] and "local offer" in answer["text"] and "/stop" in answer["text"]
    assert "/reminders" in answer["text"]


# --- choosing year groups and kinds of reminder ---------------------------------------
def profile(settings: Settings) -> SchoolProfile:
    with unit_of_work(settings.database_url) as session:
        return read_profile(session)


def stored(settings: Settings, chat_id: int) -> Choices:
    with unit_of_work(settings.database_url) as session:
        return subscribers.choices(session, school_ref(settings), "telegram", str(chat_id))


def sent(telegram: FakeTelegram, chat_id: int, count: int) -> list[Call]:
    """The sendMessage calls to a chat (each with the message_id the fake gave it), once there are `count`."""
    return telegram.wait_for(lambda t: len(t.sent_to(chat_id)) >= count and t.sent_to(chat_id))


def labels(body: dict) -> list[str]:
    return [b["text"] for row in body.get("reply_markup", {}).get("inline_keyboard", []) for b in row]


def press(telegram: FakeTelegram, chat_id: int, message: Call, label: str) -> int:
    """Tap the button labelled `label` (ticked or not) under the bot's `message`; returns the update id."""
    (data,) = [
        b["callback_data"]
        for row in keyboard(message.body)
        for b in row
        if b["text"] in (label, f"{TICK} {label}")
    ]
    return telegram.push_callback(chat_id, data, message_id=message.result["message_id"])


def edits(
    telegram: FakeTelegram, chat_id: int, message: Call, count: int, method="editMessageText"
) -> list[Call]:
    """The edits of one of the bot's messages, once there are `count`."""

    def found(t: FakeTelegram) -> list[Call]:
        mine = [
            c
            for c in t.of(method)
            if str(c.body.get("chat_id")) == str(chat_id)
            and str(c.body.get("message_id")) == str(message.result["message_id"])
        ]
        return mine if len(mine) >= count else []

    return telegram.wait_for(found)


def toast(telegram: FakeTelegram, update_id: int) -> str | None:
    """What Telegram showed briefly when a button was tapped."""
    calls = telegram.wait_for(
        lambda t: [
            c for c in t.of("answerCallbackQuery") if c.body["callback_query_id"] == f"cbq-{update_id}"
        ]
    )
    return calls[0].body.get("text")


def opted_in_and_asked(settings: Settings, telegram: FakeTelegram, chat_id: int) -> Call:
    """A parent presses Yes please; returns the year-group list they are then offered."""
    known_chat(settings, chat_id)
    telegram.push_callback(chat_id, "optin:yes")
    _confirmation, year_groups = sent(telegram, chat_id, 2)
    return year_groups


def test_after_yes_please_the_parent_is_offered_the_schools_year_groups_to_tick_with_all_done_and_skip(
    settings, telegram, polling
):
    question = opted_in_and_asked(settings, telegram, 1101)

    assert labels(question.body) == [
        *profile(settings).reminder_year_groups,
        "All year groups",
        "Done",
        "Skip",
    ]
    text = question.body["text"]
    assert "Which year groups" in text and "skip this" in text and "then tap Done" in text
    assert "Ticked now: none, so you'd get reminders for all year groups." in text
    assert "parse_mode" not in question.body
    for row in keyboard(question.body):
        for button in row:
            assert button["callback_data"].startswith("rem:")
            assert len(button["callback_data"].encode()) <= 64
    assert stored(settings, 1101) == Choices(opted_in=True)


def test_ticking_year_groups_shows_ticks_in_buttons_and_words_and_done_stores_them_then_asks_about_kinds(
    settings, telegram, polling
):
    question = opted_in_and_asked(settings, telegram, 1102)

    tapped = press(telegram, 1102, question, "Year 3")
    (after_one,) = edits(telegram, 1102, question, 1)
    assert toast(telegram, tapped) == "Year 3: ticked"
    assert f"{TICK} Year 3" in labels(after_one.body) and "Year 5" in labels(after_one.body)
    assert "Ticked now: Year 3." in after_one.body["text"]

    press(telegram, 1102, question, "Year 5")
    edits(telegram, 1102, question, 2)
    press(telegram, 1102, question, "Year 1")
    assert "Ticked now: Year 1, Year 3 and Year 5." in edits(telegram, 1102, question, 3)[-1].body["text"]
    untapped = press(telegram, 1102, question, "Year 1")
    after_untick = edits(telegram, 1102, question, 4)[-1]
    assert toast(telegram, untapped) == "Year 1: unticked"
    assert "Ticked now: Year 3 and Year 5." in after_untick.body["text"]
    assert "Year 1" in labels(after_untick.body) and f"{TICK} Year 1" not in labels(after_untick.body)
    assert stored(settings, 1102).year_groups == ()  # nothing is stored until Done

    press(telegram, 1102, question, "Done")
    kinds = sent(telegram, 1102, 3)[-1]
    record = edits(telegram, 1102, question, 5)[-1]
    assert record.body["text"] == "Year groups: Year 3 and Year 5."
    assert "reply_markup" not in record.body  # the finished list keeps no buttons
    assert stored(settings, 1102) == Choices(True, ("Year 3", "Year 5"), ())
    assert labels(kinds.body) == [*profile(settings).reminder_interests, "All kinds", "Done", "Skip"]
    assert "Which kinds of reminder" in kinds.body["text"]

    press(telegram, 1102, kinds, "Coffee mornings")
    assert "Ticked now: Coffee mornings." in edits(telegram, 1102, kinds, 1)[-1].body["text"]
    press(telegram, 1102, kinds, "Done")
    summary = sent(telegram, 1102, 4)[-1].body["text"]
    assert stored(settings, 1102) == Choices(True, ("Year 3", "Year 5"), ("Coffee mornings",))
    assert "Year groups: Year 3 and Year 5." in summary
    assert "Kinds of reminder: Coffee mornings." in summary
    assert "/reminders" in summary and "/stop" in summary


def test_all_year_groups_then_skip_leaves_the_parent_with_every_year_group_and_every_kind(
    settings, telegram, polling
):
    question = opted_in_and_asked(settings, telegram, 1103)
    press(telegram, 1103, question, "Year 2")
    edits(telegram, 1103, question, 1)

    press(telegram, 1103, question, "All year groups")
    kinds = sent(telegram, 1103, 3)[-1]
    assert edits(telegram, 1103, question, 2)[-1].body["text"] == "Year groups: all year groups."
    assert stored(settings, 1103) == Choices(opted_in=True)

    press(telegram, 1103, kinds, "Skip")
    summary = sent(telegram, 1103, 4)[-1].body["text"]
    assert "Year groups: all year groups." in summary and "Kinds of reminder: all kinds." in summary
    assert stored(settings, 1103) == Choices(opted_in=True)


def test_reminders_says_what_the_parent_gets_and_changing_year_groups_keeps_their_kinds_of_reminder(
    settings, telegram, polling
):
    known_chat(settings, 1104)
    with unit_of_work(settings.database_url) as session:
        subscribers.opt_in(
            session, school_ref(settings), "telegram", "1104", year_groups=["Year 3"], interests=["Workshops"]
        )
    telegram.push_message(1104, "/reminders")
    (menu,) = sent(telegram, 1104, 1)
    text = menu.body["text"]
    assert "You're getting the SENCo's reminders." in text
    assert "Year groups: Year 3." in text and "Kinds of reminder: Workshops." in text
    assert labels(menu.body) == [
        "Change year groups",
        "Change kinds of reminder",
        "Stop reminders",
        "Keep as it is",
    ]

    press(telegram, 1104, menu, "Change year groups")
    year_groups = sent(telegram, 1104, 2)[-1]
    assert edits(telegram, 1104, menu, 1, method="editMessageReplyMarkup")  # the menu's buttons go
    assert f"{TICK} Year 3" in labels(year_groups.body) and "Ticked now: Year 3." in year_groups.body["text"]
    press(telegram, 1104, year_groups, "Year 3")
    edits(telegram, 1104, year_groups, 1)
    press(telegram, 1104, year_groups, "Reception")
    edits(telegram, 1104, year_groups, 2)
    press(telegram, 1104, year_groups, "Done")

    summary = sent(telegram, 1104, 3)[-1].body["text"]
    assert stored(settings, 1104) == Choices(True, ("Reception",), ("Workshops",))
    assert "Year groups: Reception." in summary and "Kinds of reminder: Workshops." in summary


@pytest.mark.parametrize(("chat_id", "command"), [(1105, "/reminders"), (1106, "/settings")])
def test_reminders_or_settings_for_a_parent_who_gets_none_offers_them(
    settings, telegram, polling, chat_id, command
):
    known_chat(settings, chat_id)
    telegram.push_message(chat_id, command)
    (answer,) = sent(telegram, chat_id, 1)
    assert "not getting the SENCo's reminders" in answer.body["text"]
    assert [[b["callback_data"] for b in row] for row in keyboard(answer.body)] == [["optin:yes", "optin:no"]]


def test_stop_reminders_in_the_reminders_menu_opts_out_and_forgets_the_choices(settings, telegram, polling):
    known_chat(settings, 1107)
    with unit_of_work(settings.database_url) as session:
        subscribers.opt_in(session, school_ref(settings), "telegram", "1107", year_groups=["Year 4"])
    telegram.push_message(1107, "/reminders")
    (menu,) = sent(telegram, 1107, 1)
    press(telegram, 1107, menu, "Stop reminders")
    answer = sent(telegram, 1107, 2)[-1]
    assert "won't get any more reminders" in answer.body["text"]
    assert stored(settings, 1107) == Choices(opted_in=False, year_groups=(), interests=())


def test_keep_as_it_is_changes_nothing_and_says_so(settings, telegram, polling):
    known_chat(settings, 1108)
    with unit_of_work(settings.database_url) as session:
        subscribers.opt_in(session, school_ref(settings), "telegram", "1108", interests=["Coffee mornings"])
    telegram.push_message(1108, "/reminders")
    (menu,) = sent(telegram, 1108, 1)
    press(telegram, 1108, menu, "Keep as it is")
    assert sent(telegram, 1108, 2)[-1].body["text"] == replies.NOTHING_CHANGED
    assert stored(settings, 1108) == Choices(True, (), ("Coffee mornings",))


def test_a_press_on_an_older_list_says_the_buttons_are_out_of_date_and_changes_nothing(
    settings, telegram, polling
):
    question = opted_in_and_asked(settings, telegram, 1109)
    press(telegram, 1109, question, "Done")
    kinds = sent(telegram, 1109, 3)[-1]

    press(telegram, 1109, question, "Year 3")  # from the list that was already finished
    assert sent(telegram, 1109, 4)[-1].body["text"] == replies.MENU_OUT_OF_DATE
    assert stored(settings, 1109) == Choices(opted_in=True)
    assert edits(telegram, 1109, question, 1, method="editMessageReplyMarkup")
    press(telegram, 1109, kinds, "Workshops")  # the current list still works
    assert "Ticked now: Workshops." in edits(telegram, 1109, kinds, 1)[-1].body["text"]


def test_when_the_same_list_was_opened_twice_only_the_newest_message_counts(settings, telegram, polling):
    known_chat(settings, 1115, opt_in=True)
    lists = []
    for count in (2, 4):
        telegram.push_message(1115, "/reminders")
        menu = sent(telegram, 1115, count - 1)[-1]
        press(telegram, 1115, menu, "Change year groups")
        lists.append(sent(telegram, 1115, count)[-1])
    older, newer = lists

    press(telegram, 1115, older, "Year 6")
    assert sent(telegram, 1115, 5)[-1].body["text"] == replies.MENU_OUT_OF_DATE
    press(telegram, 1115, newer, "Year 6")
    assert "Ticked now: Year 6." in edits(telegram, 1115, newer, 1)[-1].body["text"]
    assert not [
        c
        for c in telegram.of("editMessageText")
        if str(c.body.get("message_id")) == str(older.result["message_id"])
    ]


def test_a_press_on_a_list_after_stop_says_reminders_are_off_and_stores_nothing(settings, telegram, polling):
    question = opted_in_and_asked(settings, telegram, 1110)
    telegram.push_message(1110, "/stop")
    sent(telegram, 1110, 3)

    press(telegram, 1110, question, "Year 3")
    assert sent(telegram, 1110, 4)[-1].body["text"] == replies.NOT_GETTING_REMINDERS
    press(telegram, 1110, question, "Done")
    assert sent(telegram, 1110, 5)[-1].body["text"] == replies.NOT_GETTING_REMINDERS
    assert stored(settings, 1110) == Choices(opted_in=False)
    texts = [c.body["text"] for c in telegram.sent_to(1110)]
    assert replies.SOMETHING_WENT_WRONG not in texts


@pytest.mark.parametrize(
    ("chat_id", "data"),
    [(1111, "rem:y:t:00000000"), (1112, "rem:y:frobnicate"), (1113, "rem:"), (1114, "rem:m:stop:extra")],
)
def test_a_reminder_button_the_connector_never_made_or_no_longer_offers_gets_a_friendly_reply(
    settings, telegram, polling, chat_id, data
):
    question = opted_in_and_asked(settings, telegram, chat_id)
    telegram.push_callback(chat_id, data, message_id=question.result["message_id"])
    assert sent(telegram, chat_id, 3)[-1].body["text"] == replies.MENU_OUT_OF_DATE
    assert stored(settings, chat_id) == Choices(opted_in=True)


def test_the_lists_come_from_the_school_profile_and_a_list_the_school_leaves_out_is_not_asked(tmp_path):
    raw = yaml.safe_load((PROJECT_ROOT / "school_data/example_school.yml").read_text())
    raw["reminders"] = {"year_groups": ["Year 7", "Year 8", "Year 9"]}  # a secondary school, no interests
    school_file = tmp_path / "our_school.yml"
    school_file.write_text(yaml.safe_dump(raw))
    own = dataclasses.replace(make_settings(tmp_path), school_profile=school_file)
    load_everything(own)
    with (
        FakeTelegram() as own_telegram,
        StubRasa(secrets.token_hex(16)) as own_rasa,
        connector(own, own_telegram, own_rasa),
    ):
        question = opted_in_and_asked(own, own_telegram, 1201)
        assert labels(question.body) == ["Year 7", "Year 8", "Year 9", "All year groups", "Done", "Skip"]
        press(own_telegram, 1201, question, "Year 8")
        edits(own_telegram, 1201, question, 1)
        press(own_telegram, 1201, question, "Done")
        summary = sent(own_telegram, 1201, 3)[-1].body["text"]
        assert "Year groups: Year 8." in summary and "Kinds of reminder" not in summary
        assert stored(own, 1201) == Choices(True, ("Year 8",), ())

        del raw["reminders"]  # the school takes the lists out: read again at once, no restart
        school_file.write_text(yaml.safe_dump(raw))
        load_everything(own)
        known_chat(own, 1202)
        own_telegram.push_callback(1202, "optin:yes")
        (confirmation,) = sent(own_telegram, 1202, 1)
        time.sleep(0.5)
        assert len(own_telegram.sent_to(1202)) == 1 and "/stop" in confirmation.body["text"]


def test_every_reminder_button_fits_telegrams_64_bytes_and_names_its_choice_in_words():
    names = tuple(f"Blwyddyn {n} – dosbarth Ŵy".ljust(40, "é") for n in range(MAX_CHOICES))  # 40 chars
    settings = ReminderSettings(True, names[:2], (), year_group_options=names, interest_options=names)
    for outgoing in (
        replies.choice_step(YEAR_GROUPS, names, list(names[:3])),
        replies.choice_step(INTERESTS, names, []),
        replies.reminder_settings(settings),
    ):
        for row in outgoing.keyboard.inline_keyboard:
            for button in row:
                assert len(button.callback_data.encode()) <= 64
                assert re.search(r"[A-Za-z]{2}", button.text)  # words, never a symbol or emoji alone
    toggles = [b.callback_data for row in replies.choice_step(YEAR_GROUPS, names, []).keyboard.inline_keyboard
               for b in row][: len(names)]  # fmt: skip
    assert [named(names, parse(data).key) for data in toggles] == list(names)
    assert named(names, key("a year group the school no longer has")) is None


def test_a_list_travels_as_one_letter_and_only_data_the_connector_makes_is_understood():
    assert toggle_data(YEAR_GROUPS, "Year 1") == f"rem:y:t:{key('Year 1')}"
    assert action_data(INTERESTS, "done") == "rem:i:done"
    assert action_data(MENU, YEAR_GROUPS) == "rem:m:y" and action_data(MENU, "stop") == "rem:m:stop"
    assert parse("rem:m:i") == Press(MENU, INTERESTS)
    assert parse("rem:y:all") == Press(YEAR_GROUPS, "all")
    assert parse(toggle_data(INTERESTS, "Workshops")) == Press(INTERESTS, "t", key("Workshops"))
    for data in ("rem:year_groups:done", "rem:m:interests", "rem:m:done", "rem:i:stop", "rem:m:keep:x"):
        assert parse(data) is None, data


def test_the_words_of_a_list_say_what_is_ticked_so_the_keyboard_need_not_be_seen():
    options = ("Reception", "Year 1", "Year 2", "Year 3")
    step = replies.choice_step(YEAR_GROUPS, options, ["Year 1", "Year 3"])
    assert "Ticked now: Year 1 and Year 3." in step.text
    ticked = [b.text for row in step.keyboard.inline_keyboard for b in row if b.text.startswith(TICK)]
    assert ticked == [f"{TICK} Year 1", f"{TICK} Year 3"]


# --- conversations with Rasa ----------------------------------------------------------
def test_a_question_goes_to_rasa_as_the_chat_and_buttons_come_back_as_an_inline_keyboard(
    settings, telegram, rasa, polling
):
    known_chat(settings, 1031)
    rasa.replies.append(
        [
            {
                "text": "Which would you like?",
                "buttons": [
                    {"title": "EHCP deadlines", "payload": "/ask_ehcp_deadlines"},
                    {"title": "Speech and language", "payload": LONG_PAYLOAD},
                ],
            }
        ]
    )
    rasa.pause_s = 1.0  # so the answer surely comes after the first "typing…"
    try:
        telegram.push_message(1031, "what can you tell me about EHCPs?")
        (answer,) = replies_to(telegram, 1031, 1)
    finally:
        rasa.pause_s = 0.0

    (arrived,) = from_chat(rasa, 1031)
    assert arrived["message"] == "what can you tell me about EHCPs?"
    assert arrived["metadata"]["telegram"] == {"chat_id": 1031, "chat_type": "private"}
    assert answer["text"] == "Which would you like?"
    (first,), (second,) = keyboard(answer)  # one button per row
    assert first == {"text": "EHCP deadlines", "callback_data": "/ask_ehcp_deadlines"}
    assert second["text"] == "Speech and language"
    assert second["callback_data"].startswith(replies.KEY_PREFIX) and len(second["callback_data"]) <= 64
    assert [c for c in telegram.of("sendChatAction") if c.body == {"chat_id": "1031", "action": "typing"}]


def test_the_first_message_from_a_chat_that_never_started_gets_the_privacy_notice_before_the_answer(
    telegram, rasa, polling
):
    telegram.push_message(1032, "what is an EHCP?")
    notice, answer = replies_to(telegram, 1032, 2)
    assert PRIVACY_URL in notice["text"]
    assert answer["text"] == "echo: what is an EHCP?"


def test_html_in_a_reply_is_sent_as_plain_text(settings, telegram, rasa, polling):
    known_chat(settings, 1033)
    html = "<b>Bold</b> & <a href='https://example.org'>a link</a> *not markdown*"
    rasa.replies.append([{"text": html}])
    telegram.push_message(1033, "show me some markup")
    (answer,) = replies_to(telegram, 1033, 1)
    assert answer["text"] == html
    assert "parse_mode" not in answer and "entities" not in answer


def test_a_button_press_is_answered_then_its_payload_goes_to_rasa_even_when_too_long_for_telegram(
    settings, telegram, rasa, polling
):
    known_chat(settings, 1034)
    rasa.replies.append([{"text": "Choose:", "buttons": [{"title": "Speech", "payload": LONG_PAYLOAD}]}])
    telegram.push_message(1034, "services near me")
    (menu,) = replies_to(telegram, 1034, 1)
    key = keyboard(menu)[0][0]["callback_data"]

    update_id = telegram.push_callback(1034, "/ask_ehcp_deadlines")
    replies_to(telegram, 1034, 2)
    telegram.push_callback(1034, key)
    replies_to(telegram, 1034, 3)

    sent = [m["message"] for m in from_chat(rasa, 1034)]
    assert sent == ["services near me", "/ask_ehcp_deadlines", LONG_PAYLOAD]
    answered = [c.body["callback_query_id"] for c in telegram.of("answerCallbackQuery")]
    assert f"cbq-{update_id}" in answered


def test_a_press_on_a_button_the_connector_no_longer_knows_says_it_has_expired(
    settings, telegram, rasa, polling
):
    known_chat(settings, 1035)
    telegram.push_callback(1035, f"{replies.KEY_PREFIX}999999")
    (answer,) = replies_to(telegram, 1035, 1)
    assert answer["text"] == replies.BUTTON_EXPIRED
    assert not from_chat(rasa, 1035)


def test_a_reply_held_back_by_flood_control_is_sent_after_telegrams_wait(settings, telegram, polling):
    known_chat(settings, 1036)
    telegram.fail_next("sendMessage", 429, TOO_MANY_REQUESTS)
    telegram.push_message(1036, "hello")
    (answer,) = replies_to(telegram, 1036, 1)
    (refused,) = [c for c in telegram.of("sendMessage:429") if c.body["chat_id"] == "1036"]
    assert answer["text"] == "echo: hello"
    assert telegram.sent_to(1036)[0].at - refused.at >= 1.0  # retry_after: 1


def test_when_rasa_cannot_be_reached_the_parent_is_told_to_try_again(settings):
    known_chat(settings, 1041)
    with (
        FakeTelegram() as own_telegram,  # a second bot polling the shared fake would take its updates
        StubRasa("not-the-connectors-secret") as refusing,
        connector(settings, own_telegram, refusing),
    ):
        refusing.secret = "rotated"  # the bridge now refuses the connector's signature
        own_telegram.push_message(1041, "hello?")
        (answer,) = replies_to(own_telegram, 1041, 1)
    assert "try again" in answer["text"]


def test_a_database_problem_is_logged_without_the_message_and_the_connector_keeps_answering(tmp_path):
    broken = make_settings(tmp_path)  # an empty database: no school, no tables
    with (
        FakeTelegram() as own_telegram,
        StubRasa(secrets.token_hex(16)) as own_rasa,
        connector(broken, own_telegram, own_rasa) as running,
    ):
        own_telegram.push_message(1061, "/start")
        (sorry,) = replies_to(own_telegram, 1061, 1)
        own_telegram.push_message(1061, "my private question about my son")
        _, answer = replies_to(own_telegram, 1061, 2)

    assert sorry["text"] == replies.SOMETHING_WENT_WRONG
    assert answer["text"] == "echo: my private question about my son"
    assert sender_ref("telegram-1061") in running.log
    assert "private question" not in running.log and "1061" not in running.log


# --- webhook mode ---------------------------------------------------------------------
def test_webhook_mode_processes_updates_with_the_right_secret_and_refuses_the_rest(settings, telegram, rasa):
    known_chat(settings, 1051)
    with connector(settings, telegram, rasa, webhook=True) as running:
        url = running.url
        assert telegram.webhook["url"] == WEBHOOK_URL
        assert telegram.webhook["secret_token"] == WEBHOOK_SECRET
        assert httpx.get(f"{url}/health").json() == {"status": "ok", "mode": "webhook"}
        endpoint = f"{url}/telegram/webhook"

        def deliver(chat_id: int, headers: dict) -> int:
            update = message_update(telegram.next_update_id(), chat_id, "hello by webhook")
            return httpx.post(endpoint, json=update, headers=headers, timeout=10).status_code

        assert deliver(1052, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}) == 403
        assert deliver(1053, {}) == 403
        assert deliver(1051, {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}) == 200
        (answer,) = replies_to(telegram, 1051, 1)

    assert answer["text"] == "echo: hello by webhook"
    assert not telegram.sent_to(1052) and not telegram.sent_to(1053)
    assert not from_chat(rasa, 1052) and not from_chat(rasa, 1053)


# --- configuration --------------------------------------------------------------------
def _run_off(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    return subprocess.run(
        [sys.executable, "-m", "connectors.telegram"],
        cwd=PROJECT_ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
    )


def test_without_a_token_the_connector_says_telegram_is_off():
    done = _run_off()
    assert done.returncode == 2
    assert "Telegram is off: set TELEGRAM_BOT_TOKEN" in done.stderr


def test_webhook_mode_without_a_secret_is_refused_with_a_clear_message():
    done = _run_off(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_WEBHOOK_URL=WEBHOOK_URL)
    assert done.returncode == 2
    assert "TELEGRAM_WEBHOOK_SECRET" in done.stderr


def test_a_token_telegram_refuses_stops_the_connector_without_printing_the_token(settings):
    with FakeTelegram() as own_telegram:
        own_telegram.fail_next("getMe", 401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        env = _env(settings, own_telegram, rasa_port=_free_port(), secret="s", port=_free_port())
        command = [sys.executable, "-m", "connectors.telegram"]
        done = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 1
    assert "Telegram refused TELEGRAM_BOT_TOKEN" in done.stderr
    assert TOKEN not in done.stdout + done.stderr


def test_the_mode_is_polling_by_default_and_webhook_with_an_https_url_and_a_secret(settings):
    on = dataclasses.replace(settings, telegram_bot_token=TOKEN)
    assert mode(dataclasses.replace(settings, telegram_bot_token="")) is None
    assert mode(on) == "polling"
    webhook = dataclasses.replace(
        on, telegram_webhook_url=WEBHOOK_URL, telegram_webhook_secret=WEBHOOK_SECRET
    )
    assert mode(webhook) == "webhook"
    plain_http = dataclasses.replace(webhook, telegram_webhook_url="http://bot.example.org/hook")
    assert mode(plain_http) is None and "https://" in why_off(plain_http)
    bad_secret = dataclasses.replace(webhook, telegram_webhook_secret="has spaces!")
    assert mode(bad_secret) is None and "TELEGRAM_WEBHOOK_SECRET" in why_off(bad_secret)


# --- the delivery transport -----------------------------------------------------------
async def _send(telegram: FakeTelegram, chat_id: str, text: str = "Coffee morning on Friday at 9am.") -> None:
    transport = TelegramTransport(TOKEN, telegram.api_url)
    try:
        await transport.send(chat_id, text)
    finally:
        await transport.close()


async def test_the_transport_sends_plain_text_to_the_chat_and_returns(telegram):
    await _send(telegram, "3001", "<b>Coffee morning</b> on Friday")
    (sent,) = telegram.sent_to(3001)
    assert sent.body["text"] == "<b>Coffee morning</b> on Friday" and "parse_mode" not in sent.body
    assert sent.token == TOKEN
    transport = TelegramTransport(TOKEN, telegram.api_url)
    assert (transport.channel, transport.overall_per_second, transport.per_address_interval_s) == (
        "telegram",
        30,
        1.0,
    )


async def test_the_transport_reports_flood_control_as_rate_limited_with_telegrams_wait(telegram):
    telegram.fail_next("sendMessage", 429, TOO_MANY_REQUESTS)
    with pytest.raises(RateLimited) as raised:
        await _send(telegram, "3002")
    assert raised.value.retry_after == 1


@pytest.mark.parametrize(("status", "body"), [(403, BLOCKED), (400, CHAT_NOT_FOUND)])
async def test_the_transport_reports_a_blocked_bot_or_a_missing_chat_as_a_permanent_failure(
    telegram, status, body
):
    telegram.fail_next("sendMessage", status, body)
    with pytest.raises(PermanentFailure):
        await _send(telegram, "3003")


async def test_the_transport_reports_a_server_error_as_a_temporary_failure(telegram):
    telegram.fail_next("sendMessage", 500, SERVER_ERROR)
    with pytest.raises(TemporaryFailure):
        await _send(telegram, "3004")


def test_in_a_trust_the_start_link_picks_the_school_and_a_chat_without_one_is_asked_to_use_it(tmp_path):
    trust = dataclasses.replace(
        make_settings(tmp_path), schools_file=PROJECT_ROOT / "school_data/example_trust.yml"
    )
    load_everything(trust)
    with (
        FakeTelegram() as own_telegram,
        StubRasa(secrets.token_hex(16)) as own_rasa,
        connector(trust, own_telegram, own_rasa),
    ):
        own_telegram.push_message(1301, "/start example-academy")
        notice, _question = replies_to(own_telegram, 1301, 2)
        assert "https://example.org/academy/privacy" in notice["text"]
        own_telegram.push_message(1301, "what is an ehcp")
        replies_to(own_telegram, 1301, 3)  # the stub's echo: Rasa has had it
        assert from_chat(own_rasa, 1301)[-1]["metadata"]["school"] == "example-academy"

        own_telegram.push_message(1301, "/start example-primary")  # the parent's other child's school
        replies_to(own_telegram, 1301, 5)  # the primary's privacy notice, and the reminders question
        own_telegram.push_message(1301, "who is the senco")
        replies_to(own_telegram, 1301, 6)
        assert from_chat(own_rasa, 1301)[-1]["metadata"]["school"] == "example-primary"

        own_telegram.push_message(1302, "/start")
        (asked,) = replies_to(own_telegram, 1302, 1)
        assert "Telegram link on your school's website" in asked["text"]
        assert "Example Primary" not in asked["text"] and "Example Academy" not in asked["text"]
        own_telegram.push_message(1302, "how do i get an ehcp")
        replies_to(own_telegram, 1302, 2)
        assert "school" not in from_chat(own_rasa, 1302)[-1]["metadata"]

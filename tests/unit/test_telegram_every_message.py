"""Every Telegram message once, and every word screened (issue #12), as Telegram delivers them.

The real connector (`python -m connectors.telegram`, python-telegram-bot) runs against the
fake Bot API, which delivers like Telegram: the same update again with the same update_id
(a late webhook answer, getUpdates after a restart before the offset was confirmed),
edits as new updates of the same message, photos and documents with captions, group
messages from people who may or may not have started the bot. The Rasa bridge is the stub,
answering a group message (`screen_only`) as the guarded channel does: with nothing,
unless the safeguarding screen finds a concern (the real screen is used for that).
"""

from __future__ import annotations

import json
import secrets
import time

import httpx
import pytest
from aiohttp import web

from connectors import bridge_signing
from connectors.telegram import replies
from knowledge.safeguarding import screening as safeguarding
from tests.conftest import make_settings
from tests.fakes.fake_telegram import BOT_ID, BOT_USERNAME, FakeTelegram, message_update
from tests.fakes.stub_rasa import StubRasa
from tests.unit.test_telegram_connector import (
    PRIVACY_URL,
    WEBHOOK_SECRET,
    connector,
    from_chat,
    keyboard,
    known_chat,
    labels,
    opted_in,
    sent,
)

DISCLOSURE = "my son told me his stepdad hits him with a belt"
SAFEGUARDING_REPLY = "Thank you for telling us. If a child is in danger now, call 999."


class ScreeningRasa(StubRasa):
    """The stub bridge; a `screen_only` (group) message is answered as the guarded channel
    answers it: nothing, unless the real safeguarding screen finds a concern."""

    async def _webhook(self, request: web.Request) -> web.Response:
        body = await request.read()
        message = json.loads(body or b"{}")
        signed = bridge_signing.verify(
            self.secret,
            body,
            request.headers.get("X-Bridge-Timestamp"),
            request.headers.get("X-Bridge-Signature"),
        )
        screen_only = (message.get("metadata") or {}).get("screen_only") is True
        if signed and screen_only and not safeguarding.screen(message.get("message")).concern:
            self.received.append(message)
            return web.json_response([])
        return await super()._webhook(request)


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    from bot.seed import load_everything

    settings = make_settings(tmp_path_factory.mktemp("telegram-every-message"))
    load_everything(settings)
    return settings


@pytest.fixture(scope="module")
def telegram():
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture(scope="module")
def rasa():
    with ScreeningRasa(secrets.token_hex(16)) as stub:
        yield stub


@pytest.fixture(scope="module")
def polling(settings, telegram, rasa):
    with connector(settings, telegram, rasa) as running:
        yield running


def texts(telegram: FakeTelegram, chat_id: int) -> list[str]:
    return [c.body["text"] for c in telegram.sent_to(chat_id)]


def answered(telegram: FakeTelegram, chat_id: int, count: int) -> list[str]:
    """The texts sent to a chat once there are at least `count` (the first `count`)."""
    return [c.body["text"] for c in sent(telegram, chat_id, count)][:count]


def after_a_later_message(telegram: FakeTelegram, chat_id: int, already: int) -> None:
    """Send one more message and wait for its answer. One chat's updates are handled in the
    order they came, so whatever an earlier (repeated) update did is done by then."""
    telegram.push_message(chat_id, "one more question")
    telegram.wait_for(
        lambda t: any(text == "echo: one more question" for text in texts(t, chat_id)[already:])
    )


def message_key(chat_id: int, message_id: int) -> str:
    return f"telegram-{BOT_ID}-{chat_id}-{message_id}"


# --- the same update delivered twice -------------------------------------------------
def test_a_message_delivered_again_is_answered_once_and_reaches_rasa_once_under_telegrams_ids(
    settings, telegram, rasa, polling
):
    known_chat(settings, 4001)
    update_id = telegram.push_message(4001, "what is an EHCP?")
    assert answered(telegram, 4001, 1) == ["echo: what is an EHCP?"]
    telegram.redeliver(update_id)
    after_a_later_message(telegram, 4001, 1)

    assert texts(telegram, 4001) == ["echo: what is an EHCP?", "echo: one more question"]
    first, later = from_chat(rasa, 4001)
    assert first["message"] == "what is an EHCP?"
    assert first["message_id"] == message_key(4001, update_id)  # the fake's message_id is the update_id
    assert later["message_id"] != first["message_id"]


def test_a_button_press_delivered_again_reaches_rasa_once_under_its_callback_query_id(
    settings, telegram, rasa, polling
):
    known_chat(settings, 4002)
    update_id = telegram.push_callback(4002, "/ask_ehcp_deadlines")
    answered(telegram, 4002, 1)
    telegram.redeliver(update_id)
    after_a_later_message(telegram, 4002, 1)

    pressed = [m for m in from_chat(rasa, 4002) if m["message"] == "/ask_ehcp_deadlines"]
    assert [m["message_id"] for m in pressed] == [f"telegram-{BOT_ID}-callback-cbq-{update_id}"]
    assert texts(telegram, 4002) == ["echo: /ask_ehcp_deadlines", "echo: one more question"]


def test_start_yes_please_and_stop_delivered_again_post_nothing_twice(settings, telegram, rasa, polling):
    start = telegram.push_message(4003, "/start")
    notice, question = answered(telegram, 4003, 2)
    telegram.redeliver(start)
    yes = telegram.push_callback(4003, "optin:yes")
    thanks, year_groups = answered(telegram, 4003, 4)[2:]
    telegram.redeliver(yes)
    stop = telegram.push_message(4003, "/stop")
    stopped = answered(telegram, 4003, 5)[4]
    telegram.redeliver(stop)
    after_a_later_message(telegram, 4003, 5)

    assert PRIVACY_URL in notice and "coffee mornings" in question
    assert "/stop" in thanks and "Which year groups" in year_groups and "won't get any more" in stopped
    assert texts(telegram, 4003) == [
        notice,
        question,
        thanks,
        year_groups,
        stopped,
        "echo: one more question",
    ]
    assert [m["message"] for m in from_chat(rasa, 4003)] == ["one more question"]


def test_an_update_delivered_again_after_the_connector_restarted_is_not_answered_again(settings):
    known_chat(settings, 4004)
    with FakeTelegram() as own_telegram, ScreeningRasa(secrets.token_hex(16)) as own_rasa:
        with connector(settings, own_telegram, own_rasa):
            question = own_telegram.push_message(4004, "how long does an EHCP take?")
            yes = own_telegram.push_callback(4004, "optin:yes")
            sent(own_telegram, 4004, 3)  # the answer, the thank-you and the year groups
        with connector(settings, own_telegram, own_rasa):  # a new process: nothing in memory
            own_telegram.redeliver(question)
            own_telegram.redeliver(yes)
            after_a_later_message(own_telegram, 4004, 3)
        assert len(own_telegram.sent_to(4004)) == 4
        assert [m["message"] for m in from_chat(own_rasa, 4004)] == [
            "how long does an EHCP take?",
            "one more question",
        ]


def test_a_webhook_update_telegram_posts_twice_is_answered_once(settings, telegram, rasa):
    known_chat(settings, 4005)
    with connector(settings, telegram, rasa, webhook=True) as running:
        assert "edited_message" in telegram.webhook["allowed_updates"]
        update = message_update(telegram.next_update_id(), 4005, "hello by webhook")
        for _ in range(2):  # our first answer was late, so Telegram sends it again
            status = httpx.post(
                f"{running.url}/telegram/webhook",
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
                timeout=10,
            ).status_code
            assert status == 200
        sent(telegram, 4005, 1)
        update = message_update(telegram.next_update_id(), 4005, "one more question")
        httpx.post(
            f"{running.url}/telegram/webhook",
            json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
            timeout=10,
        )
        sent(telegram, 4005, 2)
    assert texts(telegram, 4005) == ["echo: hello by webhook", "echo: one more question"]
    assert len(from_chat(rasa, 4005)) == 2


# --- captions, files and edits -------------------------------------------------------
@pytest.mark.parametrize(
    ("chat_id", "file"), [(4101, "photo"), (4102, "document"), (4103, "video"), (4104, "voice")]
)
def test_the_caption_of_a_file_is_read_and_answered_then_the_parent_is_told_the_file_was_not_opened(
    settings, telegram, rasa, polling, chat_id, file
):
    known_chat(settings, chat_id)
    update_id = telegram.push_file(chat_id, file, caption=DISCLOSURE)
    answer, note = answered(telegram, chat_id, 2)

    (arrived,) = from_chat(rasa, chat_id)
    assert arrived["message"] == DISCLOSURE  # screened by Rasa's guarded channel like any text
    assert arrived["message_id"] == message_key(chat_id, update_id)
    assert answer == f"echo: {DISCLOSURE}"
    assert note == replies.FILE_NOT_OPENED
    assert not [text for text in texts(telegram, chat_id) if "only read typed messages" in text]


def test_a_file_without_words_gets_a_kind_reply_and_nothing_goes_to_rasa(settings, telegram, rasa, polling):
    known_chat(settings, 4105)
    telegram.push_file(4105, "photo")
    assert answered(telegram, 4105, 1) == [replies.CANT_OPEN_FILES]
    assert "type your question" in replies.CANT_OPEN_FILES
    assert not from_chat(rasa, 4105)


def test_an_edited_message_is_screened_and_answered_as_a_new_message(settings, telegram, rasa, polling):
    known_chat(settings, 4106)
    update_id = telegram.push_message(4106, "what is an EHC plan")
    answered(telegram, 4106, 1)
    edit = telegram.push_edit(update_id, DISCLOSURE)
    assert answered(telegram, 4106, 2)[1] == f"echo: {DISCLOSURE}"

    first, edited = from_chat(rasa, 4106)
    assert edited["message"] == DISCLOSURE
    assert edited["message_id"] == f"{message_key(4106, update_id)}-edit-{edit}"  # not the first's
    assert first["message_id"] == message_key(4106, update_id)
    polls = telegram.of("getUpdates")
    assert "edited_message" in polls[-1].body["allowed_updates"]


def test_words_after_a_command_are_read_too(settings, telegram, rasa, polling):
    known_chat(settings, 4107)
    telegram.push_message(4107, f"/help {DISCLOSURE}")
    answer, help_text = answered(telegram, 4107, 2)
    assert answer == f"echo: {DISCLOSURE}"  # screened and answered first
    assert help_text == replies.HELP
    assert [m["message"] for m in from_chat(rasa, 4107)] == [DISCLOSURE]


# --- groups --------------------------------------------------------------------------
def test_group_messages_are_all_screened_and_each_group_is_told_once_to_use_a_private_chat(
    telegram, rasa, polling
):
    telegram.push_message_from(-2001, 4201, "/start")
    telegram.push_message_from(-2001, 4201, "what is an EHCP?")
    telegram.push_message_from(-2001, 4202, "does anyone know when the coffee morning is?")
    telegram.push_message_from(-1002011, 4202, "see you at pickup", chat_type="supergroup")
    telegram.push_message_from(-1002011, 4202, "thanks all", chat_type="supergroup")
    telegram.wait_for(lambda t: len(from_chat(rasa, 4201)) == 1 and len(from_chat(rasa, 4202)) == 3)
    time.sleep(0.5)

    pointer = replies.private_only(BOT_USERNAME)
    assert f"t.me/{BOT_USERNAME}" in pointer
    assert texts(telegram, -2001) == [pointer] and texts(telegram, -1002011) == [pointer]
    (screened,) = from_chat(rasa, 4201)
    assert screened["message"] == "what is an EHCP?" and screened["metadata"]["screen_only"] is True
    assert screened["metadata"]["telegram"]["chat_type"] == "group"
    assert screened["message_id"].startswith(f"telegram-{BOT_ID}--2001-")
    assert {m["metadata"]["telegram"]["chat_type"] for m in from_chat(rasa, 4202)} == {"group", "supergroup"}
    assert not telegram.sent_to(4201) and not telegram.sent_to(4202)  # no private message either


def test_a_concern_in_a_group_is_answered_in_a_private_message_and_nothing_of_it_shows_in_the_group(
    settings, telegram, rasa, polling
):
    known_chat(settings, 4203)  # has started the bot, so it may write to them
    telegram.push_message_from(-2002, 4204, "hello everyone")  # the group's first message
    telegram.wait_for(lambda t: t.sent_to(-2002))
    rasa.replies.append([{"text": SAFEGUARDING_REPLY}])
    telegram.push_message_from(-2002, 4203, DISCLOSURE)
    intro, reply = answered(telegram, 4203, 2)
    time.sleep(0.5)

    assert intro == replies.ANSWERED_PRIVATELY and "group" in intro and "only you" in intro
    assert reply == SAFEGUARDING_REPLY
    assert texts(telegram, -2002) == [replies.private_only(BOT_USERNAME)]  # only the first message's notice
    (arrived,) = from_chat(rasa, 4203)
    assert arrived["message"] == DISCLOSURE and arrived["metadata"]["screen_only"] is True


def test_when_telegram_refuses_the_private_message_the_group_gets_only_a_pointer_to_a_private_chat(
    telegram, rasa, polling
):
    telegram.push_message_from(-2003, 4206, "hello everyone")
    telegram.wait_for(lambda t: t.sent_to(-2003))
    telegram.not_started(4205)  # never started the bot: Telegram won't let it write first
    rasa.replies.append([{"text": SAFEGUARDING_REPLY}])
    telegram.push_message_from(-2003, 4205, DISCLOSURE)
    group = telegram.wait_for(lambda t: len(t.sent_to(-2003)) >= 2 and texts(t, -2003))
    time.sleep(0.5)

    assert group == [replies.private_only(BOT_USERNAME)] * 2
    assert telegram.of("sendMessage:403")
    assert from_chat(rasa, 4205)[0]["message"] == DISCLOSURE


# --- a typed answer to the reminders question ----------------------------------------
@pytest.mark.parametrize(("chat_id", "typed"), [(4301, "yes"), (4302, "Yes please!"), (4303, "sure 👍")])
def test_a_typed_yes_to_the_reminders_question_acts_as_the_yes_please_button(
    settings, telegram, rasa, polling, chat_id, typed
):
    known_chat(settings, chat_id)
    telegram.push_message(chat_id, "/start")
    (question,) = sent(telegram, chat_id, 1)
    telegram.push_message(chat_id, typed)
    _, thanks, year_groups = sent(telegram, chat_id, 3)

    assert opted_in(settings, chat_id)
    assert thanks.body["text"] == replies.OPTED_IN
    assert "Which year groups" in year_groups.body["text"] and "Done" in labels(year_groups.body)
    taken = [
        c
        for c in telegram.of("editMessageReplyMarkup")
        if c.body["chat_id"] == str(chat_id) and c.body["message_id"] == str(question.result["message_id"])
    ]
    assert taken  # the question's buttons go, as after a press
    assert not from_chat(rasa, chat_id)


@pytest.mark.parametrize(("chat_id", "typed"), [(4304, "no thanks"), (4305, "Nope."), (4306, "not now")])
def test_a_typed_no_to_the_reminders_question_acts_as_the_no_thanks_button(
    settings, telegram, rasa, polling, chat_id, typed
):
    known_chat(settings, chat_id)
    telegram.push_message(chat_id, "/start")
    sent(telegram, chat_id, 1)
    telegram.push_message(chat_id, typed)
    assert answered(telegram, chat_id, 2)[1] == replies.NO_THANKS
    assert not opted_in(settings, chat_id)
    assert not from_chat(rasa, chat_id)


def test_anything_else_or_a_yes_once_the_conversation_moved_on_goes_to_rasa(
    settings, telegram, rasa, polling
):
    known_chat(settings, 4307)
    telegram.push_message(4307, "/start")
    (question,) = sent(telegram, 4307, 1)
    assert [[b["callback_data"] for b in row] for row in keyboard(question.body)] == [
        ["optin:yes", "optin:no"]
    ]
    telegram.push_message(4307, "yes but what is an EHCP?")
    telegram.push_message(4307, "yes")
    answered(telegram, 4307, 3)

    assert [m["message"] for m in from_chat(rasa, 4307)] == ["yes but what is an EHCP?", "yes"]
    assert not opted_in(settings, 4307)


@pytest.mark.parametrize(
    ("text", "meaning"),
    [
        ("yes", True),
        ("Yes please", True),
        ("YES PLEASE!!", True),
        ("yep", True),
        ("yeah", True),
        ("sure", True),
        ("ok", True),
        ("Okay.", True),
        ("yes thank you", True),
        ("👍", True),
        ("no", False),
        ("No thanks", False),
        ("no thank you.", False),
        ("nope", False),
        ("nah", False),
        ("not now", False),
        ("not at the moment", False),
        ("yes but what is an EHCP?", None),
        ("no, my son was hurt at school", None),
        ("yes he hits me", None),
        ("what is an EHCP", None),
        ("not sure", None),
        ("", None),
        ("maybe", None),
        ("please", None),
        ("no idea", None),
    ],
)
def test_yes_or_no_reads_only_plain_answers(text, meaning):
    from connectors.telegram.incoming import yes_or_no

    assert yes_or_no(text) is meaning


# --- logs ----------------------------------------------------------------------------
def test_no_message_text_reaches_the_log_whatever_kind_of_update_it_came_in(tmp_path):
    from bot.seed import load_everything

    own = make_settings(tmp_path)
    load_everything(own)
    words = {
        "text": "zebrafinch marmoset",
        "caption": "xylophone theremin",
        "edit": "quokka wombat",
        "group": "walrus dugong",
        "press": "/okapi_capybara",
    }
    with (
        FakeTelegram() as own_telegram,
        ScreeningRasa(secrets.token_hex(16)) as own_rasa,
        connector(own, own_telegram, own_rasa) as running,
    ):
        first = own_telegram.push_message(4401, words["text"])
        own_telegram.push_file(4401, "photo", caption=words["caption"])
        own_telegram.push_edit(first, words["edit"])
        own_telegram.push_message_from(-2401, 4401, words["group"])
        own_telegram.push_callback(4401, words["press"])
        own_telegram.wait_for(lambda t: len(from_chat(own_rasa, 4401)) == 5)
        sent(own_telegram, 4401, 6)  # notice, 4 answers, the file note
    for said in words.values():
        for word in said.strip("/").split("_") if said.startswith("/") else said.split():
            assert word not in running.log, running.log

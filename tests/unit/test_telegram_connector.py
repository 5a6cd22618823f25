"""The Telegram connector: the real python-telegram-bot app, in its own process, against a fake Bot API.

`python -m connectors.telegram` runs as the launcher starts it, long-polling the local fake
Telegram Bot API (tests/fakes/fake_telegram.py) and talking to a stub of the Rasa bridge
that checks the bridge signature (tests/fakes/stub_rasa.py), so no TensorFlow is needed.
Reminder choices are checked in a real database built from the shipped school data. The
delivery transport is tested in-process against the same fake.
"""

from __future__ import annotations

import dataclasses
import os
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

from bot.settings import PROJECT_ROOT, Settings
from connectors.privacy import sender_ref
from connectors.telegram import replies
from connectors.telegram.config import mode, why_off
from connectors.telegram.transport import TelegramTransport
from knowledge import subscribers
from knowledge.db import unit_of_work
from knowledge.delivery import PermanentFailure, RateLimited, TemporaryFailure
from knowledge.school_profile import read_profile
from knowledge.seed import load_everything
from tests.conftest import make_settings
from tests.fakes.fake_telegram import (
    BLOCKED,
    CHAT_NOT_FOUND,
    SERVER_ERROR,
    TOO_MANY_REQUESTS,
    FakeTelegram,
    message_update,
)
from tests.fakes.stub_rasa import StubRasa

TOKEN = "123456:TEST-token"
PRIVACY_URL = "https://example.org/school/privacy"  # school_data/example_school.yml
WEBHOOK_URL = "https://bot.example.org/telegram/webhook"
WEBHOOK_SECRET = "test-webhook-secret_123"
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
            code = process.wait(15)
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


@pytest.fixture(scope="module")
def rasa():
    with StubRasa(secrets.token_hex(16)) as stub:
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
    (confirmation,) = replies_to(telegram, 1003, 1)

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
    telegram.push_message(1031, "what can you tell me about EHCPs?")
    (answer,) = replies_to(telegram, 1031, 1)

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


def test_a_group_chat_is_told_once_that_the_bot_only_works_in_a_private_chat(telegram, rasa, polling):
    telegram.push_message(-2001, "/start", chat_type="group")
    telegram.push_message(-2001, "what is an EHCP?", chat_type="group")
    (answer,) = replies_to(telegram, -2001, 1)
    assert answer["text"] == replies.PRIVATE_ONLY
    time.sleep(0.5)
    assert len(telegram.sent_to(-2001)) == 1
    assert not from_chat(rasa, -2001)


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

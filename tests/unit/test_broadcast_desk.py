"""The SENCo's broadcasts as she has them in Slack, without Rasa: request -> preview -> confirm
-> delivered by the sender through fake transports -> the summary. Real SQLite, the
example school, a fixed clock: Monday 23 November 2026, 9am UK time."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.sender import SenderOptions, deliver
from knowledge.broadcasts import outbox, subscribers
from knowledge.broadcasts.desk import BroadcastDesk
from knowledge.shared.db import unit_of_work
from knowledge.shared.models import BroadcastAudit, OutboxMessage
from tests.fakes.rate_limited_transport import RateLimitedTransport, VirtualClock

UK = ZoneInfo("Europe/London")
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=UK).astimezone(dt.timezone.utc)
SCHOOL = "example-primary"
SENCO, TEACHER = "U0EXSENCO1", "U0EXTEACH1"
TRAINING = (
    "remind all staff about the autism awareness training on Thursday 3:30pm in the library, "
    "the day before and an hour before"
)


@pytest.fixture
def desk(settings) -> BroadcastDesk:
    return BroadcastDesk(settings, clock=lambda: NOW)


def entities_of(payload: str) -> dict:
    return json.loads(payload[payload.index("{") :])


def test_a_request_gives_a_preview_with_the_exact_text_the_audience_count_and_the_sends(desk):
    preview = desk.handle("send_broadcast", TRAINING, {}, SENCO)
    assert "not sent yet" in preview.text
    assert (
        "Reminder: autism awareness training, Thursday 26 November, 3:30pm, in the library." in preview.text
    )
    assert (
        "on Slack" in preview.text and "the day before" in preview.text and "an hour before" in preview.text
    )
    assert [b.title for b in preview.buttons] == ["Send it", "Don't send"]


def test_confirming_schedules_it_and_the_list_shows_it_and_cancel_stops_it(desk, settings):
    preview = desk.handle("send_broadcast", TRAINING, {}, SENCO)
    confirmed = desk.handle("send_broadcast", "", entities_of(preview.buttons[0].payload), SENCO)
    assert confirmed.text.startswith("Confirmed broadcast #")
    listing = desk.handle("list_broadcasts", "what reminders are scheduled?", {}, SENCO)
    assert "autism awareness training" in listing.text and listing.buttons

    number = entities_of(preview.buttons[0].payload)["confirm"]
    ask = desk.handle("cancel_broadcast", f"cancel reminder {number}", {}, SENCO)
    assert ask.text.startswith(f"Cancel broadcast #{number}")
    done = desk.handle("cancel_broadcast", "", entities_of(ask.buttons[0].payload), SENCO)
    assert done.text.startswith(f"Cancelled broadcast #{number}")
    with unit_of_work(settings.database_url) as session:
        actions = set(session.execute(select(BroadcastAudit.action)).scalars())
    assert {"create", "confirm", "cancel"} <= actions


def test_editing_the_words_shows_the_new_preview(desk):
    preview = desk.handle("send_broadcast", TRAINING, {}, SENCO)
    number = entities_of(preview.buttons[0].payload)["confirm"]
    edited = desk.handle(
        "edit_broadcast", f"edit broadcast {number}: Training moved to the hall, 4pm.", {}, SENCO
    )
    assert "“Training moved to the hall, 4pm.”" in edited.text
    vague = desk.handle("edit_broadcast", "edit the training one", {}, SENCO)
    assert "for example" in vague.text


def test_a_teacher_cannot_send_and_an_unclear_request_gets_a_question(desk):
    assert "Only the SENCo or an admin" in desk.handle("send_broadcast", TRAINING, {}, TEACHER).text
    question = desk.handle("send_broadcast", "remind about the training", {}, SENCO)
    assert "?" in question.text and not question.buttons


def test_a_message_that_seems_to_name_a_pupil_is_flagged_in_the_preview(desk):
    preview = desk.handle(
        "send_broadcast", "send all staff now: please keep an eye on Jayden in Year 4 at lunch", {}, SENCO
    )
    assert "⚠" in preview.text and "name" in preview.text.lower()


def test_a_broadcast_to_staff_and_opted_in_parents_is_delivered_once_each_and_summarised(desk, settings):
    with unit_of_work(settings.database_url) as session:
        for chat in ("9001", "9002", "9003"):
            subscribers.opt_in(session, SCHOOL, "telegram", chat)
        subscribers.opt_out(session, SCHOOL, "telegram", "9003")
    preview = desk.handle(
        "send_broadcast", "tell parents and staff now: the SEND coffee morning is on", {}, SENCO
    )
    assert "2 on Telegram" in preview.text
    desk.handle("send_broadcast", "", entities_of(preview.buttons[0].payload), SENCO)

    clock = VirtualClock(NOW)
    slack = RateLimitedTransport(
        channel="slack", overall_per_second=4, monotonic=clock.monotonic, sleep=clock.sleep
    )
    telegram = RateLimitedTransport(channel="telegram", monotonic=clock.monotonic, sleep=clock.sleep)
    summaries: list[tuple[str, str]] = []
    asyncio.run(
        deliver(
            settings.database_url,
            {"slack": slack, "telegram": telegram},
            clock=clock,
            notify_manager=lambda user, text: summaries.append((user, text)),
            options=SenderOptions(poll_interval_s=0.5),
            until_idle=True,
        )
    )
    assert telegram.delivered == {"9001": 1, "9002": 1}
    assert set(slack.delivered.values()) == {1} and SENCO in slack.delivered
    with unit_of_work(settings.database_url) as session:
        statuses = set(session.execute(select(OutboxMessage.status)).scalars())
    assert statuses == {"sent"}
    ((to, text),) = summaries
    assert to == SENCO and "delivered" in text


def test_through_the_fake_slack_and_telegram_apis_parents_wait_for_the_morning_staff_do_not(desk, settings):
    from connectors.slack.transport import SlackTransport
    from connectors.telegram.transport import TelegramTransport
    from tests.fakes.fake_slack import FakeSlack
    from tests.fakes.fake_telegram import FakeTelegram

    with unit_of_work(settings.database_url) as session:
        for chat in ("9101", "9102", "9103"):
            subscribers.opt_in(session, SCHOOL, "telegram", chat)
    evening = dt.datetime(2026, 11, 23, 21, 0, tzinfo=UK).astimezone(dt.timezone.utc)
    at_nine = BroadcastDesk(settings, clock=lambda: evening)
    preview = at_nine.handle(
        "send_broadcast", "tell parents and staff now: SEND coffee morning tomorrow", {}, SENCO
    )
    assert "3 on Telegram" in preview.text
    at_nine.handle("send_broadcast", "", entities_of(preview.buttons[0].payload), SENCO)
    outbox.expand_due_sends(settings.database_url, evening)  # queued for everyone ...
    with unit_of_work(settings.database_url) as session:  # ... then a parent opts out
        subscribers.opt_out(session, SCHOOL, "telegram", "9103")

    with FakeSlack() as fake_slack, FakeTelegram() as fake_telegram:
        transports = {
            "slack": SlackTransport("xoxb-broadcast", fake_slack.api_url),
            "telegram": TelegramTransport("123456:broadcast", fake_telegram.api_url),
        }
        clock = VirtualClock(evening)

        def run() -> None:
            asyncio.run(
                deliver(
                    settings.database_url,
                    transports,
                    clock=clock,
                    hours=outbox.SendHours.from_settings(settings),
                    options=SenderOptions(poll_interval_s=0.5),
                    until_idle=True,
                )
            )

        run()
        staff_dms = {c.body["channel"] for c in fake_slack.of("chat.postMessage")}
        assert "D0EXTEACH1" in staff_dms and "D0EXSENCO1" in staff_dms
        assert fake_telegram.of("sendMessage") == []  # 9pm: parents' quiet hours

        clock.advance(
            (
                dt.datetime(2026, 11, 24, 7, 31, tzinfo=UK) - dt.datetime(2026, 11, 23, 21, 0, tzinfo=UK)
            ).total_seconds()
        )
        run()
        got = Counter(str(c.body["chat_id"]) for c in fake_telegram.of("sendMessage"))
        assert got == {"9101": 1, "9102": 1}  # the parent who opted out is skipped
    with unit_of_work(settings.database_url) as session:
        statuses = Counter(session.execute(select(OutboxMessage.status)).scalars())
    assert statuses["skipped_opted_out"] == 1 and statuses["queued"] == 0

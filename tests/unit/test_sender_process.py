"""The broadcast sender as `make run` starts it (`python -m bot.sender`), stopped halfway
through a broadcast to 500 parents and started again, against the local fake Telegram Bot
API with Telegram's flood limits switched on (1 message a second per chat, 30 overall).

A graceful stop (SIGTERM, as at a restart) must give every parent exactly one message.
A hard kill (SIGKILL, as at a power cut) must never give anyone two; the few messages
that were in flight at that instant can't be known to have arrived, so they are not
resent, they are counted as "not confirmed" and the SENCo is told.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from knowledge.broadcasts import subscribers
from knowledge.broadcasts.desk import BroadcastDesk
from knowledge.shared.db import unit_of_work
from knowledge.shared.models import OutboxMessage
from knowledge.shared.settings import PROJECT_ROOT
from tests.fakes.fake_telegram import FakeTelegram, Limits

SCHOOL, SENCO = "example-primary", "U0EXSENCO1"
PARENTS = [str(800000 + i) for i in range(500)]
IN_FLIGHT_LIMIT = 15  # the sender's most claimed-but-unconfirmed Telegram messages


@pytest.fixture
def telegram():
    with FakeTelegram() as fake:
        fake.enforce_limits(Limits())
        yield fake


@pytest.fixture
def broadcast_to_500_parents(settings):
    with unit_of_work(settings.database_url) as session:
        for chat in PARENTS:
            subscribers.opt_in(session, SCHOOL, "telegram", chat)
    desk = BroadcastDesk(settings)
    preview = desk.handle(
        "send_broadcast", "tell parents now: the SEND coffee morning is on Friday", {}, SENCO
    )
    assert "500 on Telegram" in preview.text
    payload = preview.buttons[0].payload
    desk.handle("send_broadcast", "", json.loads(payload[payload.index("{") :]), SENCO)
    return settings


def start_sender(settings, telegram) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TELEGRAM_"))}
    env.update(
        DATABASE_URL=settings.database_url,
        TELEGRAM_BOT_TOKEN="123456:sender-test",
        TELEGRAM_API_URL=telegram.api_url,
        PARENT_QUIET_HOURS="00:00-00:00",  # the test must not depend on the time of day it runs
    )
    return subprocess.Popen(
        [sys.executable, "-m", "bot.sender"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def delivered(telegram) -> Counter:
    return Counter(str(c.body.get("chat_id")) for c in telegram.of("sendMessage"))


def wait_until(condition, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def outbox_counts(settings) -> dict[str, int]:
    with unit_of_work(settings.database_url) as session:
        return dict(
            session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
        )


def test_a_sender_stopped_halfway_and_started_again_gives_every_parent_exactly_one_message(
    broadcast_to_500_parents, telegram
):
    settings = broadcast_to_500_parents
    first = start_sender(settings, telegram)
    wait_until(lambda: sum(delivered(telegram).values()) >= 200)
    first.send_signal(signal.SIGTERM)
    assert first.wait(30) == 0
    assert outbox_counts(settings).get("sending", 0) == 0  # in-flight messages were finished or put back
    halfway = sum(delivered(telegram).values())
    assert halfway < 500

    second = start_sender(settings, telegram)
    try:
        wait_until(lambda: outbox_counts(settings).get("sent", 0) == 500)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    counts = delivered(telegram)
    assert set(counts) == set(PARENTS)
    assert set(counts.values()) == {1}, "nobody gets it twice"


def test_a_hard_kill_never_gives_anyone_two_and_only_in_flight_messages_are_in_doubt(
    broadcast_to_500_parents, telegram
):
    settings = broadcast_to_500_parents
    first = start_sender(settings, telegram)
    wait_until(lambda: sum(delivered(telegram).values()) >= 150)
    first.kill()
    first.wait(30)

    second = start_sender(settings, telegram)
    try:
        wait_until(
            lambda: outbox_counts(settings).get("queued", 0) == 0 and "sending" not in outbox_counts(settings)
        )
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    counts = delivered(telegram)
    statuses = outbox_counts(settings)
    assert max(counts.values()) == 1, "nobody gets it twice"
    assert statuses.get("sent", 0) + statuses.get("unknown", 0) == 500
    assert statuses.get("unknown", 0) <= IN_FLIGHT_LIMIT
    assert len(counts) >= 500 - statuses.get("unknown", 0)

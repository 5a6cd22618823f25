"""Retention, export and erasure of conversations, against a real tracker-store database.

The `events` table is Rasa's own SQLTrackerStore table, written here the way Rasa writes it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
from sqlalchemy import text

from bot import cli
from bot.scheduler import run_due_jobs
from knowledge.privacy import rights as privacy
from knowledge.privacy.conversations import export_conversation, senders_for
from knowledge.safeguarding.records import record_concern
from knowledge.shared.db import get_engine, unit_of_work
from knowledge.shared.ids import sender_ref
from knowledge.shared.models import ErasureRequest, SafeguardingRecord
from knowledge.shared.settings import tracker_store_url

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.timezone.utc)

CREATE_EVENTS = """
CREATE TABLE events (
    id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, type_name VARCHAR(255) NOT NULL,
    timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT)
"""


@pytest.fixture
def tracker(settings, tmp_path):
    settings = dataclasses.replace(settings, tracker_db=tmp_path / "tracker.db")
    with get_engine(tracker_store_url(settings)).begin() as connection:
        connection.execute(text(CREATE_EVENTS))
    return settings


def said(settings, sender: str, kind: str, words: str, when: dt.datetime) -> None:
    data = json.dumps({"event": kind, "text": words, "timestamp": when.timestamp()})
    with get_engine(tracker_store_url(settings)).begin() as connection:
        connection.execute(
            text("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (:s, :k, :t, :d)"),
            {"s": sender, "k": kind, "t": when.timestamp(), "d": data},
        )


def rows(settings, sender: str | None = None) -> int:
    query = "SELECT COUNT(*) FROM events" + (" WHERE sender_id = :s" if sender else "")
    with get_engine(tracker_store_url(settings)).connect() as connection:
        return connection.execute(text(query), {"s": sender}).scalar_one()


def test_conversations_past_the_retention_period_are_purged_and_newer_ones_kept(tracker):
    said(tracker, "old", "user", "what is an ehcp", NOW - dt.timedelta(days=31))
    said(tracker, "old", "bot", "An EHCP is...", NOW - dt.timedelta(days=31))
    said(tracker, "recent", "user", "who is the senco", NOW - dt.timedelta(days=29))
    assert privacy.purge_chat_logs(tracker, NOW) == 2
    assert rows(tracker, "old") == 0
    assert rows(tracker, "recent") == 1


def test_the_purge_never_touches_safeguarding_records(tracker):
    said(tracker, "old", "user", "/safeguarding_concern", NOW - dt.timedelta(days=400))
    record_concern(tracker.database_url, channel="rest", sender_ref="r", message="verbatim", detected_by="x")
    privacy.purge_chat_logs(tracker, NOW + dt.timedelta(days=400))
    with unit_of_work(tracker.database_url) as session:
        assert session.query(SafeguardingRecord).count() == 1


def test_the_retention_period_is_configurable(tracker):
    said(tracker, "a", "user", "hello", NOW - dt.timedelta(days=8))
    assert privacy.purge_chat_logs(dataclasses.replace(tracker, chat_log_retention_days=7), NOW) == 1


def test_the_scheduler_runs_the_purge(tracker):
    said(tracker, "old", "user", "hello", NOW - dt.timedelta(days=60))
    run_due_jobs(tracker, now=NOW)
    assert rows(tracker) == 0


def test_an_export_shows_the_conversation_and_nothing_of_anyone_else(tracker):
    said(tracker, "family-1", "user", "what is an ehcp", NOW)
    said(tracker, "family-1", "bot", "An EHCP is a plan", NOW)
    said(tracker, "family-2", "user", "my other secret question", NOW)
    lines = export_conversation(tracker_store_url(tracker), "family-1")
    assert [(x.who, x.text) for x in lines] == [
        ("you", "what is an ehcp"),
        ("assistant", "An EHCP is a plan"),
    ]


def test_staff_find_a_conversation_by_the_reference_in_the_logs(tracker):
    said(tracker, "family-1", "user", "hello", NOW)
    assert senders_for(tracker_store_url(tracker), sender_ref("family-1")) == ["family-1"]
    assert senders_for(tracker_store_url(tracker), "nobody") == []


def test_staff_export_and_erase_through_the_cli(tracker, monkeypatch, capsys):
    monkeypatch.setattr(cli, "get_settings", lambda: tracker)
    said(tracker, "family-1", "user", "what is an ehcp", NOW)
    said(tracker, "family-2", "user", "hello", NOW)
    assert cli.main(["privacy", "export", sender_ref("family-1")]) == 0
    assert "what is an ehcp" in capsys.readouterr().out
    assert cli.main(["privacy", "erase", sender_ref("family-1")]) == 0
    assert rows(tracker, "family-1") == 0
    assert rows(tracker, "family-2") == 1
    assert cli.main(["privacy", "erase", "no-such-sender"]) == 4


def test_a_family_asking_for_erasure_has_the_conversation_deleted_and_the_id_forgotten(tracker):
    said(tracker, "family-1", "user", "please delete my data", NOW)
    privacy.request_erasure(tracker, "family-1")
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=10)
    assert privacy.process_erasures(tracker, later) == 1
    assert rows(tracker, "family-1") == 0
    with unit_of_work(tracker.database_url) as session:
        request = session.query(ErasureRequest).one()
    assert request.sender_id is None
    assert request.sender_ref == sender_ref("family-1")
    assert request.events_deleted == 1
    assert privacy.process_erasures(tracker, later) == 0


def test_what_we_hold_is_summarised_from_the_conversation():
    events = [
        {"event": "user", "text": "what is an ehcp", "timestamp": NOW.timestamp()},
        {"event": "bot", "text": "An EHCP is..."},
        {"event": "user", "text": "/ask_appeal", "timestamp": NOW.timestamp()},
        {"event": "user", "text": "what do you keep about me", "timestamp": NOW.timestamp()},
    ]
    reply = privacy.what_we_hold_reply(events, 30)
    assert "2 messages from you since 23 November 2026" in reply.text
    assert "30 days" in reply.text
    assert reply.buttons[0].payload == "/erase_my_data"


def test_a_telegram_parent_is_told_of_their_reminder_choices_and_erasure_forgets_them(tracker):
    from knowledge.broadcasts import subscribers
    from knowledge.shared.models import Subscriber

    with unit_of_work(tracker.database_url) as session:
        subscribers.opt_in(session, "example-primary", "telegram", "4242", year_groups=["Year 3"])
        subscribers.first_contact(session, "example-primary", "telegram", "5353")
    held = privacy.reminder_subscriptions(tracker, "telegram-4242")
    assert held == [
        "that you get Example Primary School (example data)'s SENCo reminders (Year 3); /stop ends them"
    ]
    reply = privacy.what_we_hold_reply([], 30, held)
    assert "I also keep that you get" in reply.text and "Year 3" in reply.text
    assert privacy.reminder_subscriptions(tracker, "web-abc") == []

    privacy.request_erasure(tracker, "telegram-4242")
    privacy.process_erasures(tracker, dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=10))
    with unit_of_work(tracker.database_url) as session:
        left = [s.address for s in session.query(Subscriber).all()]
    assert left == ["5353"]  # the other parent is untouched

"""The scheduler's Slack jobs against the local fake Slack Web API: booking reminders, the
SENCo's morning digest, and safeguarding alerts to the DSL and deputy.

Each "restart" below is a fresh `Settings` and a fresh Slack client, as after the bot is
stopped and started again; everything the jobs need to remember is in the database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.scheduler import run_due_jobs
from knowledge.safeguarding.records import record_concern
from knowledge.schools.staff import find_staff
from knowledge.shared.db import unit_of_work
from knowledge.shared.models import BookingReminder, SafeguardingRecord, SurgerySlot
from knowledge.surgery import booking
from tests.fakes.fake_slack import FakeSlack

UK = ZoneInfo("Europe/London")
SCHOOL = "example-primary"
TEACHER, SENCO, DSL, DEPUTY = "U0EXTEACH1", "U0EXSENCO1", "U0EXDSL001", "U0EXDDSL01"
# Tuesday 24 November 2026, 3:15pm UK (GMT, so also 15:15 UTC); booked on the Monday morning.
SLOT_START = dt.datetime(2026, 11, 24, 15, 15, tzinfo=UK)
BOOKED_AT = dt.datetime(2026, 11, 23, 9, 0, tzinfo=UK).astimezone(dt.timezone.utc)


@pytest.fixture
def slack():
    with FakeSlack() as fake:
        yield fake


def on_slack(settings, slack):
    """The settings a freshly started bot would read, with Slack pointed at the fake."""
    return dataclasses.replace(settings, slack_bot_token="xoxb-scheduler-test", slack_api_url=slack.api_url)


def dms_to(slack, user_id: str) -> list[str]:
    channel = "D" + user_id.removeprefix("U")
    return [c.body["text"] for c in slack.of("chat.postMessage") if c.body.get("channel") == channel]


@pytest.fixture
def booked(settings):
    with unit_of_work(settings.database_url) as session:
        slot = SurgerySlot(
            school_ref=SCHOOL,
            starts_at=SLOT_START.astimezone(dt.timezone.utc),
            ends_at=(SLOT_START + dt.timedelta(minutes=15)).astimezone(dt.timezone.utc),
        )
        session.add(slot)
        session.flush()
        teacher = find_staff(session, SCHOOL, TEACHER)
        return booking.book(session, teacher, slot.id, topic="reading", note="phonics", now=BOOKED_AT).id


def test_each_reminder_is_sent_once_even_across_a_restart(settings, slack, booked):
    day_before = SLOT_START - dt.timedelta(hours=24) + dt.timedelta(minutes=1)
    run_due_jobs(on_slack(settings, slack), now=day_before.astimezone(dt.timezone.utc))
    run_due_jobs(on_slack(settings, slack), now=day_before.astimezone(dt.timezone.utc))  # restarted
    hour_before = SLOT_START - dt.timedelta(minutes=59)
    for _ in range(3):
        run_due_jobs(on_slack(settings, slack), now=hour_before.astimezone(dt.timezone.utc))

    sent = dms_to(slack, TEACHER)
    assert len(sent) == 2
    assert "tomorrow" in sent[0] and "3:15pm" in sent[0]
    assert "today" in sent[1] and "3:15pm" in sent[1]
    assert not any("phonics" in text for text in sent)  # reminders carry no notes
    with unit_of_work(settings.database_url) as session:
        statuses = session.execute(select(BookingReminder.status)).scalars().all()
        assert sorted(statuses) == ["sent", "sent"]


def test_a_reminder_interrupted_mid_send_is_not_sent_again_and_shows_as_failed(settings, slack, booked):
    hour_before = (SLOT_START - dt.timedelta(minutes=59)).astimezone(dt.timezone.utc)
    with unit_of_work(settings.database_url) as session:  # a process claimed it, then died
        reminder = session.execute(select(BookingReminder).where(BookingReminder.kind == "1h")).scalar_one()
        reminder.status, reminder.claimed_at = "sending", hour_before
    run_due_jobs(on_slack(settings, slack), now=hour_before + dt.timedelta(minutes=11))
    assert not [t for t in dms_to(slack, TEACHER) if "today" in t]
    with unit_of_work(settings.database_url) as session:
        reminder = session.execute(select(BookingReminder).where(BookingReminder.kind == "1h")).scalar_one()
        assert reminder.status == "failed" and "not resent" in reminder.detail


def test_the_senco_gets_one_digest_each_school_morning(settings, slack, booked):
    before = dt.datetime(2026, 11, 24, 7, 0, tzinfo=UK).astimezone(dt.timezone.utc)
    after = dt.datetime(2026, 11, 24, 7, 31, tzinfo=UK).astimezone(dt.timezone.utc)
    run_due_jobs(on_slack(settings, slack), now=before)
    assert dms_to(slack, SENCO) == []
    for _ in range(3):
        run_due_jobs(on_slack(settings, slack), now=after)
    (digest,) = dms_to(slack, SENCO)
    assert "3:15pm" in digest and "Mr D. Example" in digest and "phonics" in digest
    assert not [t for t in dms_to(slack, TEACHER) if "Mr D. Example" in t]  # nobody else gets it


def test_a_new_concern_is_sent_to_the_dsl_and_deputy_by_dm_and_retried_if_slack_fails(settings, slack):
    record_id = record_concern(
        settings.database_url,
        channel="socketio",
        sender_ref="ref1",
        message="he hits her",
        detected_by="test",
    )
    slack.rate_limit_next["conversations.open"] = 99  # Slack keeps refusing
    run_due_jobs(on_slack(settings, slack))
    assert dms_to(slack, DSL) == []
    with unit_of_work(settings.database_url) as session:
        assert session.get(SafeguardingRecord, record_id).slack_alerted_at is None  # will be retried

    slack.rate_limit_next["conversations.open"] = 0
    run_due_jobs(on_slack(settings, slack))
    run_due_jobs(on_slack(settings, slack))
    for lead in (DSL, DEPUTY):
        (alert,) = dms_to(slack, lead)
        assert f"Safeguarding concern #{record_id}" in alert and "he hits her" not in alert
    assert dms_to(slack, TEACHER) == [] and dms_to(slack, SENCO) == []


def test_an_unacknowledged_concern_is_repeated_to_the_leads_after_the_set_time(settings, slack):
    record_id = record_concern(
        settings.database_url, channel="socketio", sender_ref="ref2", message="not safe", detected_by="test"
    )
    run_due_jobs(on_slack(settings, slack))
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(
        minutes=settings.safeguarding_escalate_minutes + 1
    )
    run_due_jobs(on_slack(settings, slack), now=later)
    run_due_jobs(on_slack(settings, slack), now=later)
    repeats = [t for t in dms_to(slack, DEPUTY) if t.startswith("NOT YET ACKNOWLEDGED")]
    assert len(repeats) == 1 and f"#{record_id}" in repeats[0]


def test_the_dsls_alert_says_who_may_be_at_risk_most_urgent_first_but_never_the_words(settings, slack):
    record_id = record_concern(
        settings.database_url,
        channel="telegram",
        sender_ref="ref-urgent",
        message="she never arrived at school and her dad has threatened us",
        detected_by="test",
        kinds="danger_now,domestic_abuse,child_harm,missing_child",
    )
    run_due_jobs(on_slack(settings, slack))
    (alert,) = dms_to(slack, DSL)
    assert f"Safeguarding concern #{record_id}" in alert
    urgent, at_home, a_child = (
        alert.index("someone may be in danger now"),
        alert.index("domestic abuse"),
        alert.index("a child may be being harmed"),
    )
    assert urgent < at_home < a_child
    assert "never arrived" not in alert and "threatened" not in alert


def test_an_alert_for_a_record_without_groups_says_nothing_it_does_not_know(settings, slack):
    record_concern(
        settings.database_url, channel="socketio", sender_ref="ref-plain", message="x", detected_by="test"
    )
    run_due_jobs(on_slack(settings, slack))
    (alert,) = dms_to(slack, DSL)
    assert "may be" not in alert

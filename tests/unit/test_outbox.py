"""The durable outbox: one row per recipient and send, quiet hours, opt-outs at send time, claims
that can't be shared, retries that end, and what a crash leaves behind."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
from sqlalchemy import update

from knowledge.broadcasts import outbox, subscribers
from knowledge.broadcasts.outbox import SendHours
from knowledge.shared.db import unit_of_work
from knowledge.shared.models import BroadcastSend, OutboxMessage, Subscriber
from tests.unit.test_broadcasts import (
    ISSUE_REQUEST,
    NOW_AT,
    SCHOOL,
    STAFF_IDS,
    THURSDAY_1530,
    add_parent,
    add_parents,
    build_template,
    create,
    fresh_copy,
    outbox_rows,
    send_now,
    sends_of,
)

UTC = dt.timezone.utc
MONDAY_2100 = dt.datetime(2026, 11, 23, 21, 0, tzinfo=UTC)  # GMT: UK time is UTC in November
TUESDAY_0730 = dt.datetime(2026, 11, 24, 7, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def template_db(tmp_path_factory) -> Path:
    return build_template(tmp_path_factory)


@pytest.fixture
def db(template_db: Path, tmp_path: Path) -> str:
    return fresh_copy(template_db, tmp_path)


def statuses(db: str, broadcast_id: int | None = None) -> dict[str, str]:
    return {row.address: row.status for row in outbox_rows(db, broadcast_id)}


# --- Expansion ----------------------------------------------------------------------------------------


def test_a_due_send_becomes_one_queued_message_per_recipient_and_the_send_is_marked_queued(db):
    add_parents(db, 3)
    broadcast_id = create(db, send_now({"staff": "all", "parents": "all"}), confirm=True)
    assert outbox.expand_due_sends(db, NOW_AT) == len(STAFF_IDS) + 3
    rows = outbox_rows(db, broadcast_id)
    assert sorted((r.channel, r.address) for r in rows) == sorted(
        [("slack", s) for s in STAFF_IDS] + [("telegram", f"tg{n:04d}") for n in range(3)]
    )
    assert {(r.status, r.not_before, r.attempts) for r in rows} == {("queued", NOW_AT, 0)}
    assert sends_of(db, broadcast_id) == [(-1, NOW_AT, "queued")]


def test_a_send_not_yet_due_is_left_alone(db):
    broadcast_id = create(db, ISSUE_REQUEST, confirm=True)
    assert outbox.expand_due_sends(db, NOW_AT) == 0
    assert outbox_rows(db, broadcast_id) == []


def test_expanding_the_same_send_again_after_a_crash_makes_no_duplicate_rows(db):
    add_parents(db, 20)
    broadcast_id = create(db, send_now({"parents": "all"}), confirm=True)
    assert outbox.expand_due_sends(db, NOW_AT) == 20
    with unit_of_work(db) as session:  # as if the process died before the send was marked queued
        session.execute(update(BroadcastSend).values(status="pending"))
    assert outbox.expand_due_sends(db, NOW_AT) == 0
    assert len(outbox_rows(db, broadcast_id)) == 20


def test_two_senders_expanding_at_once_queue_each_recipient_once(db):
    add_parents(db, 50)
    broadcast_id = create(db, send_now({"parents": "all"}), confirm=True)
    start = threading.Barrier(4)
    made: list[int] = []

    def expander() -> None:
        start.wait()
        made.append(outbox.expand_due_sends(db, NOW_AT))

    threads = [threading.Thread(target=expander) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(made) == 50
    assert len(outbox_rows(db, broadcast_id)) == 50


def test_the_audience_is_resolved_when_the_send_is_due_not_when_it_was_written(db):
    add_parents(db, 3)
    broadcast_id = create(db, ISSUE_REQUEST.replace("all staff", "parents"), confirm=True)
    with unit_of_work(db) as session:
        subscribers.opt_out(session, SCHOOL, "telegram", "tg0001", now=NOW_AT)
    add_parent(db, "late-joiner")
    outbox.expand_due_sends(db, THURSDAY_1530 - dt.timedelta(days=1))
    assert sorted(statuses(db, broadcast_id)) == ["late-joiner", "tg0000", "tg0002"]


def test_staff_text_is_escaped_for_slack_and_parents_get_it_as_written(db):
    add_parent(db, "111")
    broadcast_id = create(
        db, send_now({"staff": ["teacher"], "parents": "all"}, "Tea & cake <!channel>"), confirm=True
    )
    outbox.expand_due_sends(db, NOW_AT)
    texts = {r.channel: r.text for r in outbox_rows(db, broadcast_id)}
    assert texts == {"slack": "Tea &amp; cake &lt;!channel&gt;", "telegram": "Tea & cake <!channel>"}


def test_a_late_day_before_reminder_is_dropped_when_the_hour_before_is_also_due(db):
    broadcast_id = create(db, ISSUE_REQUEST, confirm=True)
    outbox.expand_due_sends(db, THURSDAY_1530 - dt.timedelta(minutes=30))  # the bot was off until then
    assert [status for _, _, status in sends_of(db, broadcast_id)] == ["skipped", "queued"]
    assert len(outbox_rows(db, broadcast_id)) == len(STAFF_IDS)


def test_a_reminder_is_not_sent_once_the_event_has_started(db):
    broadcast_id = create(db, ISSUE_REQUEST, confirm=True)
    outbox.expand_due_sends(db, THURSDAY_1530 + dt.timedelta(minutes=1))
    assert [status for _, _, status in sends_of(db, broadcast_id)] == ["skipped", "skipped"]
    assert outbox_rows(db, broadcast_id) == []


# --- Quiet hours and staff hours -------------------------------------------------------------------


def test_a_parent_message_due_at_9pm_waits_until_7_30_next_morning_but_a_staff_one_goes_at_once(db):
    add_parent(db, "111")
    broadcast_id = create(
        db, send_now({"staff": ["teacher"], "parents": "all"}), now=MONDAY_2100, confirm=True
    )
    outbox.expand_due_sends(db, MONDAY_2100)
    not_before = {r.channel: r.not_before for r in outbox_rows(db, broadcast_id)}
    assert not_before == {"slack": MONDAY_2100, "telegram": TUESDAY_0730}


def test_quiet_hours_follow_uk_time_in_summer_and_can_be_configured():
    hours = SendHours()
    six_am_bst = dt.datetime(2026, 6, 10, 5, 0, tzinfo=UTC)  # 6am in London
    assert hours.allowed_from("parent", six_am_bst) == dt.datetime(2026, 6, 10, 6, 30, tzinfo=UTC)
    assert hours.allowed_from("parent", dt.datetime(2026, 6, 10, 12, 0, tzinfo=UTC)) == dt.datetime(
        2026, 6, 10, 12, 0, tzinfo=UTC
    )
    later = SendHours(quiet_start="21:30", quiet_end="08:00")
    assert later.allowed_from("parent", MONDAY_2100) == MONDAY_2100
    assert later.allowed_from("parent", MONDAY_2100 + dt.timedelta(hours=1)) == dt.datetime(
        2026, 11, 24, 8, 0, tzinfo=UTC
    )
    assert (
        SendHours(quiet_start="00:00", quiet_end="00:00").allowed_from("parent", MONDAY_2100) == MONDAY_2100
    )


def test_staff_messages_follow_school_hours_when_the_school_sets_them():
    hours = SendHours(staff_hours=("08:00", "17:00"), school_day=lambda day: day.weekday() < 5)
    assert hours.allowed_from("staff", MONDAY_2100) == dt.datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    assert hours.allowed_from("staff", NOW_AT) == NOW_AT
    saturday_noon = dt.datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert hours.allowed_from("staff", saturday_noon) == dt.datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert SendHours().allowed_from("staff", saturday_noon) == saturday_noon


def test_staff_hours_are_applied_when_the_send_is_expanded(db):
    broadcast_id = create(db, send_now({"staff": ["teacher"]}), now=MONDAY_2100, confirm=True)
    outbox.expand_due_sends(db, MONDAY_2100, staff_hours=("08:00", "17:00"))
    assert {r.not_before for r in outbox_rows(db, broadcast_id)} == {
        dt.datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    }


# --- Claiming -----------------------------------------------------------------------------------------


def test_a_claim_takes_only_due_rows_of_its_channel_and_a_second_claim_never_gets_them(db):
    add_parents(db, 5)
    create(db, send_now({"staff": "all", "parents": "all"}), confirm=True)
    outbox.expand_due_sends(db, NOW_AT)
    first = outbox.claim_batch(db, NOW_AT, 3, "telegram")
    second = outbox.claim_batch(db, NOW_AT, 10, "telegram")
    assert [r.address for r in first] == ["tg0000", "tg0001", "tg0002"]
    assert [r.address for r in second] == ["tg0003", "tg0004"]
    assert outbox.claim_batch(db, NOW_AT, 10, "telegram") == []
    assert {r.status for r in first + second} == {"sending"}
    assert {r.claimed_at for r in first} == {NOW_AT}


def test_rows_waiting_for_quiet_hours_to_end_are_not_claimed_before_then(db):
    add_parent(db, "111")
    create(db, send_now({"parents": "all"}), now=MONDAY_2100, confirm=True)
    outbox.expand_due_sends(db, MONDAY_2100)
    assert outbox.claim_batch(db, MONDAY_2100 + dt.timedelta(hours=3), 10, "telegram") == []
    assert [r.address for r in outbox.claim_batch(db, TUESDAY_0730, 10, "telegram")] == ["111"]


def test_concurrent_claims_share_out_the_rows_without_overlap(db):
    add_parents(db, 60)
    create(db, send_now({"parents": "all"}), confirm=True)
    outbox.expand_due_sends(db, NOW_AT)
    start = threading.Barrier(6)
    claimed: list[int] = []
    lock = threading.Lock()

    def claimer() -> None:
        start.wait()
        while rows := outbox.claim_batch(db, NOW_AT, 4, "telegram"):
            with lock:
                claimed.extend(r.id for r in rows)

    threads = [threading.Thread(target=claimer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed) == len(set(claimed)) == 60


# --- Right before sending ---------------------------------------------------------------------------


def test_a_parent_who_opted_out_after_the_message_was_queued_is_skipped(db):
    add_parents(db, 2)
    broadcast_id = create(db, send_now({"parents": "all"}), confirm=True)
    outbox.expand_due_sends(db, NOW_AT)
    with unit_of_work(db) as session:
        subscribers.opt_out(session, SCHOOL, "telegram", "tg0000", now=NOW_AT)
    claimed = outbox.claim_batch(db, NOW_AT, 10, "telegram")
    ready = outbox.skip_if_opted_out(db, claimed, NOW_AT)
    assert [r.address for r in ready] == ["tg0001"]
    assert statuses(db, broadcast_id) == {"tg0000": "skipped_opted_out", "tg0001": "sending"}


def test_staff_are_skipped_at_send_time_only_if_they_explicitly_opted_out(db):
    broadcast_id = create(db, send_now({"staff": ["teacher"]}), confirm=True)
    outbox.expand_due_sends(db, NOW_AT)
    with unit_of_work(db) as session:
        subscribers.get_or_create(session, SCHOOL, "slack", "U0EXTEACH1", kind="staff")
        subscribers.opt_out(session, SCHOOL, "slack", "U0EXTEACH1", now=NOW_AT)
    ready = outbox.skip_if_opted_out(db, outbox.claim_batch(db, NOW_AT, 10, "slack"), NOW_AT)
    assert [r.address for r in ready] == ["U0EXTEACH2"]
    assert statuses(db, broadcast_id)["U0EXTEACH1"] == "skipped_opted_out"


def test_a_parents_message_that_drifted_into_quiet_hours_goes_back_to_wait_for_the_morning(db):
    add_parent(db, "111")
    broadcast_id = create(db, send_now({"parents": "all", "staff": ["teacher"]}), confirm=True)
    outbox.expand_due_sends(db, NOW_AT)
    claimed = outbox.claim_batch(db, MONDAY_2100, 10, "telegram") + outbox.claim_batch(
        db, MONDAY_2100, 10, "slack"
    )
    ready = outbox.check_before_send(db, claimed, MONDAY_2100, SendHours())
    assert sorted(r.address for r in ready) == ["U0EXTEACH1", "U0EXTEACH2"]
    parent = next(r for r in outbox_rows(db, broadcast_id) if r.address == "111")
    assert (parent.status, parent.not_before, parent.attempts) == ("queued", TUESDAY_0730, 0)


# --- Outcomes -------------------------------------------------------------------------------------------


def _one_claimed(db: str) -> OutboxMessage:
    add_parent(db, "111")
    create(db, send_now({"parents": "all"}), confirm=True)
    outbox.expand_due_sends(db, NOW_AT)
    (row,) = outbox.claim_batch(db, NOW_AT, 1, "telegram")
    return row


def test_a_temporary_failure_is_retried_later_and_given_up_after_the_last_attempt(db):
    row = _one_claimed(db)
    later = NOW_AT + dt.timedelta(minutes=1)
    assert outbox.mark_retry(db, row.id, later, "Bad Gateway", max_attempts=3) == "queued"
    assert outbox.claim_batch(db, NOW_AT, 1, "telegram") == []
    (again,) = outbox.claim_batch(db, later, 1, "telegram")
    assert outbox.mark_retry(db, again.id, later, "Bad Gateway", max_attempts=3) == "queued"
    (last,) = outbox.claim_batch(db, later, 1, "telegram")
    assert outbox.mark_retry(db, last.id, later, "Bad Gateway", max_attempts=3) == "failed"
    (final,) = outbox_rows(db)
    assert (final.status, final.attempts, final.last_error) == (
        "failed",
        3,
        "could not be delivered after 3 tries (Bad Gateway)",
    )


def test_a_permanent_failure_is_final_and_the_person_is_left_out_of_the_next_broadcast(db):
    row = _one_claimed(db)
    assert outbox.mark_failed(db, row.id, "blocked the bot", NOW_AT, unreachable=True)
    (failed,) = outbox_rows(db)
    assert (failed.status, failed.last_error) == ("failed", "blocked the bot")
    assert outbox.claim_batch(db, NOW_AT + dt.timedelta(days=1), 10, "telegram") == []
    with unit_of_work(db) as session:
        assert session.query(Subscriber).filter_by(address="111").one().unreachable_at == NOW_AT
    next_one = create(db, send_now({"parents": "all"}), confirm=True)
    assert outbox.expand_due_sends(db, NOW_AT) == 0
    assert outbox_rows(db, next_one) == []


def test_an_outcome_is_only_recorded_by_the_sender_that_claimed_the_row(db):
    row = _one_claimed(db)
    assert outbox.mark_sent(db, row.id, NOW_AT)
    assert not outbox.mark_failed(db, row.id, "blocked the bot", NOW_AT)
    assert outbox.mark_retry(db, row.id, NOW_AT, "late") == ""
    assert outbox_rows(db)[0].status == "sent"


# --- After a crash ---------------------------------------------------------------------------------------


def test_rows_a_dead_sender_left_sending_become_unknown_and_are_never_resent(db):
    add_parents(db, 4)
    create(db, send_now({"parents": "all"}), confirm=True)
    outbox.expand_due_sends(db, NOW_AT)
    claimed = outbox.claim_batch(db, NOW_AT, 2, "telegram")
    assert outbox.recover_after_crash(db, NOW_AT) == 2
    assert {r.address: r.status for r in outbox_rows(db)} == {
        "tg0000": "unknown",
        "tg0001": "unknown",
        "tg0002": "queued",
        "tg0003": "queued",
    }
    assert [r.address for r in outbox.claim_batch(db, NOW_AT, 10, "telegram")] == ["tg0002", "tg0003"]
    assert outbox_rows(db)[0].last_error == outbox.UNKNOWN_DETAIL
    assert outbox.mark_sent(db, claimed[0].id, NOW_AT)  # a slow call that did finish is still recorded


def test_a_school_that_prefers_a_duplicate_to_a_gap_can_have_interrupted_rows_resent(db):
    add_parents(db, 2)
    create(db, send_now({"parents": "all"}), confirm=True)
    outbox.expand_due_sends(db, NOW_AT)
    outbox.claim_batch(db, NOW_AT, 2, "telegram")
    assert outbox.recover_after_crash(db, NOW_AT, resend_unknown=True) == 2
    assert len(outbox.claim_batch(db, NOW_AT, 10, "telegram")) == 2


def test_a_graceful_release_puts_unsent_rows_back_without_counting_an_attempt(db):
    row = _one_claimed(db)
    assert outbox.release(db, [row.id]) == 1
    (again,) = outbox.claim_batch(db, NOW_AT, 1, "telegram")
    assert (again.id, again.attempts) == (row.id, 0)

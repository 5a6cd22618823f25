"""The delivery loop against a fake that enforces Telegram's limits, in virtual time: everyone once,
429s waited out, blocked parents not retried, quiet hours kept, and a crash neither duplicates nor
silently loses a message."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Callable

import pytest
from sqlalchemy import func, select

from bot.sender import SenderOptions, deliver
from knowledge.broadcasts import outbox, subscribers
from knowledge.broadcasts import sending as broadcasts
from knowledge.shared.db import unit_of_work
from knowledge.shared.models import Broadcast, OutboxMessage, Subscriber
from tests.fakes.rate_limited_transport import BLOCKED, CHAT_NOT_FOUND, RateLimitedTransport, VirtualClock
from tests.unit.test_broadcasts import (
    ISSUE_REQUEST,
    NOW_AT,
    SCHOOL,
    STAFF_IDS,
    THURSDAY_1530,
    add_parents,
    build_template,
    create,
    fresh_copy,
    member,
    outbox_rows,
    send_now,
    summary_of,
)

UTC = dt.timezone.utc
MONDAY_2100 = dt.datetime(2026, 11, 23, 21, 0, tzinfo=UTC)
TUESDAY_0730 = dt.datetime(2026, 11, 24, 7, 30, tzinfo=UTC)
IN_FLIGHT = 8
OPTIONS = SenderOptions(max_in_flight=IN_FLIGHT)


@pytest.fixture(scope="module")
def template_db(tmp_path_factory) -> Path:
    return build_template(tmp_path_factory)


@pytest.fixture
def db(template_db: Path, tmp_path: Path) -> str:
    return fresh_copy(template_db, tmp_path)


class Summaries:
    """The SENCo's Slack DMs, as `notify_manager` receives them."""

    def __init__(self, fail_times: int = 0) -> None:
        self.sent: list[tuple[str, str]] = []
        self.fail_times = fail_times

    def __call__(self, slack_user_id: str, text: str) -> None:
        if self.fail_times:
            self.fail_times -= 1
            raise ConnectionError("Slack is down")
        self.sent.append((slack_user_id, text))


class ProcessDied(BaseException):
    """Stands for the process being killed in the middle of a batch (not an ordinary error)."""


def kill_everything_at(delivery: int) -> Callable[[str, int], None]:
    """A delivery hook that stops every task but the test's at once, as SIGKILL would stop the process.

    The call that has just been accepted returns and is recorded; calls half-way through are cut
    off (never reach the fake); rows claimed but not sent stay `sending`.
    """
    survivor = asyncio.current_task()

    def kill(address: str, total: int) -> None:
        if total == delivery:
            for task in asyncio.all_tasks():
                if task not in (survivor, asyncio.current_task()):
                    task.cancel()

    return kill


def telegram(clock: VirtualClock, **kwargs) -> RateLimitedTransport:
    return RateLimitedTransport.with_clock(clock, **kwargs)


def slack(clock: VirtualClock, **kwargs) -> RateLimitedTransport:
    return RateLimitedTransport.with_clock(
        clock, channel="slack", overall_per_second=4.0, per_address_interval_s=1.0, **kwargs
    )


async def run(
    db: str,
    clock: VirtualClock,
    transports: dict[str, RateLimitedTransport],
    *,
    notify: Summaries | None = None,
    **options,
):
    return await deliver(
        db,
        transports,
        clock=clock,
        notify_manager=notify,
        options=SenderOptions(poll_interval_s=0.5, max_in_flight=IN_FLIGHT, **options),
        until_idle=True,
    )


def count(db: str, status: str) -> int:
    with unit_of_work(db) as session:
        query = select(func.count(OutboxMessage.id)).where(OutboxMessage.status == status)
        return session.execute(query).scalar_one()


# --- The ordinary case ---------------------------------------------------------------------------------


async def test_a_broadcast_reaches_everyone_exactly_once_and_the_senco_gets_the_summary_once(db):
    parents = add_parents(db, 40)
    broadcast_id = create(db, send_now({"staff": "all", "parents": "all"}), confirm=True)
    clock = VirtualClock(NOW_AT)
    tg, sl = telegram(clock), slack(clock)
    summaries = Summaries()
    stats = await run(db, clock, {"telegram": tg, "slack": sl}, notify=summaries)
    await run(db, clock, {"telegram": tg, "slack": sl}, notify=summaries)  # a second run sends nothing more
    assert tg.delivered == {address: 1 for address in parents}
    assert sl.delivered == {slack_id: 1 for slack_id in STAFF_IDS}
    assert (stats.sent, tg.violations, sl.violations) == (47, 0, 0)
    assert summaries.sent == [
        (
            "U0EXSENCO1",
            "Your message to all staff and parents who opted in (\u201cFire drill at 2pm.\u201d) "
            "has gone out: 47 of 47 delivered",
        )
    ]
    with unit_of_work(db) as session:
        assert session.get(Broadcast, broadcast_id).status == "done"


async def test_the_sender_keeps_to_30_a_second_overall_and_1_a_second_per_chat(db):
    parents = add_parents(db, 60)
    create(db, send_now({"parents": "all"}, "First."), confirm=True)
    create(db, send_now({"parents": "all"}, "Second."), confirm=True)  # the same 60 chats again at once
    clock = VirtualClock(NOW_AT)
    tg = telegram(clock)
    await run(db, clock, {"telegram": tg})
    assert tg.violations == 0
    assert tg.delivered == {address: 2 for address in parents}
    assert all(texts == ["First.", "Second."] for texts in tg.texts.values())
    times = tg.accepted_at
    assert all(later - earlier > 1.0 for earlier, later in zip(times, times[30:], strict=False))


async def test_a_reminder_due_later_is_sent_when_its_time_comes_not_before(db):
    add_parents(db, 2)
    create(db, ISSUE_REQUEST.replace("all staff", "parents"), confirm=True)
    clock = VirtualClock(NOW_AT)
    tg = telegram(clock)
    await run(db, clock, {"telegram": tg})
    assert sum(tg.delivered.values()) == 0
    clock.advance((THURSDAY_1530 - dt.timedelta(days=1) - NOW_AT).total_seconds())
    await run(db, clock, {"telegram": tg})
    assert tg.delivered == {"tg0000": 1, "tg0001": 1}


# --- 429s, blocked parents, temporary errors -------------------------------------------------------------


async def test_a_429_is_waited_out_for_its_retry_after_and_the_same_message_retried_without_a_duplicate(db):
    parents = add_parents(db, 30)
    create(db, send_now({"parents": "all"}), confirm=True)
    clock = VirtualClock(NOW_AT)
    tg = telegram(clock, forced_429s=[5, 17], retry_after=2.0)
    stats = await run(db, clock, {"telegram": tg})
    assert (tg.forced, tg.violations, stats.rate_limited) == (2, 0, 2)  # no call inside the retry-after
    assert tg.delivered == {address: 1 for address in parents}
    assert count(db, "sent") == 30


async def test_a_parent_who_blocked_the_bot_is_failed_with_the_reason_and_never_tried_again(db):
    parents = add_parents(db, 5)
    first = create(db, send_now({"parents": "all"}), confirm=True)
    clock = VirtualClock(NOW_AT)
    tg = telegram(clock, permanent={"tg0002": BLOCKED, "tg0004": CHAT_NOT_FOUND})
    await run(db, clock, {"telegram": tg})
    assert summary_of(db, first) == "3 of 5 delivered, 2 failed (1 blocked the bot, 1 chat not found)"
    failed = {r.address: r.last_error for r in outbox_rows(db, first) if r.status == "failed"}
    assert failed == {"tg0002": "blocked the bot", "tg0004": "chat not found"}
    second = create(db, send_now({"parents": "all"}, "Second."), confirm=True)
    await run(db, clock, {"telegram": tg})
    assert sorted(r.address for r in outbox_rows(db, second)) == [parents[0], parents[1], parents[3]]
    assert tg.requests == 5 + 3  # the two unreachable parents were asked once, in the first broadcast
    assert tg.violations == 0  # the second run remembered whom the first had just messaged
    with unit_of_work(db) as session:
        blocked = session.execute(select(Subscriber).where(Subscriber.address == "tg0002")).scalar_one()
        assert blocked.unreachable_at is not None


async def test_the_summary_reads_412_of_415_delivered_3_failed_blocked_the_bot(db):
    add_parents(db, 408)
    create(db, send_now({"staff": "all", "parents": "all"}), confirm=True)
    clock = VirtualClock(NOW_AT)
    blocked = {f"tg{n:04d}": BLOCKED for n in (7, 100, 300)}
    summaries = Summaries()
    transports = {"telegram": telegram(clock, permanent=blocked), "slack": slack(clock)}
    await run(db, clock, transports, notify=summaries)
    assert summaries.sent[0][1].endswith(": 412 of 415 delivered, 3 failed (blocked the bot)")


async def test_a_temporary_error_is_retried_after_a_back_off_and_then_delivered_once(db):
    add_parents(db, 3)
    broadcast_id = create(db, send_now({"parents": "all"}), confirm=True)
    clock = VirtualClock(NOW_AT)
    tg = telegram(clock, temporary={"tg0001": 2})
    for _ in range(3):
        await run(db, clock, {"telegram": tg}, backoff=lambda attempt: 60.0)
        clock.advance(60)
    assert tg.delivered == {"tg0000": 1, "tg0001": 1, "tg0002": 1}
    row = next(r for r in outbox_rows(db, broadcast_id) if r.address == "tg0001")
    assert (row.status, row.attempts) == ("sent", 2)


async def test_a_message_that_keeps_failing_is_given_up_after_the_last_attempt(db):
    add_parents(db, 1)
    broadcast_id = create(db, send_now({"parents": "all"}), confirm=True)
    clock = VirtualClock(NOW_AT)
    tg = telegram(clock, temporary={"tg0000": 99})
    for _ in range(5):
        await run(db, clock, {"telegram": tg}, backoff=lambda attempt: 1.0, max_attempts=3)
        clock.advance(1)
    assert tg.requests == 3
    assert summary_of(db, broadcast_id) == (
        "0 of 1 delivered, 1 failed (could not be delivered after 3 tries (Bad Gateway))"
    )


# --- Opt-outs and quiet hours -----------------------------------------------------------------------------


async def test_a_parent_who_opts_out_after_the_message_was_queued_does_not_get_it(db):
    add_parents(db, 3)
    broadcast_id = create(db, send_now({"parents": "all"}), confirm=True)
    outbox.expand_due_sends(db, NOW_AT)
    with unit_of_work(db) as session:
        subscribers.opt_out(session, SCHOOL, "telegram", "tg0001", now=NOW_AT)
    clock = VirtualClock(NOW_AT)
    tg = telegram(clock)
    await run(db, clock, {"telegram": tg})
    assert dict(tg.delivered) == {"tg0000": 1, "tg0002": 1}
    assert summary_of(db, broadcast_id) == "2 of 3 delivered, 1 not sent (stopped reminders)"


async def test_at_9pm_staff_get_it_at_once_and_parents_at_7_30_next_morning(db):
    add_parents(db, 2)
    audience = {"staff": ["teacher"], "parents": "all"}
    broadcast_id = create(db, send_now(audience), now=MONDAY_2100, confirm=True)
    clock = VirtualClock(MONDAY_2100)
    tg, sl = telegram(clock), slack(clock)
    await run(db, clock, {"telegram": tg, "slack": sl})
    assert (sum(sl.delivered.values()), sum(tg.delivered.values())) == (2, 0)
    assert summary_of(db, broadcast_id, clock.now()) == (
        "2 of 4 delivered, 2 still to send (some from 7:30am Tuesday 24 November, after quiet hours)"
    )
    clock.advance((TUESDAY_0730 - clock.now()).total_seconds())
    await run(db, clock, {"telegram": tg, "slack": sl})
    assert tg.delivered == {"tg0000": 1, "tg0001": 1}
    assert min(r.sent_at for r in outbox_rows(db, broadcast_id) if r.channel == "telegram") >= TUESDAY_0730


# --- Cancelling, stopping and crashing --------------------------------------------------------------------


async def test_cancelling_a_broadcast_midway_stops_the_messages_not_yet_sent(db):
    parents = add_parents(db, 200)
    broadcast_id = create(db, send_now({"parents": "all"}), confirm=True)
    clock = VirtualClock(NOW_AT)

    def cancel_at_50(address: str, total: int) -> None:
        if total == 50:
            with unit_of_work(db) as session:
                broadcasts.cancel(session, member(session), broadcast_id, clock.now())

    tg = telegram(clock, on_delivered=cancel_at_50)
    summaries = Summaries()
    await run(db, clock, {"telegram": tg}, notify=summaries)
    delivered = sum(tg.delivered.values())
    assert 50 <= delivered <= 50 + IN_FLIGHT and tg.duplicates() == 0
    assert count(db, "sent") == delivered and count(db, "cancelled") == len(parents) - delivered
    assert summaries.sent == []  # a cancelled broadcast has no "it has gone out" message


async def test_a_graceful_stop_midway_leaves_nothing_in_doubt_and_the_restart_sends_the_rest_once(db):
    parents = add_parents(db, 500)
    create(db, send_now({"parents": "all"}), confirm=True)
    clock = VirtualClock(NOW_AT)
    stop = asyncio.Event()
    tg = telegram(clock, latency_s=0.2, on_delivered=lambda address, total: total == 250 and stop.set())
    await deliver(db, {"telegram": tg}, clock=clock, stop_event=stop, options=OPTIONS)
    assert 250 <= count(db, "sent") < 500 and count(db, "sending") == 0
    assert outbox.recover_after_crash(db, clock.now()) == 0
    await run(db, clock, {"telegram": tg})
    assert tg.delivered == {address: 1 for address in parents}
    assert count(db, "sent") == 500 and count(db, "unknown") == 0


async def test_a_hard_kill_midway_never_duplicates_and_loses_only_the_few_messages_in_flight(db):
    parents = add_parents(db, 500)
    broadcast_id = create(db, send_now({"parents": "all"}), confirm=True)
    clock = VirtualClock(NOW_AT)
    tg = telegram(clock, latency_s=0.2, on_delivered=kill_everything_at(250))
    with pytest.raises(asyncio.CancelledError):
        await asyncio.create_task(deliver(db, {"telegram": tg}, clock=clock, options=OPTIONS))
    in_doubt = outbox.recover_after_crash(db, clock.now())
    assert 0 < in_doubt <= IN_FLIGHT
    await run(db, clock, {"telegram": tg})
    lost = tg.lost(parents)
    assert tg.duplicates() == 0
    assert lost == in_doubt == count(db, "unknown")  # calls cut off mid-way never reached the fake
    assert count(db, "sent") == 500 - in_doubt
    assert f"{in_doubt} not confirmed" in summary_of(db, broadcast_id)


async def test_a_crash_raised_mid_batch_is_recovered_without_a_duplicate(db):
    parents = add_parents(db, 500)
    create(db, send_now({"parents": "all"}), confirm=True)
    clock = VirtualClock(NOW_AT)

    def die_at_250(address: str, total: int) -> None:
        if total == 250:
            raise ProcessDied()  # after Telegram accepted the message, before the outbox heard

    tg = telegram(clock, latency_s=0.2, on_delivered=die_at_250)
    with pytest.raises(ProcessDied):
        await deliver(db, {"telegram": tg}, clock=clock, options=OPTIONS)
    in_doubt = outbox.recover_after_crash(db, clock.now())
    assert 1 <= in_doubt <= IN_FLIGHT
    tg.on_delivered = None
    await run(db, clock, {"telegram": tg})
    assert tg.duplicates() == 0
    assert tg.lost(parents) == in_doubt - 1  # the message that did arrive is "unknown", not resent


async def test_a_school_can_choose_to_resend_messages_interrupted_by_a_crash(db):
    parents = add_parents(db, 100)
    create(db, send_now({"parents": "all"}), confirm=True)
    clock = VirtualClock(NOW_AT)
    tg = telegram(clock, latency_s=0.2, on_delivered=kill_everything_at(50))
    with pytest.raises(asyncio.CancelledError):
        await asyncio.create_task(deliver(db, {"telegram": tg}, clock=clock, options=OPTIONS))
    stats = await run(db, clock, {"telegram": tg}, resend_unknown=True)
    assert stats.recovered > 0
    assert tg.lost(parents) == 0 and count(db, "sent") == 100


async def test_a_summary_dm_that_fails_is_tried_again_on_the_next_round(db):
    add_parents(db, 2)
    create(db, send_now({"parents": "all"}), confirm=True)
    clock = VirtualClock(NOW_AT)
    tg = telegram(clock)
    summaries = Summaries(fail_times=2)
    await run(db, clock, {"telegram": tg}, notify=summaries)  # tried at the end of the run: fails twice
    assert summaries.sent == []
    await run(db, clock, {"telegram": tg}, notify=summaries)
    assert [text.endswith("2 of 2 delivered") for _, text in summaries.sent] == [True]
    await run(db, clock, {"telegram": tg}, notify=summaries)
    assert len(summaries.sent) == 1

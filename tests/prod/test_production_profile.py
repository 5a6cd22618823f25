"""The production profile for real: `python -m bot.prod` with its own PostgreSQL, Redis, nginx
and two Rasa servers (each with its action server), on spare loopback ports, started once
for this module and stopped at its end (or on any failure). It serves the example trust
(`school_data/example_trust.yml`: two schools in two local authorities), so parents' messages
carry their school, as the web page at /s/<ref>/ and the Telegram deep link send it.

Run by `make test-prod` and at the end of `make test`. Skipped, with a message, only when
PostgreSQL, Redis or nginx are missing and `scripts/ensure-prod-services` can't install them.
Every load loop here is bounded in messages and in time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from bench.prod_stack import Delivery, ProdStack, say, web_sender
from bot.prod import Postgres, missing_services, pg_bin_dir
from bot.training import MODEL_FILE
from connectors import bridge_signing
from knowledge.shared.db import unit_of_work
from knowledge.shared.models import Booking, SafeguardingRecord, SurgerySlot
from knowledge.shared.settings import PROJECT_ROOT

# question -> what every correct answer contains
QUESTIONS = {
    "how long does an ehcp take": "20 weeks",
    "who is the senco": "senco@example.sch.uk",
    "what is sen support": "assess, plan, do and review",
}
RESTART_TIMEOUT_S = 300
TRUST_FILE = PROJECT_ROOT / "school_data/example_trust.yml"
PRIMARY, ACADEMY = "example-primary", "example-academy"
BRIDGE_SECRET = secrets.token_hex(16)  # signs our Slack bridge messages to the Rasa servers
TEACHER = "U0EXTEACH1"  # on Example Primary's roster
# What only each school's parents may ever see: its name, DSL and local authority's services.
OWN_WORDS = {
    PRIMARY: ("Example Primary School", "dsl@example.sch.uk", "Exampletown", "Example Borough"),
    ACADEMY: ("Example Academy", "dsl@academy.example.sch.uk", "Sampleford", "Example County"),
}


@pytest.fixture(scope="module")
def stack():
    if missing_services():
        ensure = [str(PROJECT_ROOT / "scripts/ensure-prod-services")]
        done = subprocess.run(ensure, capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"production services unavailable: {(done.stderr or done.stdout).strip()}")
    if not MODEL_FILE.exists():
        pytest.fail("no trained model: run `make test-prod` (it trains first)")
    # Turns give up on an unreachable database after 8 s (15 by default): a `pg_ctl restart`
    # is waited out, a longer outage fails turns for the clients to send again.
    env = {"SCHOOLS_FILE": str(TRUST_FILE), "TRACKER_RETRY_SECONDS": "8", "BRIDGE_SECRET": BRIDGE_SECRET}
    with ProdStack(servers=2, extra_env=env) as running:
        yield running
    # SIGTERM, as a service manager stops it: the launcher stops every server, cleanly.
    assert running.exit_code == 0 and "Stopped." in running.final_log, running.final_log[-2000:]


def _conversations(count: int) -> list[str]:
    tag = secrets.token_hex(3)
    return [f"prod-{tag}-{i:02d}" for i in range(count)]


def _school(sender: str) -> dict[str, str]:
    """Half the conversations are Example Primary's parents, half Example Academy's."""
    return {"school": PRIMARY if int(sender[-2:]) % 2 == 0 else ACADEMY}


async def _ask_all(url: str, plan: list[tuple[str, str]]) -> list[Delivery]:
    """Each (sender, text) at once."""
    async with httpx.AsyncClient() as client:
        return await asyncio.gather(
            *(say(client, url, sender, text, metadata=_school(sender)) for sender, text in plan)
        )


async def _load(
    stack: ProdStack, senders: list[str], run_s: float, max_messages: int, during=None, at_s: float = 0
) -> list[Delivery]:
    """Each conversation asks QUESTIONS in turn, one message at a time and one every
    `run_s / max_messages` seconds at the most, so the load lasts until `run_s` has passed
    however fast the answers come; `during()` runs once, `at_s` seconds in."""
    started = time.monotonic()
    stop_at = started + run_s
    give_up_at = stop_at + 120  # retries of messages still in flight may go on this long
    interval_s = run_s / max_messages
    deliveries: list[Delivery] = []

    async def conversation(position: int, sender: str) -> None:
        offset_s = position * interval_s / len(senders)  # spread out, not all at one moment
        await asyncio.sleep(offset_s)
        async with httpx.AsyncClient() as client:
            for index in range(max_messages):
                next_at = started + offset_s + (index + 1) * interval_s
                if time.monotonic() >= stop_at:
                    return
                text = list(QUESTIONS)[index % len(QUESTIONS)]
                deliveries.append(
                    await say(
                        client, stack.rest_url, sender, text, metadata=_school(sender), deadline=give_up_at
                    )
                )
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def interrupt() -> None:
        if during is not None:
            await asyncio.sleep(at_s)
            await asyncio.to_thread(during)

    await asyncio.gather(interrupt(), *(conversation(i, s) for i, s in enumerate(senders)))
    return deliveries


def _assert_exactly_once(stack: ProdStack, prefix: str, deliveries: list[Delivery]) -> None:
    unanswered = [d for d in deliveries if not d.ok]
    assert not unanswered, [(d.sender, d.statuses) for d in unanswered[:5]]
    in_tracker = stack.user_message_ids(web_sender(prefix))
    sent = {d.message_id for d in deliveries}
    assert len(sent) == len(deliveries)
    assert set(in_tracker) == sent, f"lost: {len(sent - set(in_tracker))}, unknown: {set(in_tracker) - sent}"
    twice = {message_id: n for message_id, n in in_tracker.items() if n != 1}
    assert not twice, f"message_ids processed more than once: {twice}"


def test_conversations_through_nginx_reach_both_rasa_servers_and_stay_on_one(stack):
    senders = _conversations(24)
    plan = [(s, q) for q in ("how long does an ehcp take", "who is the senco") for s in senders]
    deliveries = asyncio.run(_ask_all(stack.rest_url, plan))
    for delivery in deliveries:
        assert delivery.ok, (delivery.sender, delivery.statuses)
        assert QUESTIONS[delivery.text] in delivery.text_of_replies, delivery.text_of_replies[:300]
    servers = {s: {u for d in deliveries if d.sender == s for u in d.upstreams} for s in senders}
    assert all(len(used) == 1 for used in servers.values()), servers  # sticky
    used = {next(iter(u)) for u in servers.values()}
    assert used == {f"127.0.0.1:{port}" for port in stack.config.rasa_ports}
    _assert_exactly_once(stack, senders[0][:-2], deliveries)


def test_each_schools_parents_get_only_their_own_schools_answers_from_either_server(stack):
    # nginx hashes senders to servers: with 16 per school, the chance that one school's all
    # land on one server is 2 * 2**-16, so the last assertion checks "either server".
    senders = _conversations(32)
    questions = ("who is the senco", "who is the safeguarding lead", "Is there speech therapy near us?")
    deliveries = asyncio.run(_ask_all(stack.rest_url, [(s, q) for q in questions for s in senders]))
    served: dict[str, set[str]] = {PRIMARY: set(), ACADEMY: set()}
    for delivery in deliveries:
        assert delivery.ok, (delivery.sender, delivery.statuses)
        school = _school(delivery.sender)["school"]
        other = ACADEMY if school == PRIMARY else PRIMARY
        said = delivery.text_of_replies
        leaked = [words for words in OWN_WORDS[other] if words in said]
        assert not leaked, f"{school}'s parent was told {leaked}: {said[:300]}"
        if delivery.text == "who is the senco":
            assert OWN_WORDS[school][0] in said, said[:300]
        if delivery.text.startswith("Is there speech"):
            assert OWN_WORDS[school][2] in said, said[:300]
        served[school].update(delivery.upstreams)
    both = {f"127.0.0.1:{port}" for port in stack.config.rasa_ports}
    assert served == {PRIMARY: both, ACADEMY: both}


def test_a_disclosure_delivered_to_both_servers_is_recorded_once_for_its_school(stack):
    sender = _conversations(1)[0]
    body = {
        "sender": sender,
        "message": "my dad hits me with a belt when he has been drinking",
        "message_id": secrets.token_hex(8),
        "metadata": {"school": ACADEMY},
    }
    replies = [
        httpx.post(f"http://127.0.0.1:{port}/webhooks/rest/webhook", json=body, timeout=60)
        for port in stack.config.rasa_ports
    ]
    assert [r.status_code for r in replies] == [200, 200]
    assert replies[0].json() == replies[1].json()
    said = "\n".join(str(m.get("text")) for m in replies[0].json())
    assert said.startswith("Thank you for telling us") and "0800 1111" in said  # Childline, to a child
    with unit_of_work(stack.config.database_url()) as session:
        recorded = select(SafeguardingRecord.school_ref).filter_by(source_message_id=body["message_id"])
        assert session.execute(recorded).scalars().all() == [ACADEMY]


def test_a_repeated_message_id_on_the_other_server_gets_the_same_replies_not_a_second_turn(stack):
    sender = _conversations(1)[0]
    first = asyncio.run(_ask_all(stack.rest_url, [(sender, "how long does an ehcp take")]))[0]
    assert first.ok and "20 weeks" in first.text_of_replies
    served_by = first.upstreams[0]
    other = next(p for p in stack.config.rasa_ports if f"127.0.0.1:{p}" != served_by)
    # The repeat goes straight to the other Rasa server, as nginx sends a retry; its text
    # differs, so a second turn would show.
    repeat = httpx.post(
        f"http://127.0.0.1:{other}/webhooks/rest/webhook",
        json={
            "sender": sender,
            "message": "who is the senco",
            "message_id": first.message_id,
            "metadata": _school(sender),
        },
        timeout=60,
    )
    assert repeat.status_code == 200
    assert repeat.json() == first.replies
    assert stack.user_message_ids(web_sender(sender)) == {first.message_id: 1}
    assert "was handled before" in stack.server_log(f"rasa-{stack.config.rasa_ports.index(other) + 1}.log")
    # Without a message_id the REST channel behaves as it always did.
    plain = httpx.post(
        stack.rest_url,
        json={"sender": sender, "message": "who is the senco", "metadata": _school(sender)},
        timeout=60,
    )
    assert plain.status_code == 200 and "senco@example.sch.uk" in plain.json()[0]["text"]
    malformed = {"sender": sender, "message": "hi", "message_id": {"x": 1}}
    bad = httpx.post(stack.rest_url, json=malformed, timeout=60)
    assert bad.status_code == 400


def test_the_bot_recovers_by_itself_when_postgresql_restarts(stack):
    senders = _conversations(6)
    restarted_at: list[float] = []

    def restart() -> None:
        stack.restart_postgres()
        restarted_at.append(time.monotonic())

    deliveries = asyncio.run(_load(stack, senders, run_s=20, max_messages=60, during=restart, at_s=5))
    assert restarted_at, "PostgreSQL was not restarted"
    after = [d for d in deliveries if d.sent_at > restarted_at[0] + 1]
    assert len(after) >= len(senders), "no traffic after the restart"
    # Every message was answered; those sent after the restart correctly (one in flight at
    # the moment of the restart may get the action's apology instead).
    for delivery in after:
        assert delivery.ok and QUESTIONS[delivery.text] in delivery.text_of_replies, delivery.statuses
    _assert_exactly_once(stack, senders[0][:-2], deliveries)
    for number in range(1, stack.config.servers + 1):
        assert "InMemoryTrackerStore" not in stack.server_log(f"rasa-{number}.log")


def test_a_booking_whose_turn_was_lost_with_its_server_is_made_once_when_sent_again(stack):
    """Server 1 books, then "dies" before its turn is saved (the turn is taken out of the
    tracker store, as if never saved); the repeat on server 2 runs the turn again, and its
    action finds the booking already made and gives the same confirmation."""
    url = stack.config.database_url()
    starts = _next_weekday_at_3pm(days_ahead=3)
    with unit_of_work(url) as session:
        slot = SurgerySlot(school_ref=PRIMARY, starts_at=starts, ends_at=starts + dt.timedelta(minutes=30))
        session.add(slot)
        session.flush()
        slot_id = slot.id
    sender = f"slack-T0EXAMPLE-{TEACHER}-{secrets.token_hex(3)}"
    body = {
        "sender": sender,
        "message": "/choose_slot" + json.dumps({"slot_id": str(slot_id), "topic": "reading"}),
        "message_id": secrets.token_hex(8),
        "metadata": {
            "slack": {"team_id": "T0EXAMPLE", "user_id": TEACHER, "channel_id": "D0X", "channel_type": "im"}
        },
    }

    def deliver(port: int) -> list[dict]:
        raw = json.dumps(body).encode()
        response = httpx.post(
            f"http://127.0.0.1:{port}/webhooks/slack/webhook",
            content=raw,
            headers=bridge_signing.headers(BRIDGE_SECRET, raw),
            timeout=60,
        )
        assert response.status_code == 200, response.text
        return response.json()

    first_port, second_port = stack.config.rasa_ports
    first = deliver(first_port)
    assert first and first[0]["text"].startswith("Booked:"), first
    _forget_turn(stack, sender, body["message_id"])
    assert stack.user_message_ids(sender) == {}
    again = deliver(second_port)
    assert [m.get("text") for m in again] == [m.get("text") for m in first]
    with unit_of_work(url) as session:
        made = session.execute(select(func.count(Booking.id)).where(Booking.slot_id == slot_id)).scalar_one()
    assert made == 1
    assert stack.user_message_ids(sender) == {body["message_id"]: 1}


def _next_weekday_at_3pm(days_ahead: int) -> dt.datetime:
    day = dt.date.today() + dt.timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(15, 0), tzinfo=dt.timezone.utc)


def _forget_turn(stack: ProdStack, sender: str, message_id: str) -> None:
    """Take the turn of `message_id` out of the tracker store: what a server that died before
    saving leaves behind."""
    with stack.tracker_db() as connection:
        rows = connection.execute(
            sa.text("SELECT id, data FROM events WHERE sender_id = :s AND type_name = 'user'"),
            {"s": sender},
        ).all()
        first_id = min(row[0] for row in rows if json.loads(row[1]).get("message_id") == message_id)
        connection.execute(
            sa.text("DELETE FROM events WHERE sender_id = :s AND id >= :first"),
            {"s": sender, "first": first_id},
        )


def test_postgresql_down_longer_than_the_retries_fails_turns_for_a_retry_and_forgets_nothing(stack):
    """PostgreSQL stopped (not restarted): turns wait TRACKER_RETRY_SECONDS, then fail with
    503 instead of going on with an empty conversation; nginx or the client sends them again,
    and the launcher starts PostgreSQL again by itself."""
    senders = _conversations(4)
    stopped_at: list[float] = []

    def stop() -> None:
        Postgres(stack.config, pg_bin_dir()).stop()  # type: ignore[arg-type]
        stopped_at.append(time.monotonic())

    deliveries = asyncio.run(_load(stack, senders, run_s=50, max_messages=30, during=stop, at_s=4))
    assert stopped_at, "PostgreSQL was not stopped"
    # `pg_ctl stop` may take a while under load; the launcher checks every 5 s, 3 times
    deadline = time.monotonic() + RESTART_TIMEOUT_S
    while "PostgreSQL is still down; starting it again." not in stack.log_text():
        assert time.monotonic() < deadline, stack.log_text()[-2000:]
        time.sleep(1)
    logs = "".join(stack.server_log(f"rasa-{n}.log") for n in range(1, stack.config.servers + 1))
    slowest = max(deliveries, key=lambda d: d.latency_s)
    print(f"{len(deliveries)} messages; slowest answered in {slowest.latency_s:.1f} s: {slowest.statuses}")
    assert "TrackerStoreUnavailable" in logs, "no turn outlasted the store's retries"
    assert any(d.failed_over for d in deliveries), "no message was sent again (by nginx or the client)"
    after = [d for d in deliveries if d.sent_at > stopped_at[0]]
    assert len(after) >= len(senders), "no traffic after PostgreSQL was stopped"
    for delivery in after:
        assert delivery.ok and QUESTIONS[delivery.text] in delivery.text_of_replies, delivery.statuses
    _assert_exactly_once(stack, senders[0][:-2], deliveries)  # every message once in its conversation
    for number in range(1, stack.config.servers + 1):
        assert "InMemoryTrackerStore" not in stack.server_log(f"rasa-{number}.log")


def test_killing_a_rasa_server_mid_load_loses_nothing_and_answers_each_message_once(stack):
    senders = _conversations(16)
    deliveries = asyncio.run(
        _load(stack, senders, run_s=40, max_messages=40, during=lambda: stack.kill_rasa_server(1), at_s=8)
    )
    assert len(deliveries) >= 4 * len(senders)
    for delivery in deliveries:
        assert delivery.ok, (delivery.sender, delivery.statuses)
        assert QUESTIONS[delivery.text] in delivery.text_of_replies, delivery.text_of_replies[:300]
    failed_over = sum(d.failed_over for d in deliveries)
    print(f"{len(deliveries)} messages, {failed_over} answered after a failover or a retry")
    assert failed_over, "the kill did not hit any traffic"
    _assert_exactly_once(stack, senders[0][:-2], deliveries)
    # The launcher starts the dead server again.
    assert "The Rasa server 1 stopped (exit -9); starting it again." in stack.log_text()
    deadline = time.monotonic() + RESTART_TIMEOUT_S
    while "The Rasa server 1 is ready again." not in stack.log_text():
        assert time.monotonic() < deadline, stack.log_text()[-2000:]
        time.sleep(2)


def test_a_parent_on_each_schools_web_page_gets_that_schools_answers_through_nginx(stack):
    """The web chat at /s/<ref>/ in a real browser, its socket.io going through nginx."""
    from playwright.sync_api import expect, sync_playwright

    from tests.system.test_browser import ARGS, CHROMIUM

    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (`make test` installs it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            for school, other in ((PRIMARY, ACADEMY), (ACADEMY, PRIMARY)):
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{stack.config.webchat_port}/s/{school}/")
                expect(page.locator("#status")).to_contain_text("Connected", timeout=30_000)
                page.locator("#message-input").fill("who is the senco")
                page.keyboard.press("Enter")
                answer = page.locator(".msg-bot").filter(has_text=OWN_WORDS[school][0])
                expect(answer).to_have_count(1, timeout=60_000)
                shown = page.locator("#chat-log").inner_text()
                assert not [words for words in OWN_WORDS[other] if words in shown], shown
                page.close()
        finally:
            browser.close()

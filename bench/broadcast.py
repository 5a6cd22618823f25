"""Benchmark: one broadcast to 1,000 Telegram parents through a fake Bot API that enforces the limits.

Run it with `make bench-broadcast` (or `.venv/bin/python -m bench.broadcast`). It takes about
35 seconds, because that is how long Telegram's limits make it. Against a fresh database (a new
SQLite file in a temporary folder unless `--database-url` is given) it:

- seeds one school with a SENCo and `--recipients` parents opted in on Telegram;
- the SENCo drafts and confirms one broadcast "now" to all parents (`knowledge.broadcasts.sending`);
- `bot.sender.deliver` expands it into the outbox and sends it through
  `tests.fakes.rate_limited_transport.RateLimitedTransport`: 30 messages a second overall and
  1 a second per chat, answering 429 to anything faster, plus `--forced-429s` 429s of its own
  (retry after `--retry-after` seconds), with `--latency` seconds per call. Quiet hours are off,
  so the bench runs at any hour.

Figures: wall time from the start of delivery to the last message recorded, messages per second,
429s (forced ones, and ones the sender caused by going too fast: should be 0), duplicates
(deliveries beyond one per parent) and losses (parents who got nothing), cross-checked against
the outbox rows. `bound_seconds` is recipients / 30, the fastest Telegram allows.

Target (the issue): seconds within 1.15 x bound_seconds, 0 duplicates, 0 lost. The last line is
one JSON object with every figure; it exits 1 on a duplicate or a loss, and reports (without
failing) a missed time target.

`--transport telegram-fake-http` sends through the real `connectors.telegram.transport.TelegramTransport`
(python-telegram-bot over HTTP) to `tests.fakes.fake_telegram.FakeTelegram` on loopback, which
enforces the same limits on its own clock; the forced 429s are injected with its `fail_next`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, insert, select

from bot.sender import DeliveryStats, SenderOptions, deliver
from knowledge.broadcasts import sending as broadcasts
from knowledge.broadcasts.outbox import SendHours
from knowledge.broadcasts.requests import BroadcastRequest
from knowledge.shared.db import unit_of_work
from knowledge.shared.migrate import upgrade
from knowledge.shared.models import OutboxMessage, StaffMember, Subscriber
from tests.fakes.rate_limited_transport import RateLimitedTransport

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HTTP_PARTS = ("connectors/telegram/transport.py", "tests/fakes/fake_telegram.py")

SCHOOL = "bench-school"
SENCO = "UBENCHSENCO"
TELEGRAM_PER_SECOND = 30.0
TARGET_RATIO = 1.15
NO_QUIET_HOURS = SendHours(quiet_start="00:00", quiet_end="00:00")


def say(line: str) -> None:
    print(line, flush=True)


def addresses(count: int) -> list[str]:
    return [str(700_000_000 + n) for n in range(count)]


def seed(database_url: str, recipients: int) -> None:
    upgrade(database_url)
    now = dt.datetime.now(dt.timezone.utc)
    with unit_of_work(database_url) as session:
        if session.execute(select(func.count(Subscriber.id)).where(Subscriber.school_ref == SCHOOL)).scalar():
            raise SystemExit(f"{database_url!r} already has {SCHOOL} subscribers: give an empty database")
        session.add(StaffMember(school_ref=SCHOOL, slack_user_id=SENCO, name="Bench SENCo", role="senco"))
        session.execute(
            insert(Subscriber),
            [
                {
                    "school_ref": SCHOOL,
                    "channel": "telegram",
                    "address": address,
                    "kind": "parent",
                    "opted_in": True,
                    "year_groups": [],
                    "interests": [],
                    "opted_in_at": now,
                    "created_at": now,
                }
                for address in addresses(recipients)
            ],
        )


def confirm_broadcast(database_url: str) -> int:
    now = dt.datetime.now(dt.timezone.utc)
    with unit_of_work(database_url) as session:
        senco = session.execute(select(StaffMember).where(StaffMember.slack_user_id == SENCO)).scalar_one()
        request = BroadcastRequest(
            audience={"parents": "all"},
            text="Reminder: autism awareness coffee morning, Friday 27 November, 9am, in the hall.",
        )
        draft = broadcasts.create_draft(session, senco, request, now)
        broadcasts.confirm(session, senco, draft.id, now)
        return draft.id


class FakeHarness:
    """The in-process fake: `RateLimitedTransport` with the bench's limits, latency and forced 429s."""

    name = "fake"

    def __init__(self, args: argparse.Namespace, forced: list[int]) -> None:
        self.fake = RateLimitedTransport(
            overall_per_second=TELEGRAM_PER_SECOND,
            per_address_interval_s=1.0,
            latency_s=args.latency,
            forced_429s=forced,
            retry_after=args.retry_after,
        )
        self.transport = self.fake

    def delivered(self) -> Counter[str]:
        return Counter(self.fake.delivered)

    def forced(self) -> int:
        return self.fake.forced

    def violations(self) -> int:
        return self.fake.violations

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


class _Forcing429s:
    """The real Telegram transport, with the fake Bot API told to answer some requests 429."""

    def __init__(self, inner, telegram, forced: list[int], too_many: dict) -> None:
        self.inner, self.telegram, self.forced, self.too_many = inner, telegram, set(forced), too_many
        self.channel = inner.channel
        self.overall_per_second = inner.overall_per_second
        self.per_address_interval_s = inner.per_address_interval_s
        self.requests = 0

    async def send(self, address: str, text: str) -> None:
        self.requests += 1
        if self.requests in self.forced:
            self.telegram.fail_next("sendMessage", 429, self.too_many)
        await self.inner.send(address, text)


class HttpHarness:
    """`connectors.telegram.transport.TelegramTransport` over HTTP to `tests.fakes.fake_telegram`,
    which enforces Telegram's flood limits (30/s overall, 1/s per chat) on its own clock."""

    name = "telegram-fake-http"

    def __init__(self, args: argparse.Namespace, forced: list[int]) -> None:
        from connectors.telegram.transport import TelegramTransport
        from tests.fakes.fake_telegram import TOO_MANY_REQUESTS, FakeTelegram, Limits

        self.telegram = FakeTelegram().__enter__()
        self.telegram.enforce_limits(Limits())
        self.inner = TelegramTransport("123456:bench-token", api_url=self.telegram.api_url)
        self.transport = _Forcing429s(self.inner, self.telegram, forced, TOO_MANY_REQUESTS)
        self.forced_count = len(forced)

    def delivered(self) -> Counter[str]:
        return Counter(str(call.body.get("chat_id")) for call in self.telegram.of("sendMessage"))

    def forced(self) -> int:
        return min(self.forced_count, len(self.telegram.of("sendMessage:429")))

    def violations(self) -> int:
        return len(self.telegram.of("sendMessage:429")) - self.forced()

    async def start(self) -> None:
        """Connect and `getMe` first, as a long-running sender has, so the first message isn't late."""
        await self.inner.bot.initialize()  # idempotent: the transport's own call then returns at once

    async def close(self) -> None:
        await self.inner.close()
        self.telegram.__exit__(None, None, None)


def make_harness(kind: str, args: argparse.Namespace) -> FakeHarness | HttpHarness:
    forced = [round(args.recipients * (n + 1) / (args.forced_429s + 1)) for n in range(args.forced_429s)]
    if kind == "fake":
        return FakeHarness(args, forced)
    missing = [str(p) for p in HTTP_PARTS if not (PROJECT_ROOT / p).exists()]
    if missing:
        raise SystemExit(f"--transport {kind} needs {', '.join(missing)}, which do not exist yet")
    return HttpHarness(args, forced)


async def run(
    database_url: str, harness: FakeHarness | HttpHarness
) -> tuple[DeliveryStats, float, list[str]]:
    summaries: list[str] = []

    def notify(slack_user_id: str, text: str) -> None:
        summaries.append(text)

    await harness.start()
    started = time.perf_counter()
    try:
        stats = await deliver(
            database_url,
            {"telegram": harness.transport},
            notify_manager=notify,
            hours=NO_QUIET_HOURS,
            options=SenderOptions(poll_interval_s=0.5),
            until_idle=True,
        )
        seconds = time.perf_counter() - started
    finally:
        await harness.close()
    return stats, seconds, summaries


def outbox_counts(database_url: str, broadcast_id: int) -> dict[str, int]:
    with unit_of_work(database_url) as session:
        return dict(
            session.execute(
                select(OutboxMessage.status, func.count(OutboxMessage.id))
                .where(OutboxMessage.broadcast_id == broadcast_id)
                .group_by(OutboxMessage.status)
            ).all()
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=1000)
    parser.add_argument("--forced-429s", type=int, default=3, help="429s the fake answers anyway")
    parser.add_argument("--retry-after", type=float, default=1.0)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per fake Bot API call")
    parser.add_argument("--transport", choices=("fake", "telegram-fake-http"), default="fake")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-broadcast-") as folder:
        database_url = args.database_url or f"sqlite:///{Path(folder) / 'broadcast.db'}"
        harness = make_harness(args.transport, args)
        dialect = database_url.split(":")[0]
        say(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, database {dialect}")
        say(f"seeding {args.recipients} parents opted in on Telegram")
        seed(database_url, args.recipients)
        broadcast_id = confirm_broadcast(database_url)
        latency = (
            f"{args.latency * 1000:.0f} ms per call" if harness.name == "fake" else "real HTTP on loopback"
        )
        say(
            f"delivering through {harness.name} ({TELEGRAM_PER_SECOND:.0f}/s overall, 1/s per chat, "
            f"{args.forced_429s} forced 429s, {latency})"
        )
        stats, seconds, summaries = asyncio.run(run(database_url, harness))
        rows = outbox_counts(database_url, broadcast_id)

    everyone = addresses(args.recipients)
    delivered = harness.delivered()
    bound = args.recipients / TELEGRAM_PER_SECOND
    duplicates = sum(n - 1 for n in delivered.values() if n > 1)
    lost = sum(1 for address in everyone if delivered[address] == 0)
    total = sum(delivered.values())
    figures = {
        "recipients": args.recipients,
        "seconds": round(seconds, 2),
        "bound_seconds": round(bound, 2),
        "ratio": round(seconds / bound, 3),
        "messages_per_second": round(total / seconds, 2),
        "rate_limited": harness.forced() + harness.violations(),
        "forced_429s": harness.forced(),
        "sender_caused_429s": harness.violations(),
        "duplicates": duplicates,
        "lost": lost,
        "outbox": rows,
        "transport": harness.name,
    }
    say(f"delivered {total} messages in {seconds:.2f} s (bound {bound:.2f} s)")
    say(
        f"  {figures['messages_per_second']} messages/s; "
        f"ratio to bound {figures['ratio']} (target <= {TARGET_RATIO})"
    )
    say(
        f"  429s: {harness.forced()} forced, {harness.violations()} caused by the sender; "
        f"the sender waited out {stats.rate_limited}"
    )
    say(f"  duplicates {duplicates}, lost {lost}; outbox rows {rows}")
    say(f"  SENCo's summary: {summaries[0] if summaries else '(none)'}")
    if seconds > TARGET_RATIO * bound:
        say(f"  target missed: {seconds:.2f} s > {TARGET_RATIO} x {bound:.2f} s")
    print(json.dumps(figures), flush=True)
    return 1 if duplicates or lost or rows.get("sent", 0) != args.recipients else 0


if __name__ == "__main__":
    raise SystemExit(main())

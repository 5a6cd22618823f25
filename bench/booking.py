"""Benchmark: SENCo surgery booking in the domain layer (`knowledge.surgery.booking`), on this machine.

Run it with `make bench-booking` (or `.venv/bin/python -m bench.booking`). It takes about half a
minute on SQLite. Against a fresh database (by default a new SQLite file in a temporary folder;
`--database-url postgresql://...` for an empty PostgreSQL database) it:

- seeds one school ("bench-school") with ~600 staff, 1,000 future 15-minute slots over a year of
  school days (capacity 12) and 10,000 active bookings plus cancelled ones as history. The
  nearest slots are full, later ones less so, as in a real school year. Seeding bypasses
  `book()` (bulk inserts) but keeps `slot.booked` equal to the slot's active bookings;
- listing: `--samples` sequential units of work, each opening a session and running
  `free_slots(limit=10)` plus one week's free slots; p50 and p95 in ms;
- booking: `--samples` sequential `book()` calls, each in its own unit of work (find the
  staff member by Slack id, then book), by different staff on slots with room; p50 and p95;
- throughput: `--clients` threads, each with its own sessions, making `--attempts` booking
  attempts in all. Like people clicking in the list they were shown, each client books one of
  the 10 soonest free slots (`free_slots`) and lists again when told it was taken, so everyone
  competes for the same few places and `SlotTaken` happens. Successful bookings per second
  (the re-listing is inside the wall time);
- integrity: `double_bookings` counts slots with more active bookings than places, or whose
  `booked` differs from their active bookings. Every successful `book()` must be in the table.

Targets (the issue): listing and booking p95 under 50 ms on SQLite, no double bookings, no
errors (any exception other than `SlotTaken`, "database is locked" included). The last line
is one JSON object with every figure. It exits 1 if there were double bookings or errors; a
missed latency target is reported, not fatal.
"""

from __future__ import annotations

import argparse
import datetime as dt
import inspect
import json
import math
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from sqlalchemy import and_, func, insert, select
from sqlalchemy.engine.url import make_url
from sqlalchemy.orm import Session

from knowledge.schools.staff import find_staff
from knowledge.shared.db import get_engine, unit_of_work
from knowledge.shared.migrate import upgrade
from knowledge.shared.models import Booking, StaffMember, SurgerySlot
from knowledge.surgery.booking import TOPICS, BookingRules, SlotTaken, book, free_slots
from knowledge.text.uk_time import UK_TZ

SCHOOL = "bench-school"
STAFF = 600
SENCOS = 2
CAPACITY = 12
SLOT_MINUTES = 15
SLOTS_PER_DAY = 4
FIRST_SLOT_UK = (15, 15)  # surgery from 15:15 UK time, four 15-minute slots
CANCELLED_SHARE = 0.08  # cancelled bookings kept as history, on top of the active ones
WARMUP = 10
SHOWN_SLOTS = 10  # what a person is offered and clicks in
WEEK_SLOTS = 5 * SLOTS_PER_DAY  # a week's view
TARGET_P95_MS = 50.0
# Rules that never refuse, so every refusal measured is a real "slot taken".
RULES = BookingRules(per_teacher_per_day=1000)


@dataclass
class Throughput:
    """How the concurrent booking run went."""

    booked: int = 0
    slot_taken: int = 0
    errors: int = 0
    listings: int = 0
    wall_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    error_kinds: Counter = field(default_factory=Counter)


# --- small helpers ---------------------------------------------------------------------


def say(line: str) -> None:
    """Print a progress line at once."""
    print(line, flush=True)


def percentile(values: list[float], pct: int) -> float:
    """The pct-th percentile (inclusive method) of `values`."""
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def timed(action: Callable[[], object]) -> float:
    """Run `action` once; return its wall time in ms."""
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def machine_line(dialect: str) -> str:
    try:
        import psutil

        memory = f", {psutil.virtual_memory().total / 2**30:.0f} GB RAM"
    except ImportError:
        memory = ""
    return f"machine: {os.cpu_count()} CPUs{memory}, Python {sys.version.split()[0]}, database {dialect}"


# --- seeding -----------------------------------------------------------------------------


def slot_times(count: int, start: dt.date) -> list[dt.datetime]:
    """`count` slot starts in UTC: school days (Monday to Friday) from `start`, 15:15 UK time on."""
    try:
        from zoneinfo import ZoneInfo

        uk: dt.tzinfo = ZoneInfo(UK_TZ)
    except Exception:  # no time-zone data: UTC is close enough for a benchmark
        uk = dt.timezone.utc
    times: list[dt.datetime] = []
    day = start
    while len(times) < count:
        if day.weekday() < 5:
            first = dt.datetime(day.year, day.month, day.day, *FIRST_SLOT_UK, tzinfo=uk)
            for n in range(min(SLOTS_PER_DAY, count - len(times))):
                at = first + dt.timedelta(minutes=SLOT_MINUTES * n)
                times.append(at.astimezone(dt.timezone.utc))
        day += dt.timedelta(days=1)
    return times


def fill_profile(slots: int, bookings: int, capacity: int) -> list[int]:
    """Active bookings per slot, soonest first: the nearest slots full, later ones less so.

    Demand falls linearly from 1 to 0.5 over the year; a scale is found so the total is
    `bookings`, each slot capped at `capacity`.
    """
    weights = [1.0 - 0.5 * i / max(slots - 1, 1) for i in range(slots)]

    def total(scale: float) -> int:
        return sum(min(capacity, int(capacity * w * scale)) for w in weights)

    low, high = 0.0, 4.0
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if total(mid) <= bookings else (low, mid)
    counts = [min(capacity, int(capacity * w * low)) for w in weights]
    short = bookings - sum(counts)
    for i in range(slots):  # the rounding remainder, soonest first
        if short <= 0:
            break
        if counts[i] < capacity:
            counts[i] += 1
            short -= 1
    return counts


def seed(database_url: str, slots: int, bookings: int, rng: random.Random) -> dict[str, int]:
    """A school with staff, slots and bookings, inserted in bulk; returns what was made."""
    capacity = max(CAPACITY, math.ceil(bookings * 1.2 / slots))
    counts = fill_profile(slots, bookings, capacity)
    start = now_utc().date() + dt.timedelta(days=1)
    with unit_of_work(database_url) as session:
        if session.execute(
            select(func.count(SurgerySlot.id)).where(SurgerySlot.school_ref == SCHOOL)
        ).scalar():
            raise SystemExit(f"{database_url!r} already has {SCHOOL} slots: give an empty database")
        session.execute(
            insert(StaffMember),
            [
                {
                    "school_ref": SCHOOL,
                    "slack_user_id": f"UBENCH{i:04d}",
                    "name": f"Staff {i}",
                    "role": "senco" if i < SENCOS else "teacher",
                    "email": f"staff{i}@bench.example",
                    "active": True,
                }
                for i in range(STAFF)
            ],
        )
        session.execute(
            insert(SurgerySlot),
            [
                {
                    "school_ref": SCHOOL,
                    "starts_at": at,
                    "ends_at": at + dt.timedelta(minutes=SLOT_MINUTES),
                    "capacity": capacity,
                    "booked": counts[i],
                    "status": "open",
                    "origin": "extra",
                }
                for i, at in enumerate(slot_times(slots, start))
            ],
        )
        slot_ids = (
            session.execute(
                select(SurgerySlot.id).where(SurgerySlot.school_ref == SCHOOL).order_by(SurgerySlot.starts_at)
            )
            .scalars()
            .all()
        )
        staff_ids = (
            session.execute(
                select(StaffMember.id).where(StaffMember.school_ref == SCHOOL).order_by(StaffMember.id)
            )
            .scalars()
            .all()
        )
        created = now_utc() - dt.timedelta(days=1)
        rows = []
        for slot_id, count in zip(slot_ids, counts, strict=True):
            rows += [
                booking_row(slot_id, rng.choice(staff_ids), "active", created, rng) for _ in range(count)
            ]
        cancelled = int(bookings * CANCELLED_SHARE)
        for _ in range(cancelled):
            rows.append(booking_row(rng.choice(slot_ids), rng.choice(staff_ids), "cancelled", created, rng))
        rng.shuffle(rows)  # bookings arrive over time, not slot by slot
        session.execute(insert(Booking), rows)
    return {
        "staff": STAFF,
        "slots": slots,
        "capacity": capacity,
        "bookings": bookings,
        "cancelled": cancelled,
    }


def booking_row(slot_id: int, staff_id: int, status: str, created: dt.datetime, rng: random.Random) -> dict:
    return {
        "slot_id": slot_id,
        "staff_id": staff_id,
        "topic": rng.choice(TOPICS),
        "note": None,
        "status": status,
        "created_at": created,
        "cancelled_at": created if status == "cancelled" else None,
        "sequence": 0,
    }


def room_by_slot(database_url: str) -> list[tuple[int, int]]:
    """(slot id, free places) of every open slot with room, soonest first."""
    with unit_of_work(database_url) as session:
        return [
            (slot_id, capacity - booked)
            for slot_id, capacity, booked in session.execute(
                select(SurgerySlot.id, SurgerySlot.capacity, SurgerySlot.booked)
                .where(
                    SurgerySlot.school_ref == SCHOOL,
                    SurgerySlot.status == "open",
                    SurgerySlot.booked < SurgerySlot.capacity,
                )
                .order_by(SurgerySlot.starts_at)
            )
        ]


# --- listing -------------------------------------------------------------------------------


def _own_slots_between(
    session: Session,
    school_ref: str,
    *,
    now: dt.datetime,
    start: dt.datetime,
    end: dt.datetime,
    limit: int = 10,
) -> list[SurgerySlot]:
    """Open slots with room, after `now` and starting in [start, end), soonest first."""
    return list(
        session.execute(
            select(SurgerySlot)
            .where(
                SurgerySlot.school_ref == school_ref,
                SurgerySlot.status == "open",
                SurgerySlot.booked < SurgerySlot.capacity,
                SurgerySlot.starts_at > now,
                SurgerySlot.starts_at >= start,
                SurgerySlot.starts_at < end,
            )
            .order_by(SurgerySlot.starts_at)
            .limit(limit)
        ).scalars()
    )


def slots_between_function() -> tuple[Callable[..., list[SurgerySlot]], str]:
    """`knowledge.surgery.availability.free_slots_between` if it exists and fits, else the bench's query."""
    try:
        from knowledge.surgery.availability import free_slots_between

        at = now_utc()
        inspect.signature(free_slots_between).bind(None, SCHOOL, now=at, start=at, end=at, limit=1)
    except (ImportError, TypeError, ValueError):
        return _own_slots_between, "the bench's own query (SurgerySlot.starts_at between two bounds)"
    return free_slots_between, "knowledge.surgery.availability.free_slots_between"


def measure_listing(database_url: str, samples: int, rng: random.Random) -> list[float]:
    """Sequential listing units of work: the next 10 free slots, then one week's free slots."""
    slots_between, source = slots_between_function()
    say(f"  week view from {source}")
    today = now_utc().replace(hour=0, minute=0, second=0, microsecond=0)

    def one_listing() -> None:
        week = today + dt.timedelta(weeks=rng.randrange(52))
        at = now_utc()
        with unit_of_work(database_url) as session:
            shown = free_slots(session, SCHOOL, at, limit=SHOWN_SLOTS)
            shown += slots_between(
                session, SCHOOL, now=at, start=week, end=week + dt.timedelta(days=7), limit=WEEK_SLOTS
            )
            for slot in shown:  # what the reply renders
                _ = (slot.id, slot.starts_at, slot.capacity - slot.booked)

    for _ in range(WARMUP):
        one_listing()
    return [timed(one_listing) for _ in range(samples)]


# --- booking --------------------------------------------------------------------------------


def book_once(database_url: str, slack_user_id: str, slot_id: int, topic: str) -> None:
    """One booking as the bot makes it: its own unit of work, staff found by Slack id."""
    with unit_of_work(database_url) as session:
        member = find_staff(session, SCHOOL, slack_user_id)
        book(session, member, slot_id, topic=topic, note="Year 4, reading", now=now_utc(), rules=RULES)


def places(room: list[tuple[int, int]], wanted: int) -> list[int]:
    """Up to `wanted` slot ids, one per free place, latest slots first, spread across slots."""
    remaining = dict(room[::-1])
    chosen: list[int] = []
    while len(chosen) < wanted and remaining:
        for slot_id in list(remaining):
            if len(chosen) == wanted:
                break
            chosen.append(slot_id)
            remaining[slot_id] -= 1
            if not remaining[slot_id]:
                del remaining[slot_id]
    return chosen


def measure_booking(database_url: str, samples: int) -> tuple[list[float], int]:
    """Sequential `book()` calls by different staff on slots with room; (latencies, bookings made)."""
    targets = places(room_by_slot(database_url), WARMUP + samples)
    if len(targets) < WARMUP + samples:
        raise SystemExit(f"only {len(targets)} free places for {WARMUP + samples} sequential bookings")
    latencies: list[float] = []
    for n, slot_id in enumerate(targets):
        slack_id = f"UBENCH{SENCOS + n % (STAFF - SENCOS):04d}"
        topic = TOPICS[n % len(TOPICS)]
        started = time.perf_counter()
        book_once(database_url, slack_id, slot_id, topic)
        took = (time.perf_counter() - started) * 1000
        if n >= WARMUP:
            latencies.append(took)
    return latencies, len(targets)


def shown_slot_ids(database_url: str) -> list[int]:
    """The slots a person is offered right now: `free_slots` in its own unit of work."""
    with unit_of_work(database_url) as session:
        return [slot.id for slot in free_slots(session, SCHOOL, now_utc(), limit=SHOWN_SLOTS)]


def measure_throughput(database_url: str, clients: int, attempts: int) -> Throughput:
    """`clients` threads make `attempts` booking attempts in all on the slots everyone is shown.

    Each client clicks one of the 10 soonest free slots it was shown. When told the slot was
    taken (or when nothing it was shown is left) it lists again, as the bot does, so all the
    clients keep competing for the same few slots.
    """
    result = Throughput()
    lock = threading.Lock()
    budget = iter(range(attempts))
    start = threading.Barrier(clients + 1)

    def client(number: int) -> None:
        rng = random.Random(1000 + number)
        slack_ids = [f"UBENCH{i:04d}" for i in range(SENCOS + number, STAFF, clients)]
        booked = taken = errors = listings = 0
        latencies: list[float] = []
        kinds: Counter = Counter()
        shown: list[int] = []
        start.wait()
        while True:
            with lock:
                if next(budget, None) is None:
                    break
            sent_at = time.perf_counter()
            try:
                if not shown:
                    shown = shown_slot_ids(database_url)
                    listings += 1
                    if not shown:
                        break
                slot_id = rng.choice(shown)
                sent_at = time.perf_counter()
                book_once(database_url, rng.choice(slack_ids), slot_id, rng.choice(TOPICS))
                booked += 1
            except SlotTaken:
                taken += 1
                shown = []
            except Exception as error:  # "database is locked" included
                errors += 1
                shown = []
                kinds[f"{type(error).__name__}: {str(error).splitlines()[0][:120]}"] += 1
            latencies.append((time.perf_counter() - sent_at) * 1000)
        with lock:
            result.booked += booked
            result.slot_taken += taken
            result.errors += errors
            result.listings += listings
            result.latencies_ms += latencies
            result.error_kinds.update(kinds)

    threads = [threading.Thread(target=client, args=(n,), name=f"bench-client-{n}") for n in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    result.wall_s = time.perf_counter() - started
    return result


# --- integrity -------------------------------------------------------------------------------


def integrity(database_url: str) -> tuple[int, int]:
    """(slots overbooked or whose `booked` is wrong, active bookings in the school)."""
    active = (
        select(Booking.slot_id, func.count(Booking.id).label("n"))
        .where(Booking.status == "active")
        .group_by(Booking.slot_id)
        .subquery()
    )
    actual = func.coalesce(active.c.n, 0)
    with unit_of_work(database_url) as session:
        bad = session.execute(
            select(func.count(SurgerySlot.id))
            .select_from(SurgerySlot)
            .outerjoin(active, active.c.slot_id == SurgerySlot.id)
            .where(SurgerySlot.school_ref == SCHOOL)
            .where((actual > SurgerySlot.capacity) | (actual != SurgerySlot.booked))
        ).scalar_one()
        total = session.execute(
            select(func.count(Booking.id))
            .join(SurgerySlot, and_(SurgerySlot.id == Booking.slot_id, SurgerySlot.school_ref == SCHOOL))
            .where(Booking.status == "active")
        ).scalar_one()
    return bad, total


# --- the run -----------------------------------------------------------------------------------


def fresh_sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'booking-bench.db'}"


def run(database_url: str, args: argparse.Namespace) -> dict:
    rng = random.Random(7)
    dialect = make_url(database_url).get_backend_name()
    say(machine_line(dialect))
    say("schema: knowledge.shared.migrate.upgrade")
    upgrade(database_url)
    started = time.perf_counter()
    made = seed(database_url, args.slots, args.bookings, rng)
    say(
        f"seeded in {time.perf_counter() - started:.1f} s: {made['staff']} staff, {made['slots']} slots "
        f"(capacity {made['capacity']}), {made['bookings']} active bookings + {made['cancelled']} cancelled"
    )
    room = room_by_slot(database_url)
    say(
        f"  {len(room)} slots have room ({sum(r for _, r in room)} places), "
        f"{args.slots - len(room)} (the nearest) are full"
    )

    say(f"listing: {args.samples} sequential units of work (free_slots limit {SHOWN_SLOTS} + a week's view)")
    listing = measure_listing(database_url, args.samples, rng)
    list_p50, list_p95 = percentile(listing, 50), percentile(listing, 95)
    say(f"  p50 {list_p50:.2f} ms, p95 {list_p95:.2f} ms, max {max(listing):.2f} ms")

    say(f"booking: {args.samples} sequential book() calls, each in its own unit of work")
    booking, sequential_made = measure_booking(database_url, args.samples)
    book_p50, book_p95 = percentile(booking, 50), percentile(booking, 95)
    say(f"  p50 {book_p50:.2f} ms, p95 {book_p95:.2f} ms, max {max(booking):.2f} ms")

    say(
        f"throughput: {args.attempts} booking attempts from {args.clients} clients at once, "
        "on the soonest free slots"
    )
    load = measure_throughput(database_url, args.clients, args.attempts)
    rps = load.booked / load.wall_s if load.wall_s else 0.0
    tried = load.booked + load.slot_taken + load.errors
    load_p95 = percentile(load.latencies_ms, 95) if len(load.latencies_ms) > 1 else 0.0
    say(
        f"  {load.booked} booked, {load.slot_taken} slot taken, {load.errors} errors in {load.wall_s:.2f} s: "
        f"{rps:.1f} bookings/s ({tried / load.wall_s:.1f} attempts/s, {load.listings} re-listings), "
        f"book() p95 under load {load_p95:.1f} ms"
    )
    for kind, count in load.error_kinds.most_common(5):
        say(f"    {count} x {kind}")

    double_bookings, active_total = integrity(database_url)
    expected_total = args.bookings + sequential_made + load.booked
    unaccounted = abs(active_total - expected_total)
    say(
        f"integrity: {double_bookings} slots overbooked or miscounted; {active_total} active bookings "
        f"(expected {expected_total})"
    )
    say("")
    say("Targets:")
    checks = [
        (f"listing p95 under {TARGET_P95_MS:.0f} ms (is {list_p95:.1f} ms)", list_p95 < TARGET_P95_MS),
        (f"booking p95 under {TARGET_P95_MS:.0f} ms (is {book_p95:.1f} ms)", book_p95 < TARGET_P95_MS),
        (f"no double bookings ({double_bookings})", double_bookings == 0),
        (f"every booking made is in the table ({unaccounted} unaccounted)", unaccounted == 0),
        (f"no errors ({load.errors})", load.errors == 0),
    ]
    for text, ok in checks:
        say(f"  {'PASS' if ok else 'FAIL'}  {text}")
    say("")
    return {
        "list_p50_ms": round(list_p50, 2),
        "list_p95_ms": round(list_p95, 2),
        "book_p50_ms": round(book_p50, 2),
        "book_p95_ms": round(book_p95, 2),
        f"book_rps_{args.clients}": round(rps, 1),  # book_rps_16 with the default 16 clients
        "book_p95_ms_under_load": round(load_p95, 1),
        "double_bookings": double_bookings,
        "unaccounted_bookings": unaccounted,
        "slot_taken": load.slot_taken,
        "errors": load.errors,
        "slots": args.slots,
        "bookings": args.bookings,
        "cancelled_bookings": made["cancelled"],
        "capacity": made["capacity"],
        "samples": args.samples,
        "clients": args.clients,
        "attempts": args.attempts,
        "database": dialect,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.booking", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        help="an empty database to use (default: a new SQLite file in a temporary folder, removed after)",
    )
    parser.add_argument("--slots", type=int, default=1000)
    parser.add_argument("--bookings", type=int, default=10000, help="active bookings to seed")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients in the throughput run")
    parser.add_argument("--attempts", type=int, default=1600, help="booking attempts in the throughput run")
    parser.add_argument("--samples", type=int, default=300, help="sequential listings and bookings timed")
    args = parser.parse_args(argv)
    if min(args.slots, args.clients, args.attempts) < 1 or args.samples < 2 or args.bookings < 0:
        parser.error("--slots, --clients and --attempts must be positive, --samples at least 2")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    say("SENCo surgery booking benchmark (make bench-booking)")
    if args.database_url:
        result = run(args.database_url, args)
        get_engine(args.database_url).dispose()
    else:
        with tempfile.TemporaryDirectory(prefix="sendbot-booking-bench-") as tmp:
            url = fresh_sqlite_url(Path(tmp))
            try:
                result = run(url, args)
            finally:
                get_engine(url).dispose()
    say(json.dumps(result))
    return 1 if result["double_bookings"] or result["unaccounted_bookings"] or result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())

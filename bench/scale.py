"""Benchmark: the production profile with one and with two Rasa servers (`make bench-scale`).

For each phase it starts `python -m bot.prod` (its own PostgreSQL, Redis, nginx; on spare
loopback ports, in a temporary folder) with PROD_RASA_SERVERS=1, then 2, and drives the REST
channel through nginx from 32 concurrent conversations for 60 seconds (or 6,000 messages,
whichever comes first). Conversations are 8 messages long and spread over 50 schools
(`metadata.school` = school-01 … school-50); every message has a `message_id` and is sent
again, with the same id, if a delivery fails (as our clients do).

Figures per phase: replies per second (answered messages / time), p50 and p95 latency (ms,
from first send to answer, retries included), and per core. Then two checks over both
phases: `lost` (a message never answered, or missing from the tracker in PostgreSQL) and
`duplicated` (a message_id in the tracker more than once, i.e. processed twice).

The last line is one JSON object: rps_1, rps_2, p95_ms_1, p95_ms_2, lost, duplicated, cores, …
Exit code 1 if anything was lost or duplicated, or a phase could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.prod_stack import Delivery, ProdStack, percentile, say
from bench.run import our_messages

PHASE_S = 60.0
MAX_MESSAGES = 6000
CONCURRENCY = 32
SCHOOLS = 50
MESSAGES_PER_CONVERSATION = 8
WARMUP_MESSAGES = 3  # per conversation, before measuring: TensorFlow's first calls are slow
GIVE_UP_AFTER_S = 120.0  # a message still being retried this long after the phase ends is lost


@dataclass
class Phase:
    servers: int
    deliveries: list[Delivery]
    elapsed_s: float
    in_tracker: dict[str, int]

    @property
    def answered(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.ok]

    @property
    def rps(self) -> float:
        return len(self.answered) / self.elapsed_s if self.elapsed_s else 0.0

    def latency_ms(self, pct: float) -> float:
        return percentile([d.latency_s * 1000 for d in self.answered], pct)

    @property
    def lost(self) -> int:
        return sum(1 for d in self.deliveries if not d.ok or d.message_id not in self.in_tracker)

    @property
    def duplicated(self) -> int:
        return sum(n - 1 for n in self.in_tracker.values() if n > 1)

    @property
    def failovers(self) -> int:
        return sum(d.failed_over for d in self.deliveries)


def say_line(text: str) -> None:
    print(text, flush=True)


async def drive(url: str, prefix: str, seconds: float, max_messages: int, concurrency: int) -> tuple:
    """`concurrency` conversations at once until `seconds` pass or `max_messages` are sent."""
    messages = our_messages()
    started = time.monotonic()
    stop_at = started + seconds
    give_up_at = stop_at + GIVE_UP_AFTER_S
    deliveries: list[Delivery] = []
    sent = 0
    conversations = 0
    last_answer = started

    async def worker(number: int) -> None:
        nonlocal sent, conversations, last_answer
        limits = httpx.Limits(max_connections=2, max_keepalive_connections=1)
        async with httpx.AsyncClient(limits=limits) as client:
            while time.monotonic() < stop_at and sent < max_messages:
                conversation = conversations
                conversations += 1
                sender = f"{prefix}-{number:02d}-{conversation:05d}"
                school = f"school-{conversation % SCHOOLS + 1:02d}"
                for turn in range(MESSAGES_PER_CONVERSATION):
                    if time.monotonic() >= stop_at or sent >= max_messages:
                        return
                    sent += 1
                    text = messages[(conversation * MESSAGES_PER_CONVERSATION + turn) % len(messages)]
                    delivery = await say(
                        client, url, sender, text, metadata={"school": school}, deadline=give_up_at
                    )
                    deliveries.append(delivery)
                    if delivery.ok:
                        last_answer = max(last_answer, time.monotonic())

    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return deliveries, max(last_answer - started, 1e-9), conversations


async def warm_up(url: str, prefix: str, conversations: int) -> None:
    async with httpx.AsyncClient() as client:
        for turn in range(WARMUP_MESSAGES):
            await asyncio.gather(
                *(say(client, url, f"{prefix}-{n}", our_messages()[turn]) for n in range(conversations))
            )


def run_phase(work: Path, servers: int, seconds: float, max_messages: int, concurrency: int) -> Phase:
    say_line(f"\n== {servers} Rasa server{'s' if servers > 1 else ''}: starting the production profile...")
    started = time.monotonic()
    with ProdStack(work=work, servers=servers) as stack:
        say_line(f"   started in {time.monotonic() - started:.0f}s; warming up...")
        asyncio.run(warm_up(stack.rest_url, f"warm{servers}", 2 * servers))
        prefix = f"scale{servers}"
        say_line(f"   {concurrency} conversations for up to {seconds:.0f}s or {max_messages} messages...")
        deliveries, elapsed, conversations = asyncio.run(
            drive(stack.rest_url, prefix, seconds, max_messages, concurrency)
        )
        in_tracker = dict(stack.user_message_ids(prefix + "-"))
    phase = Phase(servers, deliveries, elapsed, in_tracker)
    say_line(
        f"   {len(deliveries)} messages in {conversations} conversations, {len(phase.answered)} answered "
        f"in {elapsed:.1f}s; failovers/retries {phase.failovers}; lost {phase.lost}; "
        f"duplicated {phase.duplicated}"
    )
    return phase


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=PHASE_S, help="length of each phase")
    parser.add_argument("--max-messages", type=int, default=MAX_MESSAGES, help="per phase")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    work = Path(tempfile.mkdtemp(prefix="sendbot-scale-"))
    phases: dict[int, Phase] = {}
    try:
        for servers in (1, 2):
            phases[servers] = run_phase(work, servers, args.seconds, args.max_messages, args.concurrency)
    except Exception as error:
        print(f"bench-scale could not run: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)

    one, two = phases[1], phases[2]
    lost = one.lost + two.lost
    duplicated = one.duplicated + two.duplicated
    say_line(f"\nREST channel through nginx, {args.concurrency} concurrent conversations, {cores} cores")
    say_line(f"{'':28}{'1 Rasa server':>16}{'2 Rasa servers':>16}")
    rows = [
        ("replies per second", f"{one.rps:.1f}", f"{two.rps:.1f}"),
        ("  per core", f"{one.rps / cores:.1f}", f"{two.rps / cores:.1f}"),
        ("p50 latency (ms)", f"{one.latency_ms(50):.0f}", f"{two.latency_ms(50):.0f}"),
        ("p95 latency (ms)", f"{one.latency_ms(95):.0f}", f"{two.latency_ms(95):.0f}"),
        ("messages answered", str(len(one.answered)), str(len(two.answered))),
        ("lost / duplicated", f"{one.lost} / {one.duplicated}", f"{two.lost} / {two.duplicated}"),
    ]
    for name, a, b in rows:
        say_line(f"{name:28}{a:>16}{b:>16}")
    say_line(f"2 servers / 1 server throughput: {two.rps / one.rps if one.rps else 0:.2f}x on {cores} cores")
    figures = {
        "rps_1": round(one.rps, 2),
        "rps_2": round(two.rps, 2),
        "p95_ms_1": round(one.latency_ms(95), 1),
        "p95_ms_2": round(two.latency_ms(95), 1),
        "p50_ms_1": round(one.latency_ms(50), 1),
        "p50_ms_2": round(two.latency_ms(50), 1),
        "rps_per_core_1": round(one.rps / cores, 2),
        "rps_per_core_2": round(two.rps / cores, 2),
        "mean_ms_2": round(statistics.fmean([d.latency_s * 1000 for d in two.answered] or [0]), 1),
        "messages_1": len(one.deliveries),
        "messages_2": len(two.deliveries),
        "lost": lost,
        "duplicated": duplicated,
        "failovers": one.failovers + two.failovers,
        "concurrency": args.concurrency,
        "schools": SCHOOLS,
        "seconds_per_phase": args.seconds,
        "cores": cores,
    }
    print(json.dumps(figures), flush=True)
    return 1 if lost or duplicated else 0


if __name__ == "__main__":
    sys.exit(main())

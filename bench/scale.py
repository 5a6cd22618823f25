"""Benchmark: the production profile with one and with two Rasa servers (`make bench-scale`).

The 50 schools are a real trust deployment: `bench/trust_fixture.py` generates one (50
schools, each with its own profile, SENCo, staff roster and calendar, in 5 local authorities
with their own local offers; all example data) into the temporary folder, and each phase's
`python -m bot.prod` loads it (SCHOOLS_FILE), as a trust would. Each phase checks that the
database holds exactly those 50 schools before it starts.

For each phase it starts `python -m bot.prod` (its own PostgreSQL, Redis, nginx; on spare
loopback ports, in a temporary folder) with PROD_RASA_SERVERS=1, then 2, and drives the REST
channel through nginx from 32 concurrent conversations for 60 seconds (or 6,000 messages,
whichever comes first). Conversations are 8 messages long and spread over the 50 schools
(`metadata.school` = school-01 … school-50, the parent's link); every message has a
`message_id` and is sent again, with the same id, if a delivery fails (as our clients do).

Figures per phase: replies per second (answered messages / time), p50 and p95 latency (ms,
from first send to answer, retries included), and per core. Then checks over both phases:
`lost` (a message never answered, or missing from the tracker in PostgreSQL), `duplicated`
(a message_id in the tracker more than once, i.e. processed twice), and no cross-school
leakage under load. One message of each conversation asks how to contact the SENCo
(the "Talk to a person" button, `/ask_contact_senco`); its reply must give that
conversation's own school's SENCo email. `wrong_school` counts answered messages (any of
them, not only those) whose replies name another generated school (its ref, email or web
address, or its name); `unanswered_school` counts contact questions whose reply lacks the
school's own SENCo email.

The last line is one JSON object: rps_1, rps_2, p95_ms_1, p95_ms_2, lost, duplicated,
wrong_school, unanswered_school, cores, … Exit code 1 if anything was lost or duplicated, a
reply named another school, or a phase could not run.
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
from sqlalchemy import select

from bench.prod_stack import Delivery, ProdStack, percentile, say, web_sender
from bench.run import our_messages
from bench.trust_fixture import TrustFixture, generate_trust, mentioned_schools
from knowledge.shared.db import unit_of_work
from knowledge.shared.models import School

PHASE_S = 60.0
MAX_MESSAGES = 6000
CONCURRENCY = 32
SCHOOLS = 50
MESSAGES_PER_CONVERSATION = 8
WARMUP_MESSAGES = 3  # per conversation, before measuring: TensorFlow's first calls are slow
GIVE_UP_AFTER_S = 120.0  # a message still being retried this long after the phase ends is lost
# The cross-school check: one message of each conversation asks for the school's SENCo. The
# button's payload is an intent, so the reply is the contact answer whatever the NLU model
# makes of the rest of the conversation.
CHECK_MESSAGE = "/ask_contact_senco"
CHECK_TURN = 3  # mid-conversation, after messages about other things


@dataclass
class Sent:
    """One delivery of the load, with the school of its conversation."""

    delivery: Delivery
    school: str
    check: bool  # the contact question: its reply must give this school's SENCo email

    @property
    def schools_named(self) -> set[str]:
        """The generated schools its replies name (none when it was not answered)."""
        return mentioned_schools(self.delivery.text_of_replies) if self.delivery.ok else set()


@dataclass
class Phase:
    servers: int
    sent: list[Sent]
    elapsed_s: float
    in_tracker: dict[str, int]
    trust: TrustFixture

    @property
    def deliveries(self) -> list[Delivery]:
        return [s.delivery for s in self.sent]

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

    @property
    def wrong_school(self) -> int:
        """Answered messages whose replies name a school other than their conversation's."""
        return sum(1 for s in self.sent if s.schools_named - {s.school})

    @property
    def checks(self) -> list[Sent]:
        """The contact questions that were answered (one unanswered is already `lost`)."""
        return [s for s in self.sent if s.check and s.delivery.ok]

    @property
    def unanswered_school(self) -> int:
        """Contact questions whose reply lacks their own school's SENCo email."""
        emails = {school.ref: school.senco_email for school in self.trust.schools}
        return sum(1 for s in self.checks if emails[s.school] not in s.delivery.text_of_replies)

    @property
    def naming_own_school(self) -> int:
        """Answered messages whose replies name their own school (and no other)."""
        return sum(1 for s in self.sent if s.schools_named == {s.school})


def say_line(text: str) -> None:
    print(text, flush=True)


async def drive(
    url: str, prefix: str, seconds: float, max_messages: int, concurrency: int, schools: tuple[str, ...]
) -> tuple:
    """`concurrency` conversations at once until `seconds` pass or `max_messages` are sent;
    conversation n is a parent of school n mod len(schools)."""
    messages = our_messages()
    started = time.monotonic()
    stop_at = started + seconds
    give_up_at = stop_at + GIVE_UP_AFTER_S
    sent_messages: list[Sent] = []
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
                school = schools[conversation % len(schools)]
                for turn in range(MESSAGES_PER_CONVERSATION):
                    if time.monotonic() >= stop_at or sent >= max_messages:
                        return
                    sent += 1
                    check = turn == CHECK_TURN
                    text = (
                        CHECK_MESSAGE
                        if check
                        else messages[(conversation * MESSAGES_PER_CONVERSATION + turn) % len(messages)]
                    )
                    delivery = await say(
                        client, url, sender, text, metadata={"school": school}, deadline=give_up_at
                    )
                    sent_messages.append(Sent(delivery, school, check))
                    if delivery.ok:
                        last_answer = max(last_answer, time.monotonic())

    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return sent_messages, max(last_answer - started, 1e-9), conversations


async def warm_up(url: str, prefix: str, conversations: int, schools: tuple[str, ...]) -> None:
    async with httpx.AsyncClient() as client:
        for text in our_messages()[:WARMUP_MESSAGES]:
            await asyncio.gather(
                *(
                    say(client, url, f"{prefix}-{n}", text, metadata={"school": schools[n % len(schools)]})
                    for n in range(conversations)
                )
            )


def loaded_schools(stack: ProdStack) -> dict[str, str]:
    """ref -> SENCo email of every school in the stack's `sendbot` database (PostgreSQL)."""
    with unit_of_work(stack.config.database_url()) as session:
        rows = session.execute(select(School.ref, School.profile)).all()
    return {ref: (profile.get("senco") or {}).get("email", "") for ref, profile in rows}


def check_trust_loaded(stack: ProdStack, trust: TrustFixture) -> None:
    """The bot serves exactly the generated schools, each with its own SENCo, or the phase can't run."""
    expected = {school.ref: school.senco_email for school in trust.schools}
    loaded = loaded_schools(stack)
    if loaded != expected:
        missing = sorted(set(expected) - set(loaded))
        extra = sorted(set(loaded) - set(expected))
        raise RuntimeError(f"the database lacks the generated trust: missing {missing}; extra {extra}")


def run_phase(
    work: Path, servers: int, seconds: float, max_messages: int, concurrency: int, trust: TrustFixture
) -> Phase:
    say_line(f"\n== {servers} Rasa server{'s' if servers > 1 else ''}: starting the production profile...")
    started = time.monotonic()
    env = {"SCHOOLS_FILE": str(trust.schools_file)}
    with ProdStack(work=work, servers=servers, extra_env=env) as stack:
        check_trust_loaded(stack, trust)
        say_line(
            f"   started in {time.monotonic() - started:.0f}s with {len(trust.schools)} generated "
            "schools loaded; warming up..."
        )
        asyncio.run(warm_up(stack.rest_url, f"warm{servers}", 2 * servers, trust.refs))
        prefix = f"scale{servers}"
        say_line(f"   {concurrency} conversations for up to {seconds:.0f}s or {max_messages} messages...")
        sent, elapsed, conversations = asyncio.run(
            drive(stack.rest_url, prefix, seconds, max_messages, concurrency, trust.refs)
        )
        in_tracker = dict(stack.user_message_ids(web_sender(prefix + "-")))
    phase = Phase(servers, sent, elapsed, in_tracker, trust)
    say_line(
        f"   {len(sent)} messages in {conversations} conversations, {len(phase.answered)} answered "
        f"in {elapsed:.1f}s; failovers/retries {phase.failovers}; lost {phase.lost}; "
        f"duplicated {phase.duplicated}"
    )
    say_line(
        f"   schools: {len(phase.checks)} contact-the-SENCo replies checked, {phase.naming_own_school} "
        f"replies named their own school; wrong_school {phase.wrong_school}; "
        f"unanswered_school {phase.unanswered_school}"
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
        trust = generate_trust(work / "trust", SCHOOLS)
        say_line(f"Generated a trust deployment of {len(trust.schools)} schools: {trust.schools_file}")
        for servers in (1, 2):
            phases[servers] = run_phase(
                work, servers, args.seconds, args.max_messages, args.concurrency, trust
            )
    except Exception as error:
        print(f"bench-scale could not run: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)

    one, two = phases[1], phases[2]
    lost = one.lost + two.lost
    duplicated = one.duplicated + two.duplicated
    wrong_school = one.wrong_school + two.wrong_school
    unanswered_school = one.unanswered_school + two.unanswered_school
    say_line(f"\nREST channel through nginx, {args.concurrency} concurrent conversations, {cores} cores")
    say_line(f"{'':28}{'1 Rasa server':>16}{'2 Rasa servers':>16}")
    rows = [
        ("replies per second", f"{one.rps:.1f}", f"{two.rps:.1f}"),
        ("  per core", f"{one.rps / cores:.1f}", f"{two.rps / cores:.1f}"),
        ("p50 latency (ms)", f"{one.latency_ms(50):.0f}", f"{two.latency_ms(50):.0f}"),
        ("p95 latency (ms)", f"{one.latency_ms(95):.0f}", f"{two.latency_ms(95):.0f}"),
        ("messages answered", str(len(one.answered)), str(len(two.answered))),
        ("lost / duplicated", f"{one.lost} / {one.duplicated}", f"{two.lost} / {two.duplicated}"),
        ("school checks", str(len(one.checks)), str(len(two.checks))),
        (
            "wrong / unanswered school",
            f"{one.wrong_school} / {one.unanswered_school}",
            f"{two.wrong_school} / {two.unanswered_school}",
        ),
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
        "wrong_school": wrong_school,
        "unanswered_school": unanswered_school,
        "school_checks": len(one.checks) + len(two.checks),
        "schools": len(trust.schools),
        "seconds_per_phase": args.seconds,
        "cores": cores,
    }
    print(json.dumps(figures), flush=True)
    return 1 if lost or duplicated or wrong_school else 0


if __name__ == "__main__":
    sys.exit(main())

"""The delivery loop: due broadcasts -> outbox rows -> Telegram and Slack, at the pace they allow.

Why it is built this way
------------------------
`deliver` is one asyncio loop for every channel. Each round it expands the sends that are
due into outbox rows (`knowledge.broadcasts.outbox.expand_due_sends`), claims a few rows per channel
(never more than the channel's in-flight limit, so a hard kill can leave at most that many
rows in doubt), checks them (opted out since? a parent in quiet hours?) and sends them
concurrently, each in its own task, recording each outcome in the database as soon as the
call returns. See `knowledge.broadcasts.outbox` for the guarantees and what happens after a crash.

Pacing, per transport:
- overall: one message every `pace_margin / overall_per_second` seconds. Telegram allows
  about 30 messages a second; with the 1% margin any 31 messages span more than a second
  even when the event loop wakes a task a few milliseconds late (half the margin, 5 ms, of
  lateness is made up; more than that is lost rather than sent as a burst);
- per address: at least `per_address_interval_s` between two messages to one chat
  (Telegram: 1 a second per chat; Slack: 1 a second per channel);
- a 429 (`RateLimited`) pauses the whole transport for its retry-after, then the same row
  is tried again (it is still ours, so this cannot duplicate it).

A `PermanentFailure` (blocked the bot, chat not found) marks the row failed and the person
unreachable: never retried, and left out of later broadcasts until they come back. A
`TemporaryFailure` puts the row back in the queue with back-off, until `max_attempts`.

Stopping: set `stop_event` (see `install_graceful_stop` for SIGTERM/SIGINT). The loop stops
claiming, calls already made finish and are recorded, and rows claimed but not yet sent go
back to `queued`. Cancelling the task instead behaves like a kill: nothing more is written.

When every send of a broadcast is finished, the SENCo who wrote it gets the delivery
summary once, through `notify_manager(slack_user_id, text)` (sync or async).

Clock and sleep are injected (`Clock`), so tests run the loop in virtual time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import logging
import math
import signal
import sys
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Protocol

from knowledge.broadcasts.delivery import PermanentFailure, RateLimited, TemporaryFailure, Transport
from knowledge.broadcasts.sending import claim_finished, outbox, release_summary
from knowledge.shared.models import OutboxMessage
from knowledge.text.uk_time import UK_TZ

log = logging.getLogger(__name__)

NotifyManager = Callable[[str, str], object]  # may return an awaitable
NEVER = float("-inf")


class Clock(Protocol):
    def now(self) -> dt.datetime: ...

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Real time: UTC wall clock for the database, `time.monotonic` for pacing."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


def default_backoff(attempt: int) -> float:
    """Seconds before retry number `attempt` after a temporary failure: 30 s, 1 min, 2 min ... 1 hour."""
    return float(min(3600, 30 * 2 ** max(0, attempt - 1)))


@dataclass(frozen=True)
class SenderOptions:
    poll_interval_s: float = 1.0  # how often due sends are expanded and idle queues looked at
    stall_s: float = 30.0  # the longest the loop waits for a message in flight before looking again
    max_in_flight: int | None = None  # per transport; default max(4, half its per-second limit)
    max_attempts: int = outbox.MAX_ATTEMPTS
    max_rate_limit_waits: int = 20  # 429s in a row for one row before it goes back in the queue
    pace_margin: float = 1.01
    resend_unknown: bool = (
        False  # see knowledge.broadcasts.outbox: interrupted rows are not resent by default
    )
    recover_on_start: bool = True
    backoff: Callable[[int], float] = default_backoff
    tz: str = UK_TZ


@dataclass
class DeliveryStats:
    expanded: int = 0
    sent: int = 0
    failed: int = 0
    retried: int = 0
    rate_limited: int = 0
    held_back: int = 0  # opted out since queued, or a parent now in quiet hours
    released: int = 0  # claimed, not sent, put back on a graceful stop
    recovered: int = 0  # left in `sending` by an earlier run
    summaries: int = 0


def failure_reason(error: PermanentFailure) -> str:
    """The reason the SENCo reads in the summary: "blocked the bot", "chat not found"..."""
    text = str(error)
    lowered = text.lower()
    if "blocked" in lowered:
        return "blocked the bot"
    if any(code in lowered for code in ("chat not found", "chat_not_found", "channel_not_found")):
        return "chat not found"
    if any(code in lowered for code in ("deactivated", "account_inactive", "user_disabled")):
        return "account closed"
    if any(code in lowered for code in ("user_not_found", "users_not_found")):
        return "not found"
    return text[:100] or "could not be reached"


class _Lane:
    """One transport: its pacing, its pause after a 429, and its messages in flight."""

    def __init__(
        self,
        transport: Transport,
        database_url: str,
        clock: Clock,
        stop: asyncio.Event,
        options: SenderOptions,
        stats: DeliveryStats,
    ) -> None:
        self.transport = transport
        self.database_url = database_url
        self.clock = clock
        self.stop = stop
        self.options = options
        self.stats = stats
        self.interval = options.pace_margin / transport.overall_per_second
        self.catch_up = (options.pace_margin - 1) / 2  # seconds: see `turn`
        self.address_interval = transport.per_address_interval_s * options.pace_margin
        self.max_in_flight = options.max_in_flight or max(4, math.ceil(transport.overall_per_second / 2))
        self.next_at = NEVER
        self.paused_until = NEVER
        self.last_by_address: dict[str, float] = {}
        self.lock = asyncio.Lock()
        self.tasks: set[asyncio.Task] = set()

    def remember(self, sent_at: dict[str, dt.datetime]) -> None:
        """Per-chat pacing carries on from what an earlier run sent (wall-clock times from the outbox)."""
        now, mono = self.clock.now(), self.clock.monotonic()
        for address, moment in sent_at.items():
            self.last_by_address[address] = mono - (now - moment).total_seconds()

    @property
    def room(self) -> int:
        return self.max_in_flight - len(self.tasks)

    def wants_more(self) -> bool:
        """Claim again when a third of the lane is free (fewer, larger claims), or it is empty."""
        return not self.tasks or self.room >= max(1, self.max_in_flight // 3)

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, self.clock.monotonic() + seconds)

    async def _wait(self, seconds: float) -> bool:
        """Sleep `seconds`; True if a graceful stop was asked for in the meantime."""
        if self.stop.is_set():
            return True
        await _sleep_or_stop(self.clock, self.stop, seconds)
        return self.stop.is_set()

    async def turn(self, address: str) -> bool:
        """Wait until this address and the transport may be sent to; False on a graceful stop."""
        while True:
            ready = self.last_by_address.get(address, NEVER) + self.address_interval
            wait = ready - self.clock.monotonic()
            if wait > 0:
                if await self._wait(wait):
                    return False
                continue
            async with self.lock:
                while (wait := max(self.next_at, self.paused_until) - self.clock.monotonic()) > 0:
                    if await self._wait(wait):
                        return False
                if self.stop.is_set():
                    return False
                now = self.clock.monotonic()
                if self.last_by_address.get(address, NEVER) + self.address_interval > now:
                    continue  # another message to this address went while we waited
                # The next slot is one interval after this one was due, but never earlier than
                # `catch_up` before one interval after now: a wake-up a few ms late (the event
                # loop was busy) is made up, which keeps the average at the limit, while any
                # run of N+1 messages still spans more than a second (N x interval - catch_up).
                self.next_at = max(self.next_at + self.interval, now + self.interval - self.catch_up)
                self.last_by_address[address] = now
                if len(self.last_by_address) > 50_000:
                    self._forget_before(now - self.address_interval)
                return True

    def _forget_before(self, moment: float) -> None:
        self.last_by_address = {a: t for a, t in self.last_by_address.items() if t > moment}

    async def send(self, row: OutboxMessage) -> None:
        """Send one claimed row and record the outcome. Errors outside the contract crash the loop."""
        waits = 0
        while True:
            if not await self.turn(row.address):
                self.stats.released += outbox.release(self.database_url, [row.id])
                return
            try:
                await self.transport.send(row.address, row.text)
            except RateLimited as limited:
                self.stats.rate_limited += 1
                self.pause(limited.retry_after)
                waits += 1
                if waits <= self.options.max_rate_limit_waits:
                    continue
                self._retry(row, f"rate limited {waits} times")
            except PermanentFailure as failure:
                outbox.mark_failed(
                    self.database_url, row.id, failure_reason(failure), self.clock.now(), unreachable=True
                )
                self.stats.failed += 1
            except TemporaryFailure as failure:
                self._retry(row, str(failure) or type(failure).__name__)
            except Exception as error:  # outside the transport contract: a bug, so never retried
                log.exception("%s transport raised %s", self.transport.channel, type(error).__name__)
                outbox.mark_failed(
                    self.database_url, row.id, f"unexpected error ({type(error).__name__})", self.clock.now()
                )
                self.stats.failed += 1
            else:
                outbox.mark_sent(self.database_url, row.id, self.clock.now())
                self.stats.sent += 1
            return

    def _retry(self, row: OutboxMessage, error: str) -> None:
        later = self.clock.now() + dt.timedelta(seconds=self.options.backoff(row.attempts + 1))
        status = outbox.mark_retry(
            self.database_url, row.id, later, error, max_attempts=self.options.max_attempts
        )
        if status == "failed":
            self.stats.failed += 1
        else:
            self.stats.retried += 1


async def _sleep_or_stop(
    clock: Clock, stop: asyncio.Event, seconds: float | None, *others: asyncio.Task
) -> None:
    """Sleep until `seconds` pass (None: no time limit), `stop` is set, or one of `others` finishes."""
    waiters = {asyncio.ensure_future(stop.wait())}
    if seconds is not None:
        waiters.add(asyncio.ensure_future(clock.sleep(seconds)))
    try:
        await asyncio.wait({*waiters, *others}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def _notify_finished(
    database_url: str, clock: Clock, notify: NotifyManager | None, stats: DeliveryStats, tz: str
) -> None:
    """DM each finished broadcast's summary to its author, once; a failed DM is tried again later."""
    if notify is None:
        return
    for finished in claim_finished(database_url, clock.now(), tz=tz):
        try:
            if inspect.iscoroutinefunction(notify):
                await notify(finished.slack_user_id, finished.text)
            else:
                result = await asyncio.to_thread(notify, finished.slack_user_id, finished.text)
                if inspect.isawaitable(result):
                    await result
        except Exception as error:  # the DM will be retried: the summary is still in the database
            log.warning("delivery summary for broadcast %s not sent: %s", finished.broadcast_id, error)
            release_summary(database_url, finished.broadcast_id)
        else:
            stats.summaries += 1


async def deliver(
    database_url: str,
    transports: Mapping[str, Transport],
    *,
    clock: Clock | None = None,
    stop_event: asyncio.Event | None = None,
    notify_manager: NotifyManager | None = None,
    hours: outbox.SendHours | None = None,
    options: SenderOptions | None = None,
    until_idle: bool = False,
) -> DeliveryStats:
    """Deliver the outbox until `stop_event` is set (or, with `until_idle`, until nothing is due now)."""
    clock = clock or SystemClock()
    stop = stop_event or asyncio.Event()
    options = options or SenderOptions()
    hours = hours or outbox.SendHours(tz=options.tz)
    stats = DeliveryStats()
    if options.recover_on_start:
        stats.recovered = outbox.recover_after_crash(
            database_url, clock.now(), resend_unknown=options.resend_unknown
        )
    lanes = {
        channel: _Lane(transport, database_url, clock, stop, options, stats)
        for channel, transport in transports.items()
    }
    for channel, lane in lanes.items():
        lane.remember(outbox.recently_sent(database_url, channel, clock.now(), lane.address_interval))
    crashed: list[BaseException] = []

    def finished(task: asyncio.Task, lane: _Lane) -> None:
        lane.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            crashed.append(task.exception())  # type: ignore[arg-type]

    next_housekeeping = NEVER
    try:
        while not stop.is_set():
            if crashed:
                raise crashed[0]
            if clock.monotonic() >= next_housekeeping:
                stats.expanded += outbox.expand_due_sends(database_url, clock.now(), hours=hours)
                await _notify_finished(database_url, clock, notify_manager, stats, options.tz)
                next_housekeeping = clock.monotonic() + options.poll_interval_s
            started = 0
            for channel, lane in lanes.items():
                if not lane.wants_more() or lane.paused_until > clock.monotonic():
                    continue
                now = clock.now()
                claimed = outbox.claim_batch(database_url, now, lane.room, channel)
                ready = outbox.check_before_send(database_url, claimed, now, hours)
                stats.held_back += len(claimed) - len(ready)
                for row in ready:
                    task = asyncio.create_task(lane.send(row))
                    lane.tasks.add(task)
                    task.add_done_callback(lambda t, lane=lane: finished(t, lane))
                started += len(ready)
            in_flight = [task for lane in lanes.values() for task in lane.tasks]
            paused = [lane.paused_until - clock.monotonic() for lane in lanes.values()]
            paused = [seconds for seconds in paused if seconds > 0]
            idle = until_idle and not (in_flight or started or crashed or paused)
            if idle and not outbox.due_work(database_url, clock.now(), channels=list(lanes)):
                await _notify_finished(database_url, clock, notify_manager, stats, options.tz)
                break
            if started and any(lane.wants_more() for lane in lanes.values()):
                await asyncio.sleep(0)  # let the new tasks start, then top up
                continue
            # With messages in flight, the next one to finish wakes the loop (within about a second:
            # pacing and per-chat waits are short); otherwise a timer does. `stall_s` is a safety
            # net for a transport call that hangs without a timeout of its own.
            wake = min(paused) if paused else (options.stall_s if in_flight else options.poll_interval_s)
            await _sleep_or_stop(clock, stop, wake, *in_flight)
    except BaseException:
        # Cancelled (or crashed): behave like a killed process. Nothing more is sent or written;
        # rows still `sending` are dealt with by `recover_after_crash` on the next start.
        for lane in lanes.values():
            for task in lane.tasks:
                task.cancel()
        await asyncio.gather(*(t for lane in lanes.values() for t in lane.tasks), return_exceptions=True)
        raise
    # Graceful stop: calls already made finish and are recorded; rows not yet sent go back to `queued`.
    await asyncio.gather(*(t for lane in lanes.values() for t in lane.tasks), return_exceptions=True)
    if crashed:
        raise crashed[0]
    return stats


def install_graceful_stop(stop_event: asyncio.Event) -> None:
    """SIGTERM and SIGINT set `stop_event`, so a restart finishes the messages in flight first."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(signum, stop_event.set)
        except (NotImplementedError, RuntimeError):  # not the main thread, or not supported here
            log.debug("no handler for %s", signum)


async def serve(
    database_url: str,
    transports: Mapping[str, Transport],
    *,
    notify_manager: NotifyManager | None = None,
    hours: outbox.SendHours | None = None,
    options: SenderOptions | None = None,
) -> DeliveryStats:
    """Run the sender until SIGTERM/SIGINT, stopping gracefully (for the launcher)."""
    stop = asyncio.Event()
    install_graceful_stop(stop)
    return await deliver(
        database_url, transports, stop_event=stop, notify_manager=notify_manager, hours=hours, options=options
    )


def transports_from(settings) -> dict[str, Transport]:
    """The channels this deployment can send on: Slack (staff) and Telegram (parents)."""
    found: dict[str, Transport] = {}
    from connectors.slack.config import sends as slack_sends

    if slack_sends(settings):  # SLACK_BOT_TOKEN, or several workspaces each with its own token
        from connectors.slack.transport import SlackTransport

        found["slack"] = SlackTransport.from_settings(settings)
    if settings.telegram_bot_token:
        from connectors.telegram.transport import TelegramTransport

        found["telegram"] = TelegramTransport(settings.telegram_bot_token, settings.telegram_api_url)
    return found


def main() -> int:
    """`python -m bot.sender`: deliver broadcasts until SIGTERM (the launcher starts it)."""
    from knowledge.shared.settings import get_settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = get_settings()
    transports = transports_from(settings)
    if not transports:
        print("Broadcast sender is off: neither Slack nor Telegram is configured.", file=sys.stderr)
        return 2
    notify = None
    from connectors.slack.config import sends as slack_sends

    if slack_sends(settings):
        from connectors.slack.notify import SlackNotifier

        notify = SlackNotifier(settings).dm
    asyncio.run(
        serve(
            settings.database_url,
            transports,
            notify_manager=notify,
            hours=outbox.SendHours.from_settings(settings),
            options=SenderOptions(tz=settings.timezone),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

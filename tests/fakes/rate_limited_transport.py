"""A fake channel that enforces rate limits the way Telegram's Bot API does, for tests and the bench.

`RateLimitedTransport` keeps the `knowledge.broadcasts.delivery.Transport` contract and records what it
delivered (address -> count, so duplicates and losses can be counted). Like Telegram it
answers "429 Too Many Requests" (`RateLimited(retry_after)`) when a sender goes faster than
`overall_per_second` in any one-second window or messages one chat more often than every
`per_address_interval_s`, and it keeps answering 429 until the retry-after has passed. Every
such answer that the sender caused is counted in `violations`; a well-behaved sender causes
none. On top of that it can be told to answer a few 429s anyway (`forced_429s`, counted in
`forced`), to fail some addresses for good (`permanent`, e.g. "Forbidden: bot was blocked by
the user") or a number of times (`temporary`).

A delivery is recorded only when the simulated call completes, so a send cancelled half-way
(a killed process) is not delivered, as with a request that never reached the server.

`VirtualClock` is a clock for the sender and this fake in unit tests: `sleep` lets the other
tasks run a few rounds, then moves virtual time forward to its deadline and returns, so tests of
pacing, 429 waits and retry back-off run in milliseconds. Time only ever moves forward and
every sleeper sleeps at least as long as it asked, so a sender that is polite in virtual
time is polite in real time too.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import Counter, defaultdict, deque
from typing import Awaitable, Callable, Iterable

from knowledge.broadcasts.delivery import PermanentFailure, RateLimited, TemporaryFailure

BLOCKED = "Forbidden: bot was blocked by the user"
CHAT_NOT_FOUND = "Bad Request: chat not found"


class VirtualClock:
    """`now()` (UTC), `monotonic()` and `sleep()` over virtual time starting at `start`."""

    def __init__(self, start: dt.datetime, rounds: int = 10) -> None:
        self.start = start
        self.rounds = rounds  # turns of the event loop given to other tasks before a sleep ends
        self.elapsed = 0.0
        self.slept: list[float] = []

    def now(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=self.elapsed)

    def monotonic(self) -> float:
        return self.elapsed

    async def sleep(self, seconds: float) -> None:
        """Let the other tasks run a few rounds, then jump to the deadline (if time is not past it).

        A sleep cancelled before that (the sleeper was only a timeout) does not move the clock.
        """
        deadline = self.elapsed + max(0.0, seconds)
        for _ in range(self.rounds):
            await asyncio.sleep(0)
        if seconds > 0:
            self.slept.append(seconds)
        self.elapsed = max(self.elapsed, deadline)

    def advance(self, seconds: float) -> None:
        self.elapsed += seconds


class RateLimitedTransport:
    """A Telegram-like channel: 30 messages a second overall, 1 a second per chat, 429 otherwise."""

    def __init__(
        self,
        *,
        channel: str = "telegram",
        overall_per_second: float = 30.0,
        per_address_interval_s: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        latency_s: float = 0.0,
        forced_429s: Iterable[int] = (),
        retry_after: float = 1.0,
        permanent: dict[str, str] | None = None,
        temporary: dict[str, int] | None = None,
        on_delivered: Callable[[str, int], None] | None = None,
    ) -> None:
        self.channel = channel
        self.overall_per_second = overall_per_second
        self.per_address_interval_s = per_address_interval_s
        self.monotonic = monotonic
        self.sleep = sleep
        self.latency_s = latency_s
        self.forced_429s = set(forced_429s)
        self.retry_after = retry_after
        self.permanent = dict(permanent or {})
        self.temporary = Counter(temporary or {})
        self.on_delivered = on_delivered
        self.delivered: Counter[str] = Counter()
        self.texts: dict[str, list[str]] = defaultdict(list)
        self.requests = 0
        self.forced = 0
        self.violations = 0
        self.accepted_at: list[float] = []
        self._window: deque[float] = deque()
        self._last_by_address: dict[str, float] = {}
        self._blocked_until = float("-inf")

    @classmethod
    def with_clock(cls, clock: VirtualClock, **kwargs) -> RateLimitedTransport:
        return cls(monotonic=clock.monotonic, sleep=clock.sleep, **kwargs)

    @property
    def rate_limited(self) -> int:
        return self.forced + self.violations

    async def send(self, address: str, text: str) -> None:
        now = self.monotonic()
        self.requests += 1
        self._check_limits(address, now)
        if address in self.permanent:
            raise PermanentFailure(self.permanent[address])
        if self.temporary[address] > 0:
            self.temporary[address] -= 1
            raise TemporaryFailure("Bad Gateway")
        self._window.append(now)
        self._last_by_address[address] = now
        self.accepted_at.append(now)
        if self.latency_s:
            await self.sleep(self.latency_s)
        self.delivered[address] += 1
        self.texts[address].append(text)
        if self.on_delivered is not None:
            self.on_delivered(address, sum(self.delivered.values()))

    def _check_limits(self, address: str, now: float) -> None:
        if now < self._blocked_until:
            self.violations += 1
            raise RateLimited(self._blocked_until - now)
        if self.requests in self.forced_429s:
            self.forced += 1
            self._blocked_until = now + self.retry_after
            raise RateLimited(self.retry_after)
        while self._window and self._window[0] <= now - 1.0:
            self._window.popleft()
        if len(self._window) >= self.overall_per_second:
            self.violations += 1
            self._blocked_until = self._window[0] + 1.0
            raise RateLimited(self._blocked_until - now)
        last = self._last_by_address.get(address)
        if last is not None and now - last < self.per_address_interval_s:
            self.violations += 1
            raise RateLimited(self.per_address_interval_s - (now - last))

    def duplicates(self) -> int:
        return sum(count - 1 for count in self.delivered.values() if count > 1)

    def lost(self, addresses: Iterable[str]) -> int:
        return sum(1 for address in addresses if self.delivered[address] == 0)

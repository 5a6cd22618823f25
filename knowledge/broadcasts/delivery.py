"""What a channel's sender (Telegram, Slack) reports back to the outbox.

A transport sends one text to one address and either returns (sent) or raises one of
these, so the outbox can decide: wait and try again, give up for good, or try later.
"""

from __future__ import annotations

from typing import Protocol


class RateLimited(Exception):
    """The service said "too many requests": wait `retry_after` seconds, then try again."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited, retry after {retry_after}s")
        self.retry_after = retry_after


class PermanentFailure(Exception):
    """This person can't be reached (blocked the bot, chat not found): don't try again."""


class TemporaryFailure(Exception):
    """A network or server error: try again later, a limited number of times."""


class Transport(Protocol):
    """Sends on one channel. `overall_per_second` and `per_address_interval_s` are its limits."""

    channel: str
    overall_per_second: float
    per_address_interval_s: float

    async def send(self, address: str, text: str) -> None: ...

"""Recognising a delivery Slack repeats, so the person is answered once.

Slack repeats an event when it got no ack within 3 seconds (or a 5xx): HTTP mode sends the
same body again with `X-Slack-Retry-Num` and `X-Slack-Retry-Reason`, Socket Mode a new
envelope with `retry_attempt` and `retry_reason` (bolt copies them into the same headers);
it tries three more times, the last about 5 minutes later. The repeat may arrive while the
first delivery is still waiting for Rasa. The connector acks every event at once, but a lost
ack still brings a repeat, so each message's `message_id` (`connectors.slack.incoming`) is
remembered for an hour when it is first taken on, and a delivery with a remembered id is
acked and not answered again: no second Rasa turn, no second post.

This memory is the connector's own (one process; `bot.prod` runs one Slack connector). After
a restart it is empty: a repeat then goes to Rasa with the same `message_id`, and the Rasa
side (`connectors.rasa.exactly_once`) answers it from the conversation instead of running the turn
again, and records a safeguarding concern once per `message_id`. Then the answer may be
posted twice (the first may or may not have been posted before the restart); better twice
than never.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence

KEEP_S = 3600.0  # Slack's last retry comes about 5 minutes after the first try
MOST = 20_000  # ids remembered at most, oldest forgotten first


class Recent:
    """The message ids taken on in the last `keep_s` seconds (one event loop, no lock needed)."""

    def __init__(self, keep_s: float = KEEP_S, most: int = MOST, clock: Callable[[], float] = time.monotonic):
        self.keep_s, self.most, self.clock = keep_s, most, clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first_time(self, message_id: str) -> bool:
        """True, and remembered, when this id was not taken on lately; False for a repeat."""
        now = self.clock()
        while self._seen and (
            len(self._seen) >= self.most or now - next(iter(self._seen.values())) > self.keep_s
        ):
            self._seen.popitem(last=False)
        if message_id in self._seen:
            return False
        self._seen[message_id] = now
        return True


def retry_of(headers: Mapping[str, Sequence[str]]) -> str:
    """How Slack says this delivery is a repeat ("retry 2, http_timeout"), or "" for a first."""
    number = (headers.get("x-slack-retry-num") or [""])[0]
    if not number or number == "0":
        return ""
    reason = (headers.get("x-slack-retry-reason") or [""])[0]
    reason = reason if reason.replace("_", "").isalnum() and len(reason) <= 40 else "unknown"
    return f"retry {int(number) if number.isdigit() else '?'}, {reason or 'no reason given'}"

"""No Slack message text in the logs, including slack-bolt's and slack_sdk's own log lines.

Read in the libraries (slack-bolt 1.30, slack_sdk 3.47), the lines that can carry what
someone wrote, and what becomes of them here:

- bolt's request verification (`RequestVerification._debug_log_error`, logger
  `slack_bolt.RequestVerification`) logs a refused request's whole body at INFO: the user id
  and the message. A clock skew or a rotated signing secret refuses every request, so every
  staff message would be logged. Rewritten to say only that a request was refused and the
  likely reason (WARNING: a run of them means Slack can't reach the bot).
- bolt's `IgnoringSelfEvents` logs the bot's own event at DEBUG: the event is dropped.
- bolt's app (`slack_bolt.AsyncApp`) logs a request body at WARNING when a global middleware
  neither answers nor calls `next()`: the body is dropped.
- slack_sdk's Web API clients log request and response bodies at DEBUG (the bot's replies,
  which can quote the person): only the method and URL, or the status, are kept.
- slack_sdk's Socket Mode client logs every envelope it receives at DEBUG
  (`Received message (type: ..., data: ...)`) and every ack it sends: only the frame type,
  or that a message was sent, is kept. The connector
  gives the Socket Mode client its own logger (`socket_logger`) for this.

The filters sit on those loggers, so they hold at every level, DEBUG included.
"""

from __future__ import annotations

import logging
import re
import time

from connectors.slack.config import api_logger

SOCKET_LOGGER = "connectors.slack.socket"
REFUSED_LOGGER = "slack_bolt.RequestVerification"
SIGNATURE_MAX_AGE_S = 300  # slack_sdk's SignatureVerifier refuses older (or newer) timestamps

_REFUSED = re.compile(
    r"Invalid request signature detected \(signature: (?P<sig>.*?), timestamp: (?P<ts>.*?), "
)


def refusal(message: str, now: float | None = None) -> str:
    """What to log for a refused request: the likely reason, never its content or headers."""
    found = _REFUSED.match(message)
    signature, stamp = (found.group("sig"), found.group("ts")) if found else ("", "")
    if not signature or not stamp.isdigit() or stamp == "0":
        return "Slack request refused: unsigned (no X-Slack-Signature or timestamp), so not from Slack"
    off = int(stamp) - int(time.time() if now is None else now)
    if abs(off) > SIGNATURE_MAX_AGE_S:
        return (
            f"Slack request refused: its timestamp is {off:+d} s from this server's clock (over "
            f"{SIGNATURE_MAX_AGE_S} s): an old request replayed, or check the server's clock (NTP)"
        )
    return (
        "Slack request refused: the signature does not match: not from Slack, or "
        "SLACK_SIGNING_SECRET is not the app's current signing secret"
    )


class RefusedRequestFilter(logging.Filter):
    """Turns bolt's "Invalid request signature detected (..., body: ...)" into `refusal()`."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = refusal(record.getMessage())
        record.args, record.exc_info, record.exc_text = None, None, None
        record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        return True


class KeepOnlyTheStart(logging.Filter):
    """Keeps the start of a library's log line (group `keep`) and drops what follows, which
    may hold message text; lines no pattern matches pass unchanged."""

    def __init__(self, *patterns: str) -> None:
        super().__init__()
        self.patterns = [re.compile(p, re.DOTALL) for p in patterns]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        for pattern in self.patterns:
            found = pattern.match(message)
            if found:
                record.msg, record.args = f"{found.group('keep')} (content not logged)", None
                break
        return True


WEB_API_LINES = (
    r"(?P<keep>Sending a request - url: [^,]*),",
    r"(?P<keep>Received the following response - status: \d+),",
)
SOCKET_LINES = (
    r"(?P<keep>Received message \(type: [^,]*),",
    r"(?P<keep>Sending a message):",  # acks, which could carry a reply
    r"(?P<keep>Failed to send a message) \(",
)
BOLT_APP_LINES = (r"(?P<keep>A global middleware .*? without providing a response for the request) \(",)
SELF_EVENT_LINES = (r"(?P<keep>Skipped self event):",)


def _add_once(logger: logging.Logger, made: logging.Filter) -> None:
    if not any(type(f) is type(made) for f in logger.filters):
        logger.addFilter(made)


def install() -> None:
    """Put the filters on the loggers that could carry message text (idempotent)."""
    _add_once(logging.getLogger(REFUSED_LOGGER), RefusedRequestFilter())
    _add_once(logging.getLogger("slack_bolt.IgnoringSelfEvents"), KeepOnlyTheStart(*SELF_EVENT_LINES))
    _add_once(logging.getLogger("slack_bolt.AsyncApp"), KeepOnlyTheStart(*BOLT_APP_LINES))
    _add_once(api_logger(), KeepOnlyTheStart(*WEB_API_LINES))
    _add_once(logging.getLogger(SOCKET_LOGGER), KeepOnlyTheStart(*SOCKET_LINES))


def socket_logger() -> logging.Logger:
    """The logger the Socket Mode client is given, so its DEBUG lines carry no envelopes."""
    install()
    return logging.getLogger(SOCKET_LOGGER)

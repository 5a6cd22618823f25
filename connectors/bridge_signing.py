"""Signing the messages our own connectors pass to Rasa, so staff identity can be trusted.

Rasa's REST channel accepts anything anyone posts, including a made-up `input_channel`
and metadata. Staff rights (booking, opening slots, the DSL's alerts) must only follow a
Slack user id that our Slack connector vouched for, so the connector signs each message
with a secret shared only with the Rasa server (the launcher makes a fresh one per run):

    X-Bridge-Timestamp: <unix seconds>
    X-Bridge-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>

The same shape as Slack's own request signing, with a five-minute window against replays.
"""

from __future__ import annotations

import hashlib
import hmac
import time

TOLERANCE_S = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = int(time.time() if now is None else now)
    return {
        "X-Bridge-Timestamp": str(timestamp),
        "X-Bridge-Signature": signature(secret, timestamp, body),
        "Content-Type": "application/json",
    }


def verify(
    secret: str, body: bytes, timestamp: str | None, given: str | None, now: float | None = None
) -> bool:
    """True only for a correctly signed, fresh request. An empty secret verifies nothing."""
    if not secret or not timestamp or not given:
        return False
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - ts) > TOLERANCE_S:
        return False
    return hmac.compare_digest(signature(secret, ts, body), given)

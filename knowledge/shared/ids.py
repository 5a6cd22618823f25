"""Personal data at the edges: what may be written to logs and records about a sender."""

from __future__ import annotations

import hashlib


def sender_ref(sender_id: object) -> str:
    """A short, stable reference for a sender: logs and records never hold the raw id or text."""
    return hashlib.sha256(str(sender_id).encode()).hexdigest()[:12]

"""Typed text kept as plain text on the channels that read markup."""

from __future__ import annotations


def slack_escape(text: str) -> str:
    """Escape the three characters Slack treats as markup, so typed text stays plain text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

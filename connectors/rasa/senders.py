"""Which conversation a message may reach: every channel owns its own sender ids.

A Rasa conversation (its tracker, what "what do you keep about me?" describes and what
erasure deletes) is found by its sender id alone, so a channel must never be able to name
another channel's conversation. Telegram chat ids and Slack user ids are not secrets.

| sender id | from |
|---|---|
| `slack-<team>-<user>` | the signed Slack bridge only (made by the Slack connector) |
| `telegram-<chat id>` | the signed Telegram bridge only (made by the Telegram connector) |
| `web-<sender>` | REST (`rest_sender`): the sender as sent, if 1 to 64 of `A-Z a-z 0-9 _ . @ : -` |
| `web-~<32 hex>` | REST (`rest_sender`): any other sender (its SHA-256), or none (random each time) |
| `web-page~<32 hex>` | the web page, socket.io (`new_page_conversation`): issued by the server, signed |

Every id the open channels make starts with `web-`, so it never equals a Slack or Telegram
id. A REST sender as sent never holds `~`, and every id the server makes itself does, so a
REST client cannot name a web page's conversation either. The web page never names its
sender: it holds a token `<32 hex>.<HMAC-SHA256 hex>` signed with a secret shared by every
Rasa server, and a token that does not verify gets a fresh conversation.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets

from knowledge.shared.settings import Settings

log = logging.getLogger(__name__)

WEB_PREFIX = "web-"
PAGE_PREFIX = "web-page~"
HASHED_PREFIX = "web-~"
CHANNEL_PREFIXES = {"slack": "slack-", "telegram": "telegram-"}  # the signed bridges' own ids

PLAIN_SENDER = re.compile(r"[A-Za-z0-9_.@:-]{1,64}")
CONVERSATION = re.compile(r"[0-9a-f]{32}")
PAGE_TOKEN = re.compile(r"([0-9a-f]{32})\.([0-9a-f]{64})")
_SIGNED_WHAT = b"web page conversation:"  # so a page token is never valid as any other signature

_fallback_secret = ""


def rest_sender(claimed: object) -> str:
    """The sender id of a REST message, whatever the client put in `sender`.

    A plain sender keeps its conversation readable (`web-parent-1`); an odd or huge one still
    keeps one conversation, under its hash. No sender at all is a conversation of its own
    (Rasa's default would put every such caller in one shared conversation).
    """
    text = "" if claimed is None else str(claimed)
    if not text:
        return HASHED_PREFIX + secrets.token_hex(16)
    if PLAIN_SENDER.fullmatch(text):
        return WEB_PREFIX + text
    return HASHED_PREFIX + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def belongs_to(channel: str, sender_id: object) -> bool:
    """True when `sender_id` is one of the signed bridge `channel`'s own ids (`slack-…` on Slack)."""
    prefix = CHANNEL_PREFIXES.get(channel)
    return (
        bool(prefix)
        and isinstance(sender_id, str)
        and len(sender_id) > len(prefix)
        and sender_id.startswith(prefix)
    )


def page_secret(settings: Settings) -> str:
    """The key that signs the web page's conversation ids: WEB_CONVERSATION_SECRET, else the
    bridge secret (both reach every Rasa server from the launcher). Without either (a Rasa
    server started by hand), one made for this process: pages then start afresh after a restart."""
    global _fallback_secret
    configured = settings.web_conversation_secret or settings.bridge_secret
    if configured:
        return configured
    if not _fallback_secret:
        _fallback_secret = secrets.token_hex(32)
        log.warning("no BRIDGE_SECRET or WEB_CONVERSATION_SECRET: web page conversations end at a restart")
    return _fallback_secret


def _signature(secret: str, conversation: str) -> str:
    return hmac.new(secret.encode(), _SIGNED_WHAT + conversation.encode(), hashlib.sha256).hexdigest()


def page_sender_of(conversation: str) -> str:
    """The sender id of the web page conversation `conversation` (32 hex characters)."""
    return PAGE_PREFIX + conversation


def new_page_conversation(secret: str) -> tuple[str, str]:
    """A fresh web page conversation: (its sender id, the signed token the page keeps)."""
    conversation = secrets.token_hex(16)
    return page_sender_of(conversation), f"{conversation}.{_signature(secret, conversation)}"


def page_sender(secret: str, token: object) -> str | None:
    """The sender id a page token stands for; None when it is missing, forged or tampered with."""
    if not secret or not isinstance(token, str):
        return None
    found = PAGE_TOKEN.fullmatch(token)
    if not found:
        return None
    conversation, given = found.groups()
    if not hmac.compare_digest(_signature(secret, conversation), given):
        return None
    return page_sender_of(conversation)

"""What a person said to the bot in one Slack event or click, and the `message_id` it goes by.

Anything that carries a person's words is passed on, because the Rasa side screens every
message for safeguarding before anything else: a plain message, the words typed with a
file (`subtype: file_share`), a thread reply also sent to the conversation
(`thread_broadcast`), a `/me` message, and an edit (`message_changed`, answered as a new
message with the new words). Posts by bots, joins, deletions and changes that add no words
(a link preview, Slack's language detection) are not.

The `message_id` names the message, not the delivery: Slack repeats an event it saw no ack
for, with the same `event_id` and the same body, so a key made from the message itself
(workspace, conversation, `ts`, and the edit's `ts`) is the same on every redelivery, even
after the connector restarted, and different for each post and each edit. Slack never sends
one post both as `message.im` and `app_mention` (mentions in a DM come only as `message.im`),
and a click's `trigger_id` and `action_ts` are new for every click. Ids are hashed, so the
logs and the tracker never see Slack user or channel ids through them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

# Message subtypes a person writes; every other subtype is Slack or an app talking.
SPOKEN_SUBTYPES = frozenset({None, "file_share", "thread_broadcast", "me_message"})


@dataclass(frozen=True)
class Written:
    """A person's own words in one message (new, or an edit), as the connector answers them."""

    user_id: str
    text: str
    has_files: bool  # told once that files can't be opened, after the words are screened
    message_id: str
    is_edit: bool = False


def message_id(kind: str, *parts: object) -> str:
    """A `message_id` for the Rasa bridge: stable for the same parts, opaque in logs."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:40]
    return f"slack-{kind}-{digest}"


def _by_a_person(message: dict[str, Any], bot_user_id: str | None) -> bool:
    user = message.get("user")
    return (
        message.get("subtype") in SPOKEN_SUBTYPES
        and not message.get("bot_id")
        and bool(user)
        and user != bot_user_id
    )


def written(event: dict[str, Any], team_id: str, bot_user_id: str | None) -> Written | None:
    """The words of a message or app_mention event, or None when no person wrote new words."""
    channel = str(event.get("channel") or "")
    if event.get("subtype") == "message_changed":
        return _edit(event, team_id, channel, bot_user_id)
    if not _by_a_person(event, bot_user_id):
        return None
    edited = (event.get("edited") or {}).get("ts")  # an app_mention can arrive for an edit
    return Written(
        user_id=str(event["user"]),
        text=str(event.get("text") or ""),
        has_files=bool(event.get("files")) or event.get("subtype") == "file_share",
        message_id=message_id("msg", team_id, channel, event.get("ts"), edited or ""),
        is_edit=bool(edited),
    )


def _edit(event: dict[str, Any], team_id: str, channel: str, bot_user_id: str | None) -> Written | None:
    """An edited message: new words are answered as a new message. A change with no `edited`
    mark or the same words (a link preview, language detection) is not an edit."""
    message = event.get("message") or {}
    previous = event.get("previous_message") or {}
    edited = (message.get("edited") or {}).get("ts")
    if not edited or not _by_a_person(message, bot_user_id):
        return None
    if "text" in previous and previous.get("text") == message.get("text"):
        return None
    return Written(
        user_id=str(message["user"]),
        text=str(message.get("text") or ""),
        has_files=False,  # the person was told about the files when they sent them
        message_id=message_id("msg", team_id, channel, message.get("ts"), edited),
        is_edit=True,
    )


def click_id(body: dict[str, Any]) -> str:
    """The `message_id` of a button click: the same for a redelivery, new for every click."""
    action = (body.get("actions") or [{}])[0]
    return message_id(
        "click",
        (body.get("team") or {}).get("id"),
        (body.get("user") or {}).get("id"),
        body.get("trigger_id"),
        action.get("action_id"),
        action.get("action_ts"),
    )

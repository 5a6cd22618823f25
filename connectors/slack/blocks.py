"""Rendering the bot's replies as Slack Block Kit, and reading button clicks back.

The actions speak a small channel-neutral language (text, buttons with Rasa payloads,
and a few custom payloads); this module is the only place that knows Block Kit:

- text            -> a section block (mrkdwn, escaped)
- buttons         -> an actions block, one button per choice, value = the Rasa payload
- custom `booking_options` -> a topic menu and an optional note field, placed above the
  slot buttons, so one click on a slot books it with the chosen topic
- custom `calendar_file`   -> an .ics file uploaded to the conversation
- custom `notify`          -> direct messages to other staff (e.g. a slot was blocked out)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

SECTION_LIMIT = 2900  # Slack allows 3,000 characters in a section's text
BUTTONS_PER_BLOCK = 25
BUTTON_LABEL_LIMIT = 75
BUTTON_ACTION_PREFIX = "rasa_button_"
TOPIC_BLOCK, TOPIC_ACTION = "booking_topic", "topic"
NOTE_BLOCK, NOTE_ACTION = "booking_note", "note"


@dataclass
class SlackPost:
    text: str  # the notification / screen-reader fallback
    blocks: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class CalendarFile:
    filename: str
    content: str
    title: str


@dataclass(frozen=True)
class Notification:
    user_id: str
    text: str


@dataclass
class Rendered:
    posts: list[SlackPost] = field(default_factory=list)
    files: list[CalendarFile] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)


def escape(text: str) -> str:
    """Slack's three control characters; everything else is shown as written."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _sections(text: str) -> list[dict[str, Any]]:
    blocks, rest = [], escape(text)
    while rest:
        cut = len(rest) if len(rest) <= SECTION_LIMIT else rest.rfind("\n", 0, SECTION_LIMIT)
        if cut <= 0:
            cut = SECTION_LIMIT
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": rest[:cut]}})
        rest = rest[cut:].lstrip("\n")
    return blocks


def _label(title: str) -> str:
    title = " ".join(str(title).split())
    return title if len(title) <= BUTTON_LABEL_LIMIT else title[: BUTTON_LABEL_LIMIT - 1] + "…"


def _button_blocks(buttons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    blocks = []
    for start in range(0, len(buttons), BUTTONS_PER_BLOCK):
        elements = [
            {
                "type": "button",
                "action_id": f"{BUTTON_ACTION_PREFIX}{start + i}",
                "text": {"type": "plain_text", "text": _label(b.get("title", "")), "emoji": True},
                "value": str(b.get("payload", ""))[:2000],
            }
            for i, b in enumerate(buttons[start : start + BUTTONS_PER_BLOCK])
        ]
        blocks.append({"type": "actions", "block_id": f"choices_{start}", "elements": elements})
    return blocks


def _booking_inputs(options: dict[str, Any]) -> list[dict[str, Any]]:
    topics = [
        {"text": {"type": "plain_text", "text": _label(t["label"])}, "value": str(t["value"])}
        for t in options.get("topics", [])
    ]
    return [
        {
            "type": "input",
            "block_id": TOPIC_BLOCK,
            "label": {"type": "plain_text", "text": "What is it about?"},
            "element": {
                "type": "static_select",
                "action_id": TOPIC_ACTION,
                "placeholder": {"type": "plain_text", "text": "Choose a topic"},
                "options": topics,
            },
        },
        {
            "type": "input",
            "block_id": NOTE_BLOCK,
            "optional": True,
            "label": {"type": "plain_text", "text": "Note for the SENCo"},
            "hint": {"type": "plain_text", "text": str(options.get("note_hint", ""))[:150]},
            "element": {
                "type": "plain_text_input",
                "action_id": NOTE_ACTION,
                "max_length": int(options.get("note_max", 200)),
            },
        },
    ]


def render(messages: list[dict[str, Any]]) -> Rendered:
    """Turn Rasa's reply messages into Slack posts, files and notifications."""
    out = Rendered()
    for message in messages:
        custom = message.get("custom") if isinstance(message.get("custom"), dict) else {}
        if message.get("text") or message.get("buttons"):
            text = str(message.get("text") or "")
            blocks = _sections(text) + _button_blocks(message.get("buttons") or [])
            out.posts.append(SlackPost(text=text[:3000], blocks=blocks))
        if "booking_options" in custom and out.posts:
            post = out.posts[-1]
            first_actions = next((i for i, b in enumerate(post.blocks) if b["type"] == "actions"), None)
            at = len(post.blocks) if first_actions is None else first_actions
            post.blocks[at:at] = _booking_inputs(custom["booking_options"])
        if "calendar_file" in custom:
            f = custom["calendar_file"]
            out.files.append(CalendarFile(str(f["filename"]), str(f["content"]), str(f.get("title", ""))))
        for note in custom.get("notify") or ():
            out.notifications.append(Notification(str(note["slack_user_id"]), str(note["text"])))
    return out


def clicked_payload(body: dict[str, Any]) -> str:
    """The Rasa payload of a clicked button, with the topic and note chosen above it.

    Only a `/intent{...}` payload gets the extra entities; the topic and note are read
    from the message's own inputs (Slack sends their state with the click).
    """
    action = (body.get("actions") or [{}])[0]
    payload = str(action.get("value") or "")
    values = (body.get("state") or {}).get("values") or {}
    topic = ((values.get(TOPIC_BLOCK) or {}).get(TOPIC_ACTION) or {}).get("selected_option") or {}
    note = ((values.get(NOTE_BLOCK) or {}).get(NOTE_ACTION) or {}).get("value")
    extra = {}
    if topic.get("value"):
        extra["topic"] = topic["value"]
    if note:
        extra["note"] = note
    if not extra or not payload.startswith("/"):
        return payload
    name, brace, rest = payload.partition("{")
    try:
        entities = json.loads(brace + rest) if brace else {}
    except ValueError:
        return payload
    return name + json.dumps({**entities, **extra}, ensure_ascii=False)

"""What the bot says, in any capability: text, buttons and channel-neutral payloads.

Plain data, no Rasa and no channel: `actions/` turns a Reply into Rasa's messages, and each
connector renders it (Slack Block Kit, Telegram inline keyboards, the web page's buttons).
"""

from __future__ import annotations

from dataclasses import dataclass, field

YES, NO = "yes", "no"


@dataclass(frozen=True)
class Button:
    """A button. `answers` marks the two buttons of a yes/no question ("Yes, cancel it"), so
    that a person who types "yes" or "no" instead of clicking gets what the button does."""

    title: str
    payload: str
    answers: str | None = None  # YES or NO

    def as_dict(self) -> dict:
        return {"title": self.title, "payload": self.payload}


@dataclass(frozen=True)
class Reply:
    """What the bot says: text, buttons, and channel-neutral custom payloads (a topic menu
    for a booking, a calendar file, messages to other staff) that a connector renders."""

    text: str
    buttons: tuple[Button, ...] = field(default_factory=tuple)
    custom: tuple[dict, ...] = field(default_factory=tuple)


def typed_answers(reply: Reply) -> dict[str, str]:
    """{"yes": payload, "no": payload} of a yes/no question's buttons; empty for any other reply."""
    return {b.answers: b.payload for b in reply.buttons if b.answers in (YES, NO)}

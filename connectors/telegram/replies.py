"""What the Telegram connector says, and how Rasa's replies become Telegram messages.

Everything is sent as plain text (no parse_mode), so nothing a reply contains is read as
HTML or Markdown. Rasa's buttons become an inline keyboard, one button per row. A
button's callback_data may hold at most 64 bytes, so a longer Rasa payload is kept in
memory under a short per-chat key, and the key is what Telegram carries.

The connector's own texts (privacy notice, reminders question, choosing year groups and
kinds of reminder, /reminders, /help, /stop) live here too, so they can be read and
changed in one place.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from connectors.telegram import reminder_menus as menus
from connectors.telegram.reminder_menus import MENU
from knowledge.broadcasts.parent_chats import INTERESTS, YEAR_GROUPS, ReminderSettings
from knowledge.schools.profile import SchoolProfile

TEXT_LIMIT = 4096  # Telegram's longest message
CALLBACK_DATA_LIMIT = 64  # bytes
BUTTON_LABEL_LIMIT = 64
OPT_IN_PREFIX = "optin:"
OPT_IN_YES, OPT_IN_NO = f"{OPT_IN_PREFIX}yes", f"{OPT_IN_PREFIX}no"
KEY_PREFIX = "k#"

HELP = (
    "Here's what I can do:\n"
    "• answer questions about SEND: SEN support, EHCPs, deadlines and appeals\n"
    "• find services near you in the local offer\n"
    "• tell you how to contact our SENCo\n"
    "• send you the SENCo's reminders: /start to turn them on, /reminders to choose which ones, "
    "/stop to turn them off"
)
OPTED_IN = (
    "Thank you: you'll get the SENCo's reminders here. "
    'To stop them at any time, send /stop or "stop reminders".\n'
    "You can ask me a question about SEND whenever you like."
)
NO_THANKS = (
    "That's fine: you won't get reminders. If you change your mind, send /start.\n"
    "You can ask me a question about SEND whenever you like."
)
BUTTON_EXPIRED = "Sorry, that button has expired. Please ask your question again."
CANT_OPEN_FILES = "Sorry, I can't open files, photos or voice messages. Please type your question."
FILE_NOT_OPENED = (
    "I can't open files, photos or voice messages, so I have only read the words you sent with it."
)
ANSWERED_PRIVATELY = (
    "You wrote to me in a group chat. I only answer in a private chat, "
    "so here is my reply, where only you can see it."
)
SOMETHING_WENT_WRONG = "Sorry, something went wrong on my side. Please try again in a minute."
CHOOSE = "Please choose:"
MENU_OUT_OF_DATE = (
    "Sorry, those buttons are out of date. Send /reminders to see your choices and change them."
)
NOT_GETTING_REMINDERS = (
    "You're not getting the SENCo's reminders at the moment, so there's nothing to choose. "
    "Send /start if you'd like them."
)
NOTHING_CHANGED = "OK, nothing has changed. Send /reminders whenever you'd like to change it."
TICK = "\u2713"  # ✓, a text character (not an emoji): "check mark" to a screen reader
STEP_WORDS = {
    # step: (what is chosen, the question, one of them, all of them, none chosen means)
    YEAR_GROUPS: (
        "Year groups",
        "Which year groups would you like reminders for?",
        "a year group",
        "All year groups",
        "all year groups",
    ),
    INTERESTS: (
        "Kinds of reminder",
        "Which kinds of reminder would you like?",
        "one",
        "All kinds",
        "all kinds",
    ),
}


@dataclass(frozen=True)
class Outgoing:
    """One Telegram message: plain text, and an inline keyboard if there are choices."""

    text: str
    keyboard: InlineKeyboardMarkup | None = None


# A trust's bot, reached without a school's link: every answer needs the school's own people.
USE_YOUR_SCHOOLS_LINK = (
    "Hello. This assistant answers for several schools, and I don't know which one is yours yet. "
    "Please open the Telegram link on your school's website: it tells me your school. "
    "If you are worried about a child's safety, call 999 in an emergency or the NSPCC on 0808 800 5000."
)


def private_only(bot_username: str | None) -> str:
    """What a group is told. Always these same words, whatever was written there and by
    whom, so they reveal nothing about anybody's message."""
    where = f": https://t.me/{bot_username}" if bot_username else "."
    return f"Sorry, I only work in a private chat. Please message me directly instead of in a group{where}"


def privacy_notice(profile: SchoolProfile, retention_days: int) -> str:
    """The two lines shown on a chat's first contact."""
    where = (
        f"The school's privacy notice: {profile.privacy_notice_url}"
        if profile.privacy_notice_url
        else "Ask the school office for the school's privacy notice."
    )
    return (
        f"I'm the SEND assistant for {profile.name}, an automated helper, not a person. "
        "I never need your child's name, date of birth or diagnosis, so please don't type them.\n"
        f"Conversations are deleted after {retention_days} days. {where}"
    )


def reminders_question(opted_in: bool) -> Outgoing:
    ask = (
        "You're getting the SENCo's reminders. Would you like to keep them?"
        if opted_in
        else "Would you like reminders from the SENCo about parent workshops, coffee mornings "
        "and consultation events?"
    )
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton("Yes please", callback_data=OPT_IN_YES),
          InlineKeyboardButton("No thanks", callback_data=OPT_IN_NO)]]
    )  # fmt: skip
    return Outgoing(ask, keyboard)


def _listed(names: tuple[str, ...] | list[str], when_none: str) -> str:
    names = list(names)
    if not names:
        return when_none
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def choice_step(step: str, options: tuple[str, ...], ticked: list[str]) -> Outgoing:
    """One list to choose from: toggles (ticked ones marked), then All / Done / Skip.

    The text says what is ticked too, so the keyboard's state never depends on seeing the ticks.
    """
    _, question, one, all_label, everything = STEP_WORDS[step]
    now = _listed(ticked, f"none, so you'd get reminders for {everything}")
    text = (
        f"{question} You can choose more than one, or skip this.\n"
        f"Tap {one} to tick it, tap it again to untick it, then tap Done.\n"
        f"Ticked now: {now}."
    )
    buttons = [
        InlineKeyboardButton(
            f"{TICK} {name}" if name in ticked else name, callback_data=menus.toggle_data(step, name)
        )
        for name in options
    ]
    per_row = 2 if step == YEAR_GROUPS else 1  # year groups are short; kinds of reminder may not be
    rows = [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]
    rows.append([InlineKeyboardButton(all_label, callback_data=menus.action_data(step, menus.ALL))])
    rows.append(
        [
            InlineKeyboardButton("Done", callback_data=menus.action_data(step, menus.DONE)),
            InlineKeyboardButton("Skip", callback_data=menus.action_data(step, menus.SKIP)),
        ]
    )
    return Outgoing(text, InlineKeyboardMarkup(rows))


def toggled(name: str, ticked: bool) -> str:
    """The short note Telegram shows when a toggle is tapped."""
    return f"{name}: ticked" if ticked else f"{name}: unticked"


def step_record(step: str, stored: tuple[str, ...]) -> str:
    """What a finished list's message is changed to: the choice, in words, without buttons."""
    what, *_, everything = STEP_WORDS[step]
    return f"{what}: {_listed(stored, everything)}."


def _choice_lines(settings: ReminderSettings) -> list[str]:
    return [
        step_record(step, settings.chosen(step))
        for step in (YEAR_GROUPS, INTERESTS)
        if settings.options(step)
    ]


def all_set(settings: ReminderSettings) -> str:
    """After the last list: what they'll get, and how to change or stop it."""
    return "\n".join(
        [
            "All set. You'll get the SENCo's reminders for:",
            *_choice_lines(settings),
            'To change this, send /reminders. To stop reminders, send /stop or "stop reminders".',
        ]
    )


def reminder_settings(settings: ReminderSettings) -> Outgoing:
    """/reminders: what they get and the ways to change it; or, if they get none, the offer."""
    if not settings.opted_in:
        question = reminders_question(False)
        return Outgoing(
            f"You're not getting the SENCo's reminders at the moment.\n{question.text}", question.keyboard
        )
    rows = []
    if settings.year_group_options:
        rows.append(
            [
                InlineKeyboardButton(
                    "Change year groups", callback_data=menus.action_data(MENU, menus.CHANGE_YEAR_GROUPS)
                )
            ]
        )
    if settings.interest_options:
        rows.append(
            [
                InlineKeyboardButton(
                    "Change kinds of reminder", callback_data=menus.action_data(MENU, menus.CHANGE_INTERESTS)
                )
            ]
        )
    rows.append([InlineKeyboardButton("Stop reminders", callback_data=menus.action_data(MENU, menus.STOP))])
    rows.append([InlineKeyboardButton("Keep as it is", callback_data=menus.action_data(MENU, menus.KEEP))])
    changes = " or ".join(
        what
        for what, offered in (
            ("your year groups", settings.year_group_options),
            ("kinds of reminder", settings.interest_options),
        )
        if offered
    )
    change = (
        f"You can change {changes}, stop reminders, or keep it as it is."
        if changes
        else ("You can stop reminders, or keep them as they are.")
    )
    text = "\n".join(["You're getting the SENCo's reminders.", *_choice_lines(settings), change])
    return Outgoing(text, InlineKeyboardMarkup(rows))


def stopped(was_opted_in: bool) -> str:
    if was_opted_in:
        return "Done: you won't get any more reminders from the SENCo. Send /start if you'd like them again."
    return "You're not getting reminders from the SENCo, so there's nothing to stop. Send /start to get them."


class ButtonPayloads:
    """Rasa payloads too long for callback_data, by short key, per chat, in memory.

    Bounded (the newest `per_chat` payloads of the newest `chats` chats): a press on a
    button older than that, or from before a restart, gets `None` and a polite "expired".
    """

    def __init__(self, per_chat: int = 100, chats: int = 10_000) -> None:
        self.per_chat, self.chats = per_chat, chats
        self._by_chat: OrderedDict[int, OrderedDict[str, str]] = OrderedDict()
        self._next = 0

    def data_for(self, chat_id: int, payload: str) -> str:
        """The callback_data for a button: the payload itself when it fits and can't be mistaken."""
        fits = 0 < len(payload.encode()) <= CALLBACK_DATA_LIMIT
        if fits and not payload.startswith((KEY_PREFIX, OPT_IN_PREFIX, menus.PREFIX)):
            return payload
        self._next += 1
        key = f"{KEY_PREFIX}{self._next}"
        keys = self._by_chat.setdefault(chat_id, OrderedDict())
        self._by_chat.move_to_end(chat_id)
        keys[key] = payload
        while len(keys) > self.per_chat:
            keys.popitem(last=False)
        while len(self._by_chat) > self.chats:
            self._by_chat.popitem(last=False)
        return key

    def payload_for(self, chat_id: int, data: str) -> str | None:
        """The Rasa payload a pressed button stands for; None for a key that is no longer known."""
        if not data.startswith(KEY_PREFIX):
            return data
        return self._by_chat.get(chat_id, {}).get(data)


def _label(title: Any) -> str:
    title = " ".join(str(title).split())
    return title if len(title) <= BUTTON_LABEL_LIMIT else title[: BUTTON_LABEL_LIMIT - 1] + "…"


def _keyboard(buttons: list[Any], chat_id: int, payloads: ButtonPayloads) -> InlineKeyboardMarkup | None:
    rows = []
    for button in buttons:
        if not isinstance(button, dict):
            continue
        title = _label(button.get("title") or button.get("payload") or "")
        payload = str(button.get("payload") or button.get("title") or "")
        if title and payload:
            rows.append([InlineKeyboardButton(title, callback_data=payloads.data_for(chat_id, payload))])
    return InlineKeyboardMarkup(rows) if rows else None


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Text cut into messages Telegram accepts, at line breaks where possible."""
    parts, rest = [], text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        cut = cut if cut > 0 else limit
        parts.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    return [*parts, rest] if rest.strip() else parts


def render(messages: list[dict[str, Any]], chat_id: int, payloads: ButtonPayloads) -> list[Outgoing]:
    """Rasa's replies as Telegram messages: text, with buttons under the last part.

    Custom payloads are not for parents (a `calendar_file` is staff-only), so they are left out.
    """
    out: list[Outgoing] = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        parts = split_text(str(message.get("text") or ""))
        keyboard = _keyboard(message.get("buttons") or [], chat_id, payloads)
        if keyboard is not None and not parts:
            parts = [CHOOSE]
        out.extend(Outgoing(part) for part in parts[:-1])
        if parts:
            out.append(Outgoing(parts[-1], keyboard))
    return out

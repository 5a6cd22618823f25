"""Choosing year groups and kinds of reminder on Telegram: the buttons' data and the open menus.

After a parent opts in (or sends /reminders) they may narrow the SENCo's reminders to some
year groups and some kinds of reminder, from the lists in the school profile
(`reminders.year_groups`, `reminders.interests`). Each list is one message with an inline
keyboard of toggles; ticks are kept here, in memory, until the parent taps Done, and only
then stored (`knowledge.broadcasts.subscribers.choose`).

Each chat has at most one open menu, tied to the message its buttons are under. A press on
any other message's buttons (an old menu, one from before a restart or before /stop) is
stale: the parent is told so kindly and nothing changes. The "Would you like reminders?"
question is an open menu too (`QUESTION`), so a typed "yes please" or "no thanks" answers
it while it is the chat's open one. A button names a choice by a
short hash of its name, so callback_data stays far below Telegram's 64 bytes whatever the
school calls its year groups, and a name the school has since removed is simply unknown.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field

from knowledge.broadcasts.parent_chats import INTERESTS, STEPS, YEAR_GROUPS

PREFIX = "rem:"
MENU = "m"
QUESTION = "q"  # the opt-in question (its buttons are replies.OPT_IN_YES / OPT_IN_NO, not ours)
# In callback data a list is one letter, so a button's data stays far below 64 bytes.
CODES = {YEAR_GROUPS: "y", INTERESTS: "i"}
STEP_OF_CODE = {code: step for step, code in CODES.items()}
TOGGLE = "t"
ALL, DONE, SKIP = "all", "done", "skip"
CHANGE_YEAR_GROUPS, CHANGE_INTERESTS, STOP, KEEP = YEAR_GROUPS, INTERESTS, "stop", "keep"
MENU_ACTIONS = (CHANGE_YEAR_GROUPS, CHANGE_INTERESTS, STOP, KEEP)
STEP_ACTIONS = (ALL, DONE, SKIP)
MENU_ACTION_OF_CODE = {CODES.get(action, action): action for action in MENU_ACTIONS}


def key(name: str) -> str:
    """A short, stable stand-in for a year group or interest in callback_data."""
    return hashlib.sha256(name.encode()).hexdigest()[:8]


def _code(name: str) -> str:
    """A list's letter in callback data; MENU and the actions are written as they are."""
    return CODES.get(name, name)


def toggle_data(step: str, name: str) -> str:
    return f"{PREFIX}{_code(step)}:{TOGGLE}:{key(name)}"


def action_data(step: str, action: str) -> str:
    return f"{PREFIX}{_code(step)}:{_code(action)}"


@dataclass(frozen=True)
class Press:
    step: str  # MENU, YEAR_GROUPS or INTERESTS
    action: str  # TOGGLE, one of STEP_ACTIONS, or one of MENU_ACTIONS
    key: str = ""


def parse(data: str | None) -> Press | None:
    """The press a button's data stands for; None for anything we never sent."""
    parts = (data or "").split(":")
    if len(parts) < 3 or f"{parts[0]}:" != PREFIX:
        return None
    code, action, rest = parts[1], parts[2], parts[3:]
    if code == MENU and action in MENU_ACTION_OF_CODE and not rest:
        return Press(MENU, MENU_ACTION_OF_CODE[action])
    step = STEP_OF_CODE.get(code)
    if step in STEPS and action in STEP_ACTIONS and not rest:
        return Press(step, action)
    if step in STEPS and action == TOGGLE and len(rest) == 1 and rest[0]:
        return Press(step, action, rest[0])
    return None


def named(options: tuple[str, ...], wanted_key: str) -> str | None:
    """The option a toggle's key stands for, if the school still offers it."""
    return next((name for name in options if key(name) == wanted_key), None)


@dataclass
class Menu:
    """The open menu of one chat: the message its buttons are under, and the ticks so far."""

    message_id: int
    step: str
    chosen: list[str] = field(default_factory=list)
    then: str | None = None  # the step that follows when this one is finished; None ends

    def toggle(self, name: str, options: tuple[str, ...]) -> bool:
        """Tick or untick `name`; True when it is now ticked. Ticks stay in the school's order."""
        ticked = name not in self.chosen
        now = set(self.chosen) ^ {name}
        self.chosen = [option for option in options if option in now]
        return ticked


class Menus:
    """The open menu per chat, in memory, for the newest `chats` chats (older ones go stale)."""

    def __init__(self, chats: int = 10_000) -> None:
        self.chats = chats
        self._by_chat: OrderedDict[int, Menu] = OrderedDict()

    def open(self, chat_id: int, menu: Menu) -> Menu:
        self._by_chat[chat_id] = menu
        self._by_chat.move_to_end(chat_id)
        while len(self._by_chat) > self.chats:
            self._by_chat.popitem(last=False)
        return menu

    def current(self, chat_id: int, message_id: int | None, step: str) -> Menu | None:
        """The open menu if the press came from its message and its step; None when stale."""
        menu = self._by_chat.get(chat_id)
        if menu is None or menu.message_id != message_id or menu.step != step:
            return None
        return menu

    def question(self, chat_id: int) -> Menu | None:
        """The opt-in question, if it is the chat's open menu."""
        menu = self._by_chat.get(chat_id)
        return menu if menu is not None and menu.step == QUESTION else None

    def close(self, chat_id: int) -> None:
        self._by_chat.pop(chat_id, None)

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

PREFIX = "rem:"
MENU, YEAR_GROUPS, INTERESTS = "m", "y", "i"
QUESTION = "q"  # the opt-in question (its buttons are replies.OPT_IN_YES / OPT_IN_NO, not ours)
STEPS = (YEAR_GROUPS, INTERESTS)
TOGGLE = "t"
ALL, DONE, SKIP = "all", "done", "skip"
CHANGE_YEAR_GROUPS, CHANGE_INTERESTS, STOP, KEEP = YEAR_GROUPS, INTERESTS, "stop", "keep"
MENU_ACTIONS = (CHANGE_YEAR_GROUPS, CHANGE_INTERESTS, STOP, KEEP)
STEP_ACTIONS = (ALL, DONE, SKIP)


@dataclass(frozen=True)
class ReminderSettings:
    """A parent's reminder choices, with what the school lets them choose from."""

    opted_in: bool
    year_groups: tuple[str, ...] = ()  # () = all year groups
    interests: tuple[str, ...] = ()  # () = every kind
    year_group_options: tuple[str, ...] = ()
    interest_options: tuple[str, ...] = ()

    def options(self, step: str) -> tuple[str, ...]:
        return self.year_group_options if step == YEAR_GROUPS else self.interest_options

    def chosen(self, step: str) -> tuple[str, ...]:
        """What is stored for `step`, as far as the school still offers it, in the school's order."""
        stored = set(self.year_groups if step == YEAR_GROUPS else self.interests)
        return tuple(name for name in self.options(step) if name in stored)

    def first_step(self) -> str | None:
        return next((step for step in STEPS if self.options(step)), None)

    def step_after(self, step: str) -> str | None:
        return INTERESTS if step == YEAR_GROUPS and self.interest_options else None


def key(name: str) -> str:
    """A short, stable stand-in for a year group or interest in callback_data."""
    return hashlib.sha256(name.encode()).hexdigest()[:8]


def toggle_data(step: str, name: str) -> str:
    return f"{PREFIX}{step}:{TOGGLE}:{key(name)}"


def action_data(step: str, action: str) -> str:
    return f"{PREFIX}{step}:{action}"


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
    step, action, rest = parts[1], parts[2], parts[3:]
    if step == MENU and action in MENU_ACTIONS and not rest:
        return Press(step, action)
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

"""What an incoming Telegram update carries: its delivery key, its words, a plain yes or no.

**Delivery key.** Telegram delivers an update again, with the same contents, when a webhook
answer was late or failed, and getUpdates returns it again when the connector restarted
before confirming the offset. So the key that makes a repeat harmless is built from
Telegram's own ids, never from anything made per delivery. It is the `message_id` the
Rasa bridge gets (`connectors.rasa.exactly_once` answers a repeat from the tracker and the
safeguarding screen records a concern once per id), and the key under which the connector
remembers the updates it has finished (`HandledUpdates`):

- a message: bot, chat and message id, `telegram-<bot>-<chat>-<message>`. Telegram never
  reuses a message id within a chat. The bot is part of it because a school that changes
  its bot gets fresh message numbers while a parent's chat id stays the same;
- an edit: the message's key plus the update id, `…-edit-<update>`. An edit keeps its
  message id, but each edit is a new update: screened and answered as a new message;
- a button press: the callback query's own id, `telegram-<bot>-callback-<query id>`.

The update id alone would not do: another bot counts from its own number, and Telegram
starts from a random one after a week without updates, so an old id could come back and
a new message be taken for an old one (and a disclosure in it go unrecorded).
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram import Message, Update

PREFIX = "telegram"
COMMAND = re.compile(r"^/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?")
DEEP_LINK = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # what t.me/<bot>?start=<payload> may carry


def delivery_key(update: Update, bot_id: int) -> str:
    """The id that stays the same when Telegram delivers this update again (see above)."""
    if update.callback_query is not None:
        return f"{PREFIX}-{bot_id}-callback-{update.callback_query.id}"
    message = update.message or update.edited_message
    if message is None:
        return f"{PREFIX}-{bot_id}-update-{update.update_id}"
    key = f"{PREFIX}-{bot_id}-{message.chat.id}-{message.message_id}"
    return f"{key}-edit-{update.update_id}" if update.edited_message is not None else key


def words_of(message: Message | None) -> str | None:
    """Everything a person wrote in a message: its text, a file's caption, a poll's question
    and options. None when it carries no words (a photo alone, a sticker)."""
    if message is None:
        return None
    parts = [message.text or message.caption or ""]
    if message.poll is not None:
        parts += [message.poll.question, *(option.text for option in message.poll.options)]
    words = "\n".join(part for part in parts if part and part.strip())
    return words or None


def after_command(text: str, *, deep_link: bool = False) -> str | None:
    """The words written after a leading /command (or the text itself, if it has none).

    `deep_link`: /start's single link word (a school's ref) is not something to read.
    """
    match = COMMAND.match(text)
    rest = text[match.end() :].strip() if match else text.strip()
    if not rest or (deep_link and match and DEEP_LINK.match(rest)):
        return None
    return rest


# Plain answers to the connector's own "Would you like reminders?". A short closed list:
# anything longer or different ("yes but…", "no, my son…") is a message for Rasa, and so is
# screened. Nothing in these lists can carry a concern, so they need no screen of their own.
YES = frozenset(
    {
        "yes", "yes please", "yes pls", "yes plz", "yes thanks", "yes thank you", "yes ok",
        "yes okay", "yes i would", "yes go on", "yeah", "yeah please", "yeah go on", "yep", "yup",
        "ya", "y", "sure", "sure thing", "ok", "okay", "ok please", "ok thanks", "okay thanks",
        "go on", "go on then", "please do", "definitely", "absolutely", "of course", "i would",
        "alright", "all right", "sounds good", "i'd like that", "yes i'd like that",
        "i would like that", "yes i would like that",
    }
)  # fmt: skip
NO = frozenset(
    {
        "no", "no thanks", "no thank you", "no thankyou", "no ta", "no thanks not now", "nope",
        "nah", "nah thanks", "n", "not now", "not now thanks", "not now thank you", "no not now",
        "not at the moment", "not right now", "not yet", "not for now", "maybe later",
        "no i wouldn't", "no i would not", "i'm ok thanks", "i'm fine thanks", "no need",
    }
)  # fmt: skip
NOT_A_LETTER = re.compile(r"[^\w\s']+")


def yes_or_no(text: str | None) -> bool | None:
    """True for a plain yes, False for a plain no, None for anything else."""
    if not text:
        return None
    plain = " ".join(NOT_A_LETTER.sub(" ", text.replace("\u2019", "'").lower()).split())
    if not plain:  # only symbols: a thumbs up or down is an answer too
        thumbs = ("\N{THUMBS UP SIGN}" in text, "\N{THUMBS DOWN SIGN}" in text)
        return {(True, False): True, (False, True): False}.get(thumbs)
    if plain in YES:
        return True
    if plain in NO:
        return False
    return None


class ChatLocks:
    """One lock per chat while anything is waiting on it, so one chat's updates run in order."""

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}
        self._holders: Counter[int] = Counter()

    @asynccontextmanager
    async def hold(self, chat_id: int) -> AsyncIterator[None]:
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        self._holders[chat_id] += 1
        try:
            async with lock:
                yield
        finally:
            self._holders[chat_id] -= 1
            if not self._holders[chat_id]:
                del self._holders[chat_id], self._locks[chat_id]

"""The python-telegram-bot Application: parents' messages in, Rasa's replies out.

Handler style follows PTB's `examples/`: small async handlers, `answer()` a callback query
first. Reminder choices (/start, /stop, "stop reminders", /reminders, a typed yes or no to
the reminders question, and the year groups and kinds of reminder offered after opting in,
see `reminder_menus`) are handled here and never reach Rasa; everything else that carries
words (text, an edit, a file's caption, words after a command) goes to Rasa's signed bridge
as sender `telegram-<chat id>`, where the safeguarding screen runs first.

Only private chats are answered, because what a parent asks about their child is nobody
else's business. A group message is still screened, as its writer's own message
(`screen_only`: Rasa answers nothing unless it is a concern); a concern is answered in a
private message, or, if Telegram won't let the bot write first, the group gets only the
same pointer to a private chat that each group is shown once.

Every update runs once, however often Telegram delivers it (`incoming.delivery_key`,
`incoming.HandledUpdates`). Updates are handled concurrently across chats but one at a
time within a chat, so a parent's replies always come back in the order they asked.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import warnings
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session
from telegram import Bot, CallbackQuery, Chat, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatAction, ChatType
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from connectors.bridge_client import UNAVAILABLE, RasaClient
from connectors.telegram import incoming, reminder_menus, replies
from connectors.telegram.incoming import HandledUpdates
from connectors.telegram.reminder_menus import MENU, QUESTION, Menu, Menus, ReminderSettings
from connectors.telegram.replies import ButtonPayloads, Outgoing
from knowledge.broadcasts import subscribers
from knowledge.schools.profile import SchoolProfile, read_profile
from knowledge.schools.tenancy import parent_school, school_exists
from knowledge.shared.db import unit_of_work
from knowledge.shared.ids import sender_ref

log = logging.getLogger(__name__)

CHANNEL = "telegram"
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
CONCURRENT_UPDATES = 64
TYPING_EVERY_S = 4.5  # Telegram shows "typing…" for about 5 s
SEND_ATTEMPTS = 3
LONGEST_WAIT_S = 30.0
STOP_WORDS = re.compile(r"^\s*(stop reminders|unsubscribe)\s*[.!]?\s*$", re.IGNORECASE)

PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGES  # new and edited
GROUPS = filters.ChatType.GROUPS & filters.UpdateType.MESSAGES


def sender_id(chat_id: int) -> str:
    return f"{CHANNEL}-{chat_id}"


def seconds(value: int | float | timedelta) -> float:
    """A Telegram time period (PTB gives int or timedelta, depending on PTB_TIMEDELTA)."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def retry_after_s(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB warns that the type of retry_after will change
        warnings.simplefilter("ignore")
        return seconds(error.retry_after)


@dataclass(frozen=True)
class Welcome:
    notice: str | None  # the privacy notice, on first contact only
    opted_in: bool
    school: str | None = None  # None: a trust's bot, and no school's link used yet


NO_SCHOOL = ReminderSettings(False, (), (), (), ())


class Parents:
    """First contact and reminder choices, in the database. Blocking: call through a thread.

    In a trust, a chat belongs to the school of the latest link the parent used
    (`t.me/<bot>?start=<school ref>`); in a one-school deployment, to that school.
    """

    def __init__(self, database_url: str, retention_days: int) -> None:
        self.database_url = database_url
        self.retention_days = retention_days

    def _profile(self, session: Session, chat_id: int) -> SchoolProfile | None:
        ref = subscribers.linked_school(session, CHANNEL, str(chat_id))
        if ref is None or not school_exists(session, ref):
            ref = parent_school(session, {}).ref
        return read_profile(session, ref) if ref else None

    def school(self, chat_id: int) -> str | None:
        with unit_of_work(self.database_url) as session:
            profile = self._profile(session, chat_id)
            return profile.ref if profile else None

    def welcome(self, chat_id: int, link: str | None = None) -> Welcome:
        """Record the contact (and the school's link, if used); the privacy notice on first contact."""
        with unit_of_work(self.database_url) as session:
            ref = (link or "").strip().lower()
            if ref and school_exists(session, ref):
                subscribers.link(session, ref, CHANNEL, str(chat_id))
            profile = self._profile(session, chat_id)
            if profile is None:
                return Welcome(None, False, None)
            first = subscribers.first_contact(session, profile.ref, CHANNEL, str(chat_id))
            notice = replies.privacy_notice(profile, self.retention_days) if first else None
            opted_in = subscribers.is_opted_in(session, profile.ref, CHANNEL, str(chat_id))
            return Welcome(notice, opted_in, profile.ref)

    def opt_in(self, chat_id: int) -> ReminderSettings:
        with unit_of_work(self.database_url) as session:
            profile = self._profile(session, chat_id)
            if profile is None:
                return NO_SCHOOL
            subscribers.opt_in(session, profile.ref, CHANNEL, str(chat_id))
            return self._settings(session, profile, chat_id)

    def opt_out(self, chat_id: int) -> bool:
        """Stop reminders from every school this chat has opted in to."""
        with unit_of_work(self.database_url) as session:
            stopped = False
            for ref in subscribers.schools_of(session, CHANNEL, str(chat_id)):
                stopped = subscribers.opt_out(session, ref, CHANNEL, str(chat_id)) or stopped
            return stopped

    def reminders(self, chat_id: int) -> ReminderSettings:
        """What this chat gets, and what the school offers to choose from (read fresh each time)."""
        with unit_of_work(self.database_url) as session:
            profile = self._profile(session, chat_id)
            return NO_SCHOOL if profile is None else self._settings(session, profile, chat_id)

    def choose(self, chat_id: int, step: str, names: list[str]) -> ReminderSettings | None:
        """Store one list (year groups or kinds of reminder); None when no longer opted in."""
        field = "year_groups" if step == reminder_menus.YEAR_GROUPS else "interests"
        with unit_of_work(self.database_url) as session:
            profile = self._profile(session, chat_id)
            if profile is None:
                return None
            stored = subscribers.choose(session, profile.ref, CHANNEL, str(chat_id), **{field: names})
            return None if stored is None else self._settings(session, profile, chat_id)

    @staticmethod
    def _settings(session: Session, profile: SchoolProfile, chat_id: int) -> ReminderSettings:
        choices = subscribers.choices(session, profile.ref, CHANNEL, str(chat_id))
        return ReminderSettings(
            opted_in=choices.opted_in,
            year_groups=choices.year_groups,
            interests=choices.interests,
            year_group_options=profile.reminder_year_groups,
            interest_options=profile.reminder_interests,
        )


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


async def post(bot: Bot, chat_id: int, message: Outgoing) -> Message:
    """Send one message as plain text, waiting out Telegram's flood control a few times."""
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            return await bot.send_message(chat_id, message.text, reply_markup=message.keyboard)
        except RetryAfter as error:
            if attempt == SEND_ATTEMPTS:
                raise
            await asyncio.sleep(min(retry_after_s(error), LONGEST_WAIT_S))
    raise AssertionError("unreachable")


async def edit(query: CallbackQuery, text: str, keyboard: InlineKeyboardMarkup | None = None) -> None:
    """Change the message a button is under (its buttons go when `keyboard` is None).

    Waits out flood control like `post`. A message Telegram won't edit (too old, deleted,
    unchanged) is left as it is: what the parent chose still counts.
    """
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            await query.edit_message_text(text, reply_markup=keyboard)
            return
        except RetryAfter as error:
            if attempt == SEND_ATTEMPTS:
                raise
            await asyncio.sleep(min(retry_after_s(error), LONGEST_WAIT_S))
        except BadRequest as error:
            log.info("could not edit a message: %s", error.message)
            return


async def take_buttons_away(bot: Bot, chat_id: int, message_id: int | None) -> None:
    if message_id is None:
        return
    with suppress(TelegramError):  # the message may be too old to edit; that's fine
        await bot.edit_message_reply_markup(chat_id, message_id, reply_markup=None)


def message_id_of(query: CallbackQuery) -> int | None:
    return query.message.message_id if query.message else None


async def acknowledge(query: CallbackQuery, text: str | None = None) -> None:
    """Stop the button's spinner (showing `text` briefly, if given); a press still counts if
    Telegram says it is too old to answer."""
    with suppress(TelegramError):
        await query.answer(text)


@asynccontextmanager
async def typing(bot: Bot, chat_id: int) -> AsyncIterator[None]:
    """Show "typing…" in the chat until the block ends."""

    async def keep_typing() -> None:
        while True:
            try:
                await bot.send_chat_action(chat_id, ChatAction.TYPING)
            except TelegramError:
                return  # only a courtesy
            await asyncio.sleep(TYPING_EVERY_S)

    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


def build_application(
    *,
    token: str,
    api_url: str,
    rasa: RasaClient,
    parents: Parents,
    polling: bool = True,
    handled: HandledUpdates | None = None,
) -> Application:
    """The Application with its handlers. Without `polling` there is no Updater: the caller
    puts webhook updates on `application.update_queue` itself. `handled` remembers finished
    updates (by default in the parents' database)."""
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(api_url)
        .concurrent_updates(CONCURRENT_UPDATES)
        .job_queue(None)  # reminders are sent by the outbox, not by PTB's scheduler
    )
    if not polling:
        builder = builder.updater(None)
    application = builder.build()
    handled = handled or HandledUpdates(parents.database_url)
    payloads = ButtonPayloads()
    menus = Menus()
    locks = ChatLocks()
    told_groups: set[int] = set()

    def key_of(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
        return incoming.delivery_key(update, context.bot.id)

    async def handled_before(update: Update, sender: str, key: str) -> bool:
        try:
            done = await asyncio.to_thread(handled.handled, sender, key)
        except Exception as error:  # answering twice beats not answering
            log.error(
                "could not check whether %s's update was handled: %s",
                sender_ref(sender),
                type(error).__name__,
            )
            return False
        if done:
            log.info(
                "update %d from %s was delivered again: handled before, so not again",
                update.update_id,
                sender_ref(sender),
            )
        return done

    async def record_handled(sender: str, key: str) -> None:
        try:
            await asyncio.to_thread(handled.finished, sender, key)
        except Exception as error:
            log.error("could not record %s's update as handled: %s", sender_ref(sender), type(error).__name__)

    def once(handler):
        """`handler`, run under the chat's lock, unless Telegram delivered this update before."""

        async def run(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            chat = update.effective_chat
            if chat is None:  # not from a chat we write to (a button under an inline message)
                if update.callback_query is not None:
                    await acknowledge(update.callback_query)
                return
            sender, key = sender_id(chat.id), key_of(update, context)
            async with locks.hold(chat.id):
                if await handled_before(update, sender, key):
                    if update.callback_query is not None:
                        await acknowledge(update.callback_query)
                    return
                await handler(update, context)
                await record_handled(sender, key)

        return run

    async def school_of(chat_id: int) -> str | None:
        try:
            return await asyncio.to_thread(parents.school, chat_id)
        except Exception as error:  # the question still goes to Rasa, which answers for "no school known"
            # No traceback: the database error would carry the chat id in its parameters.
            log.error(
                "the school of %s could not be read: %s", sender_ref(sender_id(chat_id)), type(error).__name__
            )
            return None

    async def rasa_answers(
        writer: int, chat: Chat, text: str, key: str, *, screen_only: bool = False
    ) -> list[dict]:
        """Rasa's replies to `writer`'s words (sender `telegram-<writer>`), sent under `key`."""
        metadata: dict = {"telegram": {"chat_id": chat.id, "chat_type": str(chat.type)}}
        if screen_only:  # Rasa screens it and answers only a concern
            metadata["screen_only"] = True
        school = await school_of(writer)
        if school:
            metadata["school"] = school
        return await rasa.send(sender_id(writer), text, metadata, message_id=key)

    async def ask_rasa(bot: Bot, chat: Chat, text: str, key: str) -> None:
        if menus.question(chat.id) is not None:  # the conversation moved on: a later "yes" is for Rasa
            menus.close(chat.id)
        async with typing(bot, chat.id):
            answers = await rasa_answers(chat.id, chat, text, key)
        for message in replies.render(answers, chat.id, payloads):
            await post(bot, chat.id, message)

    async def welcome(chat_id: int, link: str | None = None) -> Welcome:
        return await asyncio.to_thread(parents.welcome, chat_id, link)

    async def welcome_then_ask(update: Update, context: ContextTypes.DEFAULT_TYPE, words: str) -> None:
        """The privacy notice on first contact, then Rasa's answer."""
        chat = update.effective_chat
        try:
            welcomed = await welcome(chat.id)
        except Exception:  # the parent still gets an answer; the failure is in the log
            # No traceback: a database error's parameters would carry the chat id.
            log.error(
                "could not record first contact for %s: %s",
                sender_ref(sender_id(chat.id)),
                type(sys.exc_info()[1]).__name__,
            )
        else:
            if welcomed.notice:
                await post(context.bot, chat.id, Outgoing(welcomed.notice))
        await ask_rasa(context.bot, chat, words, key_of(update, context))

    def words_first(handler, *, deep_link: bool = False):
        """A command's `handler`, after Rasa has screened and answered any words written after
        the command ("/help my son…"): safeguarding comes before anything else."""

        async def run(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            words = incoming.after_command(update.effective_message.text or "", deep_link=deep_link)
            if words:
                await welcome_then_ask(update, context, words)
            await handler(update, context)

        return run

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        link = context.args[0] if context.args else None  # t.me/<bot>?start=<school ref>
        welcomed = await welcome(chat.id, link)
        if welcomed.school is None:
            await post(context.bot, chat.id, Outgoing(replies.USE_YOUR_SCHOOLS_LINK))
            return
        if welcomed.notice:
            await post(context.bot, chat.id, Outgoing(welcomed.notice))
        asked = await post(context.bot, chat.id, replies.reminders_question(welcomed.opted_in))
        menus.open(chat.id, Menu(asked.message_id, QUESTION))  # a typed yes or no answers it

    async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await post(context.bot, update.effective_chat.id, Outgoing(replies.HELP))

    async def stop(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        menus.close(chat.id)
        was_in = await asyncio.to_thread(parents.opt_out, chat.id)
        await post(context.bot, chat.id, Outgoing(replies.stopped(was_in)))

    async def offer(bot: Bot, chat_id: int, settings: ReminderSettings, step: str, then: str | None) -> None:
        """Send one list to choose from (ticked as stored) and make it the chat's open menu."""
        ticked = list(settings.chosen(step))
        sent = await post(bot, chat_id, replies.choice_step(step, settings.options(step), ticked))
        menus.open(chat_id, Menu(sent.message_id, step, ticked, then))

    async def answer_reminders_question(bot: Bot, chat_id: int, yes: bool, question_id: int | None) -> None:
        """Yes please / No thanks, pressed or typed."""
        menus.close(chat_id)
        settings = await asyncio.to_thread(parents.opt_in if yes else parents.opt_out, chat_id)
        await take_buttons_away(bot, chat_id, question_id)
        await post(bot, chat_id, Outgoing(replies.OPTED_IN if yes else replies.NO_THANKS))
        first = settings.first_step() if yes else None
        if first is not None:  # optional: every list has Skip, and none chosen means all
            await offer(bot, chat_id, settings, first, settings.step_after(first))

    async def reminders_choice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await acknowledge(query)
        chat = update.effective_chat
        if chat.type != ChatType.PRIVATE:
            return
        yes = query.data == replies.OPT_IN_YES
        await answer_reminders_question(context.bot, chat.id, yes, message_id_of(query))

    async def reminders_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        settings = await asyncio.to_thread(parents.reminders, chat.id)
        menus.close(chat.id)
        sent = await post(context.bot, chat.id, replies.reminder_settings(settings))
        menus.open(chat.id, Menu(sent.message_id, MENU if settings.opted_in else QUESTION))

    async def stale(bot: Bot, chat_id: int, query: CallbackQuery, settings: ReminderSettings) -> None:
        await take_buttons_away(bot, chat_id, message_id_of(query))
        said = replies.MENU_OUT_OF_DATE if settings.opted_in else replies.NOT_GETTING_REMINDERS
        await post(bot, chat_id, Outgoing(said))

    async def reminder_menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A press under a list of year groups or kinds of reminder, or under /reminders."""
        query = update.callback_query
        chat = update.effective_chat
        if chat.type != ChatType.PRIVATE:
            await acknowledge(query)
            return
        press = reminder_menus.parse(query.data)
        bot = context.bot
        settings = await asyncio.to_thread(parents.reminders, chat.id)
        menu = menus.current(chat.id, message_id_of(query), press.step) if press else None
        if menu is None or not settings.opted_in:
            await acknowledge(query)
            if not settings.opted_in:
                menus.close(chat.id)
            await stale(bot, chat.id, query, settings)
            return
        if press.step == MENU:
            await acknowledge(query)
            await settings_menu(bot, chat.id, query, press.action, settings)
            return
        options = settings.options(press.step)
        if press.action == reminder_menus.TOGGLE:
            name = reminder_menus.named(options, press.key)
            if name is None:  # the school no longer offers it
                await acknowledge(query)
                await stale(bot, chat.id, query, settings)
                return
            ticked = menu.toggle(name, options)
            await acknowledge(query, replies.toggled(name, ticked))
            now = replies.choice_step(press.step, options, menu.chosen)
            await edit(query, now.text, now.keyboard)
            return
        await acknowledge(query)
        if press.action != reminder_menus.SKIP:
            chosen = [] if press.action == reminder_menus.ALL else menu.chosen
            stored = await asyncio.to_thread(parents.choose, chat.id, press.step, chosen)
            if stored is None:  # stopped meanwhile
                menus.close(chat.id)
                await stale(bot, chat.id, query, ReminderSettings(opted_in=False))
                return
            settings = stored
        await edit(query, replies.step_record(press.step, settings.chosen(press.step)))
        if menu.then is not None and settings.options(menu.then):
            await offer(bot, chat.id, settings, menu.then, settings.step_after(menu.then))
        else:
            menus.close(chat.id)
            await post(bot, chat.id, Outgoing(replies.all_set(settings)))

    async def settings_menu(
        bot: Bot, chat_id: int, query: CallbackQuery, action: str, settings: ReminderSettings
    ) -> None:
        """A press under /reminders: change one list, stop, or keep things as they are."""
        await take_buttons_away(bot, chat_id, message_id_of(query))
        if action == reminder_menus.STOP:
            menus.close(chat_id)
            was_in = await asyncio.to_thread(parents.opt_out, chat_id)
            await post(bot, chat_id, Outgoing(replies.stopped(was_in)))
        elif action in reminder_menus.STEPS and settings.options(action):
            await offer(bot, chat_id, settings, action, None)  # one list, then what they get
        else:  # "Keep as it is", or a list the school no longer offers
            menus.close(chat_id)
            await post(bot, chat_id, Outgoing(replies.NOTHING_CHANGED))

    async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await acknowledge(query)
        chat = update.effective_chat
        if chat.type != ChatType.PRIVATE:
            return
        payload = payloads.payload_for(chat.id, query.data or "")
        if payload is None:
            await post(context.bot, chat.id, Outgoing(replies.BUTTON_EXPIRED))
        else:
            await ask_rasa(context.bot, chat, payload, key_of(update, context))

    async def converse(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat, text = update.effective_chat, update.effective_message.text
        question = menus.question(chat.id)
        if question is not None:
            yes = incoming.yes_or_no(text)
            if yes is not None:  # "yes please" typed instead of pressed
                await answer_reminders_question(context.bot, chat.id, yes, question.message_id)
                return
        await welcome_then_ask(update, context, text)

    async def with_file(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A photo, document, voice message…: its caption is read like any message; the file is not."""
        chat, message = update.effective_chat, update.effective_message
        words = incoming.words_of(message)
        if not words:
            await post(context.bot, chat.id, Outgoing(replies.CANT_OPEN_FILES))
            return
        await welcome_then_ask(update, context, words)
        if message.caption is not None:
            await post(context.bot, chat.id, Outgoing(replies.FILE_NOT_OPENED))

    async def point_to_private_chat(bot: Bot, group_id: int) -> None:
        told_groups.add(group_id)
        await post(bot, group_id, Outgoing(replies.private_only(bot.username)))

    async def answer_privately(bot: Bot, person: int, answers: list[dict]) -> bool:
        """Rasa's answer to a group message, in a private message; False if Telegram refuses it
        (the person never started the bot, or blocked it)."""
        try:
            await post(bot, person, Outgoing(replies.ANSWERED_PRIVATELY))
        except (Forbidden, BadRequest) as error:
            log.info("could not write privately to %s: %s", sender_ref(sender_id(person)), error.message)
            return False
        for message in replies.render(answers, person, payloads):
            await post(bot, person, message)
        return True

    async def in_group(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A group message: screened as its writer's own message; a concern answered only in private."""
        chat, message, bot = update.effective_chat, update.effective_message, context.bot
        words = incoming.after_command(incoming.words_of(message) or "")
        user = update.effective_user
        # Someone writing as the group or a channel has no private chat to answer in.
        person = user.id if user is not None and not user.is_bot and message.sender_chat is None else None
        if words:
            writer = chat.id if person is None else person
            answers = await rasa_answers(writer, chat, words, key_of(update, context), screen_only=True)
            if answers == [{"text": UNAVAILABLE}]:
                log.error(
                    "a group message from %s could not be screened: Rasa unavailable",
                    sender_ref(sender_id(writer)),
                )
            elif answers and not (person is not None and await answer_privately(bot, person, answers)):
                # A concern, and no private chat to answer it in: only the words every group gets.
                await point_to_private_chat(bot, chat.id)
                return
        if chat.id not in told_groups:
            await point_to_private_chat(bot, chat.id)

    async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        ref = sender_ref(sender_id(chat.id)) if chat else "-"
        log.error("update from %s failed: %s", ref, type(context.error).__name__, exc_info=context.error)
        if isinstance(update, Update) and update.callback_query is not None:
            await acknowledge(update.callback_query)  # no spinner left turning (a second answer is ignored)
        ours = not isinstance(context.error, TelegramError)  # Telegram's own errors would recur
        if ours and chat is not None and chat.type == ChatType.PRIVATE:
            with suppress(TelegramError):
                await post(context.bot, chat.id, Outgoing(replies.SOMETHING_WENT_WRONG))

    application.add_handlers(
        [
            MessageHandler(GROUPS, once(in_group)),
            CommandHandler("start", once(words_first(start, deep_link=True)), filters=PRIVATE),
            CommandHandler("help", once(words_first(help_command)), filters=PRIVATE),
            CommandHandler("stop", once(words_first(stop)), filters=PRIVATE),
            CommandHandler(["reminders", "settings"], once(words_first(reminders_command)), filters=PRIVATE),
            MessageHandler(PRIVATE & filters.Regex(STOP_WORDS), once(stop)),
            CallbackQueryHandler(once(reminders_choice), pattern=f"^{replies.OPT_IN_PREFIX}"),
            CallbackQueryHandler(once(reminder_menu), pattern=f"^{reminder_menus.PREFIX}"),
            CallbackQueryHandler(once(button)),
            # Telegram commands aren't Rasa intents; words after one still are read
            MessageHandler(PRIVATE & filters.COMMAND, once(words_first(help_command))),
            MessageHandler(PRIVATE & filters.TEXT, once(converse)),
            MessageHandler(PRIVATE & (filters.ATTACHMENT | filters.CAPTION), once(with_file)),
        ]
    )
    application.add_error_handler(on_error)
    return application

"""The Telegram handlers: one module-level async function per kind of update, as in
python-telegram-bot's own `examples/`.

Each handler reads what it needs from `context.bot_data` (`needs(context)`, set once by
`connectors.telegram.app.build_application`): the Rasa bridge client, the parents' chats in
the database (`knowledge.broadcasts.parent_chats`), the updates already handled, and the
in-memory state (button payloads, open reminder menus, chat locks, groups already told).
`once` and `words_first` wrap a handler: every update runs once, under its chat's lock, and
words written after a command are screened and answered before the command runs.

Database work runs in a thread (`asyncio.to_thread`), so the event loop never blocks. A
database error is logged with the sender reference and the error's type only: its
parameters would carry the chat id.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field

from telegram import Bot, CallbackQuery, Chat, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ContextTypes

from connectors.bridge_client import UNAVAILABLE, RasaClient
from connectors.telegram import incoming, reminder_menus, replies
from connectors.telegram.incoming import ChatLocks
from connectors.telegram.reminder_menus import MENU, QUESTION, Menu, Menus
from connectors.telegram.replies import ButtonPayloads, Outgoing
from connectors.telegram.sending import acknowledge, edit, message_id_of, post, take_buttons_away, typing
from knowledge.broadcasts.parent_chats import ParentChats, ReminderSettings, Welcome
from knowledge.shared.action_ledger import HandledUpdates
from knowledge.shared.ids import sender_ref

log = logging.getLogger(__name__)

CHANNEL = "telegram"
NEEDS = "needs"  # the key of `Needs` in `application.bot_data`

Context = ContextTypes.DEFAULT_TYPE
Handler = Callable[[Update, Context], Awaitable[None]]


@dataclass
class Needs:
    """What the handlers share: set once per Application, kept in `bot_data[NEEDS]`."""

    rasa: RasaClient
    chats: ParentChats
    handled: HandledUpdates
    retention_days: int  # said in the privacy notice
    payloads: ButtonPayloads = field(default_factory=ButtonPayloads)
    menus: Menus = field(default_factory=Menus)
    locks: ChatLocks = field(default_factory=ChatLocks)
    told_groups: set[int] = field(default_factory=set)


def needs(context: Context) -> Needs:
    return context.bot_data[NEEDS]


def sender_id(chat_id: int) -> str:
    return f"{CHANNEL}-{chat_id}"


def key_of(update: Update, context: Context) -> str:
    return incoming.delivery_key(update, context.bot.id)


# --- Every update once, words first ---------------------------------------------------------


async def handled_before(handled: HandledUpdates, update: Update, sender: str, key: str) -> bool:
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


async def record_handled(handled: HandledUpdates, sender: str, key: str) -> None:
    try:
        await asyncio.to_thread(handled.finished, sender, key)
    except Exception as error:
        log.error("could not record %s's update as handled: %s", sender_ref(sender), type(error).__name__)


def once(handler: Handler) -> Handler:
    """`handler`, run under the chat's lock, unless Telegram delivered this update before."""

    async def run(update: Update, context: Context) -> None:
        chat = update.effective_chat
        if chat is None:  # not from a chat we write to (a button under an inline message)
            if update.callback_query is not None:
                await acknowledge(update.callback_query)
            return
        shared = needs(context)
        sender, key = sender_id(chat.id), key_of(update, context)
        async with shared.locks.hold(chat.id):
            if await handled_before(shared.handled, update, sender, key):
                if update.callback_query is not None:
                    await acknowledge(update.callback_query)
                return
            await handler(update, context)
            await record_handled(shared.handled, sender, key)

    return run


def words_first(handler: Handler, *, deep_link: bool = False) -> Handler:
    """A command's `handler`, after Rasa has screened and answered any words written after
    the command ("/help my son…"): safeguarding comes before anything else."""

    async def run(update: Update, context: Context) -> None:
        words = incoming.after_command(update.effective_message.text or "", deep_link=deep_link)
        if words:
            await welcome_then_ask(update, context, words)
        await handler(update, context)

    return run


# --- Rasa -----------------------------------------------------------------------------------


async def school_of(chats: ParentChats, chat_id: int) -> str | None:
    try:
        return await asyncio.to_thread(chats.school, str(chat_id))
    except Exception as error:  # the question still goes to Rasa, which answers for "no school known"
        # No traceback: the database error would carry the chat id in its parameters.
        log.error(
            "the school of %s could not be read: %s", sender_ref(sender_id(chat_id)), type(error).__name__
        )
        return None


async def rasa_answers(
    context: Context, writer: int, chat: Chat, text: str, key: str, *, screen_only: bool = False
) -> list[dict]:
    """Rasa's replies to `writer`'s words (sender `telegram-<writer>`), sent under `key`."""
    shared = needs(context)
    metadata: dict = {"telegram": {"chat_id": chat.id, "chat_type": str(chat.type)}}
    if screen_only:  # Rasa screens it and answers only a concern
        metadata["screen_only"] = True
    school = await school_of(shared.chats, writer)
    if school:
        metadata["school"] = school
    return await shared.rasa.send(sender_id(writer), text, metadata, message_id=key)


async def ask_rasa(context: Context, chat: Chat, text: str, key: str) -> None:
    shared, bot = needs(context), context.bot
    if shared.menus.question(chat.id) is not None:  # the conversation moved on: a later "yes" is for Rasa
        shared.menus.close(chat.id)
    async with typing(bot, chat.id):
        answers = await rasa_answers(context, chat.id, chat, text, key)
    for message in replies.render(answers, chat.id, shared.payloads):
        await post(bot, chat.id, message)


async def welcome(context: Context, chat_id: int, link: str | None = None) -> tuple[Welcome, str | None]:
    """The chat's contact recorded; and the privacy notice, on first contact only."""
    welcomed = await asyncio.to_thread(needs(context).chats.welcome, str(chat_id), link)
    due = welcomed.first_contact and welcomed.profile is not None
    notice = replies.privacy_notice(welcomed.profile, needs(context).retention_days) if due else None
    return welcomed, notice


async def welcome_then_ask(update: Update, context: Context, words: str) -> None:
    """The privacy notice on first contact, then Rasa's answer."""
    chat = update.effective_chat
    try:
        _, notice = await welcome(context, chat.id)
    except Exception as error:  # the parent still gets an answer; the failure is in the log
        # No traceback: a database error's parameters would carry the chat id.
        log.error(
            "could not record first contact for %s: %s", sender_ref(sender_id(chat.id)), type(error).__name__
        )
    else:
        if notice:
            await post(context.bot, chat.id, Outgoing(notice))
    await ask_rasa(context, chat, words, key_of(update, context))


# --- Commands and the reminders question --------------------------------------------------------


async def start(update: Update, context: Context) -> None:
    chat = update.effective_chat
    link = context.args[0] if context.args else None  # t.me/<bot>?start=<school ref>
    welcomed, notice = await welcome(context, chat.id, link)
    if welcomed.profile is None:
        await post(context.bot, chat.id, Outgoing(replies.USE_YOUR_SCHOOLS_LINK))
        return
    if notice:
        await post(context.bot, chat.id, Outgoing(notice))
    asked = await post(context.bot, chat.id, replies.reminders_question(welcomed.opted_in))
    needs(context).menus.open(chat.id, Menu(asked.message_id, QUESTION))  # a typed yes or no answers it


async def help_command(update: Update, context: Context) -> None:
    await post(context.bot, update.effective_chat.id, Outgoing(replies.HELP))


async def stop(update: Update, context: Context) -> None:
    chat, shared = update.effective_chat, needs(context)
    shared.menus.close(chat.id)
    was_in = await asyncio.to_thread(shared.chats.opt_out, str(chat.id))
    await post(context.bot, chat.id, Outgoing(replies.stopped(was_in)))


async def offer(
    context: Context, chat_id: int, settings: ReminderSettings, step: str, then: str | None
) -> None:
    """Send one list to choose from (ticked as stored) and make it the chat's open menu."""
    ticked = list(settings.chosen(step))
    sent = await post(context.bot, chat_id, replies.choice_step(step, settings.options(step), ticked))
    needs(context).menus.open(chat_id, Menu(sent.message_id, step, ticked, then))


async def answer_reminders_question(
    context: Context, chat_id: int, yes: bool, question_id: int | None
) -> None:
    """Yes please / No thanks, pressed or typed."""
    shared, bot = needs(context), context.bot
    shared.menus.close(chat_id)
    settings = await asyncio.to_thread(shared.chats.opt_in if yes else shared.chats.opt_out, str(chat_id))
    await take_buttons_away(bot, chat_id, question_id)
    await post(bot, chat_id, Outgoing(replies.OPTED_IN if yes else replies.NO_THANKS))
    first = settings.first_step() if yes else None
    if first is not None:  # optional: every list has Skip, and none chosen means all
        await offer(context, chat_id, settings, first, settings.step_after(first))


async def reminders_choice(update: Update, context: Context) -> None:
    query = update.callback_query
    await acknowledge(query)
    chat = update.effective_chat
    if chat.type != ChatType.PRIVATE:
        return
    yes = query.data == replies.OPT_IN_YES
    await answer_reminders_question(context, chat.id, yes, message_id_of(query))


async def reminders_command(update: Update, context: Context) -> None:
    chat, shared = update.effective_chat, needs(context)
    settings = await asyncio.to_thread(shared.chats.reminders, str(chat.id))
    shared.menus.close(chat.id)
    sent = await post(context.bot, chat.id, replies.reminder_settings(settings))
    shared.menus.open(chat.id, Menu(sent.message_id, MENU if settings.opted_in else QUESTION))


# --- The reminder menus ---------------------------------------------------------------------


async def stale(bot: Bot, chat_id: int, query: CallbackQuery, settings: ReminderSettings) -> None:
    await take_buttons_away(bot, chat_id, message_id_of(query))
    said = replies.MENU_OUT_OF_DATE if settings.opted_in else replies.NOT_GETTING_REMINDERS
    await post(bot, chat_id, Outgoing(said))


async def reminder_menu(update: Update, context: Context) -> None:
    """A press under a list of year groups or kinds of reminder, or under /reminders."""
    query = update.callback_query
    chat = update.effective_chat
    if chat.type != ChatType.PRIVATE:
        await acknowledge(query)
        return
    press = reminder_menus.parse(query.data)
    bot, shared = context.bot, needs(context)
    settings = await asyncio.to_thread(shared.chats.reminders, str(chat.id))
    menu = shared.menus.current(chat.id, message_id_of(query), press.step) if press else None
    if menu is None or not settings.opted_in:
        await acknowledge(query)
        if not settings.opted_in:
            shared.menus.close(chat.id)
        await stale(bot, chat.id, query, settings)
        return
    if press.step == MENU:
        await acknowledge(query)
        await settings_menu(context, chat.id, query, press.action, settings)
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
        stored = await asyncio.to_thread(shared.chats.choose, str(chat.id), press.step, chosen)
        if stored is None:  # stopped meanwhile
            shared.menus.close(chat.id)
            await stale(bot, chat.id, query, ReminderSettings(opted_in=False))
            return
        settings = stored
    await edit(query, replies.step_record(press.step, settings.chosen(press.step)))
    if menu.then is not None and settings.options(menu.then):
        await offer(context, chat.id, settings, menu.then, settings.step_after(menu.then))
    else:
        shared.menus.close(chat.id)
        await post(bot, chat.id, Outgoing(replies.all_set(settings)))


async def settings_menu(
    context: Context, chat_id: int, query: CallbackQuery, action: str, settings: ReminderSettings
) -> None:
    """A press under /reminders: change one list, stop, or keep things as they are."""
    bot, shared = context.bot, needs(context)
    await take_buttons_away(bot, chat_id, message_id_of(query))
    if action == reminder_menus.STOP:
        shared.menus.close(chat_id)
        was_in = await asyncio.to_thread(shared.chats.opt_out, str(chat_id))
        await post(bot, chat_id, Outgoing(replies.stopped(was_in)))
    elif action in reminder_menus.STEPS and settings.options(action):
        await offer(context, chat_id, settings, action, None)  # one list, then what they get
    else:  # "Keep as it is", or a list the school no longer offers
        shared.menus.close(chat_id)
        await post(bot, chat_id, Outgoing(replies.NOTHING_CHANGED))


# --- Rasa's buttons, messages and files -------------------------------------------------------


async def button(update: Update, context: Context) -> None:
    query = update.callback_query
    await acknowledge(query)
    chat = update.effective_chat
    if chat.type != ChatType.PRIVATE:
        return
    payload = needs(context).payloads.payload_for(chat.id, query.data or "")
    if payload is None:
        await post(context.bot, chat.id, Outgoing(replies.BUTTON_EXPIRED))
    else:
        await ask_rasa(context, chat, payload, key_of(update, context))


async def converse(update: Update, context: Context) -> None:
    chat, text = update.effective_chat, update.effective_message.text
    question = needs(context).menus.question(chat.id)
    if question is not None:
        yes = incoming.yes_or_no(text)
        if yes is not None:  # "yes please" typed instead of pressed
            await answer_reminders_question(context, chat.id, yes, question.message_id)
            return
    await welcome_then_ask(update, context, text)


async def with_file(update: Update, context: Context) -> None:
    """A photo, document, voice message…: its caption is read like any message; the file is not."""
    chat, message = update.effective_chat, update.effective_message
    words = incoming.words_of(message)
    if not words:
        await post(context.bot, chat.id, Outgoing(replies.CANT_OPEN_FILES))
        return
    await welcome_then_ask(update, context, words)
    if message.caption is not None:
        await post(context.bot, chat.id, Outgoing(replies.FILE_NOT_OPENED))


# --- Groups ---------------------------------------------------------------------------------


async def point_to_private_chat(context: Context, group_id: int) -> None:
    needs(context).told_groups.add(group_id)
    await post(context.bot, group_id, Outgoing(replies.private_only(context.bot.username)))


async def answer_privately(context: Context, person: int, answers: list[dict]) -> bool:
    """Rasa's answer to a group message, in a private message; False if Telegram refuses it
    (the person never started the bot, or blocked it)."""
    bot = context.bot
    try:
        await post(bot, person, Outgoing(replies.ANSWERED_PRIVATELY))
    except (Forbidden, BadRequest) as error:
        log.info("could not write privately to %s: %s", sender_ref(sender_id(person)), error.message)
        return False
    for message in replies.render(answers, person, needs(context).payloads):
        await post(bot, person, message)
    return True


async def in_group(update: Update, context: Context) -> None:
    """A group message: screened as its writer's own message; a concern answered only in private."""
    chat, message = update.effective_chat, update.effective_message
    words = incoming.after_command(incoming.words_of(message) or "")
    user = update.effective_user
    # Someone writing as the group or a channel has no private chat to answer in.
    person = user.id if user is not None and not user.is_bot and message.sender_chat is None else None
    if words:
        writer = chat.id if person is None else person
        answers = await rasa_answers(context, writer, chat, words, key_of(update, context), screen_only=True)
        if answers == [{"text": UNAVAILABLE}]:
            log.error(
                "a group message from %s could not be screened: Rasa unavailable",
                sender_ref(sender_id(writer)),
            )
        elif answers and not (person is not None and await answer_privately(context, person, answers)):
            # A concern, and no private chat to answer it in: only the words every group gets.
            await point_to_private_chat(context, chat.id)
            return
    if chat.id not in needs(context).told_groups:
        await point_to_private_chat(context, chat.id)


# --- Errors -----------------------------------------------------------------------------------


async def on_error(update: object, context: Context) -> None:
    chat = update.effective_chat if isinstance(update, Update) else None
    ref = sender_ref(sender_id(chat.id)) if chat else "-"
    log.error("update from %s failed: %s", ref, type(context.error).__name__, exc_info=context.error)
    if isinstance(update, Update) and update.callback_query is not None:
        await acknowledge(update.callback_query)  # no spinner left turning (a second answer is ignored)
    ours = not isinstance(context.error, TelegramError)  # Telegram's own errors would recur
    if ours and chat is not None and chat.type == ChatType.PRIVATE:
        with suppress(TelegramError):
            await post(context.bot, chat.id, Outgoing(replies.SOMETHING_WENT_WRONG))

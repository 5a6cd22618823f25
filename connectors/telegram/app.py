"""The python-telegram-bot Application: parents' messages in, Rasa's replies out.

This module builds the Application, puts what the handlers share into `bot_data` and lists,
in one table, which handler answers which update. The handlers are module-level functions
in `connectors.telegram.handlers`, as in PTB's `examples/`.

Reminder choices (/start, /stop, "stop reminders", /reminders, a typed yes or no to the
reminders question, and the year groups and kinds of reminder offered after opting in, see
`reminder_menus`; stored through `knowledge.broadcasts.parent_chats`) never reach Rasa;
everything else that carries words (text, an edit, a file's caption, words after a command)
goes to Rasa's signed bridge as sender `telegram-<chat id>`, where the safeguarding screen
runs first.

Only private chats are answered, because what a parent asks about their child is nobody
else's business. A group message is still screened, as its writer's own message
(`screen_only`: Rasa answers nothing unless it is a concern); a concern is answered in a
private message, or, if Telegram won't let the bot write first, the group gets only the
same pointer to a private chat that each group is shown once.

Every update runs once, however often Telegram delivers it (`incoming.delivery_key`,
`knowledge.shared.action_ledger.HandledUpdates`). Updates are handled concurrently across chats but one at a
time within a chat, so a parent's replies always come back in the order they asked.
"""

from __future__ import annotations

import re

from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from connectors.bridge_client import RasaClient
from connectors.telegram import reminder_menus, replies
from connectors.telegram.handlers import (
    NEEDS,
    Needs,
    button,
    converse,
    help_command,
    in_group,
    on_error,
    once,
    reminder_menu,
    reminders_choice,
    reminders_command,
    start,
    stop,
    with_file,
    words_first,
)
from knowledge.broadcasts.parent_chats import ParentChats
from knowledge.shared.action_ledger import HandledUpdates

ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
CONCURRENT_UPDATES = 64
STOP_WORDS = re.compile(r"^\s*(stop reminders|unsubscribe)\s*[.!]?\s*$", re.IGNORECASE)

PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGES  # new and edited
GROUPS = filters.ChatType.GROUPS & filters.UpdateType.MESSAGES


def build_application(
    *,
    token: str,
    api_url: str,
    rasa: RasaClient,
    chats: ParentChats,
    retention_days: int,
    polling: bool = True,
    handled: HandledUpdates | None = None,
) -> Application:
    """The Application with its handlers. Without `polling` there is no Updater: the caller
    puts webhook updates on `application.update_queue` itself. `handled` remembers finished
    updates (by default in the parents' database). `retention_days` is what the privacy
    notice says about how long conversations are kept."""
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
    application.bot_data[NEEDS] = Needs(
        rasa=rasa,
        chats=chats,
        handled=handled or HandledUpdates(chats.database_url),
        retention_days=retention_days,
    )
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

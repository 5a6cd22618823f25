"""The Telegram connector: parents talk to the bot on Telegram (python-telegram-bot).

httpx, which python-telegram-bot uses, logs every request URL at INFO, and Bot API URLs
contain the bot token; so its logger is kept at WARNING wherever this package is used.
"""

import logging

logging.getLogger("httpx").setLevel(logging.WARNING)

"""The Telegram connector: parents talk to the bot on Telegram (python-telegram-bot).

No message text in the logs, whatever the libraries do:
- httpx, which python-telegram-bot uses, logs every request URL at INFO, and Bot API URLs
  contain the bot token; so its logger is kept at WARNING (httpcore, below it, at INFO).
- python-telegram-bot logs whole updates ("Processing update …") and every call's
  parameters ("Calling Bot API endpoint … with parameters …", so our replies and chat ids)
  at DEBUG; its logger never goes below INFO, even when the root logger does.
- its one ERROR with a response body (invalid JSON from the Bot API, which would be the
  updates themselves) keeps its traceback but loses the body.
"""

import logging


class _WithoutResponseBody(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Can not load invalid JSON data"):
            length = len(str(record.args[0])) if isinstance(record.args, tuple) and record.args else 0
            record.msg, record.args = "Can not load invalid JSON data (%d characters)", (length,)
        return True


logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.INFO)
logging.getLogger("telegram").setLevel(logging.INFO)
logging.getLogger("telegram.request.BaseRequest").addFilter(_WithoutResponseBody())

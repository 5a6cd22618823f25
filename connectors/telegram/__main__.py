"""Run the Telegram connector: `python -m connectors.telegram` (the launcher starts it when configured).

Long polling is the default (needs only TELEGRAM_BOT_TOKEN, no public URL). Webhook mode
is used when TELEGRAM_WEBHOOK_URL is set: Telegram POSTs updates to that URL's path on
TELEGRAM_PORT, and each one must carry TELEGRAM_WEBHOOK_SECRET in the
`X-Telegram-Bot-Api-Secret-Token` header, or it is refused with 403 and never processed.
The webhook is served by our own small aiohttp server (not PTB's, which needs tornado), so
`/health` answers on the same port in both modes, for the launcher.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import signal
import sys

from aiohttp import web
from telegram import Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application

from connectors.bridge_client import RasaClient, bridge_url
from connectors.telegram.app import ALLOWED_UPDATES, build_application
from connectors.telegram.config import mode, webhook_path, why_off
from connectors.telegram.handlers import CHANNEL
from knowledge.broadcasts.parent_chats import ParentChats
from knowledge.shared.settings import Settings, get_settings

log = logging.getLogger("connectors.telegram")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
STOP_POLLING_S = 5.0  # while Telegram is unreachable PTB waits up to 30 s between polls


def polling_failed(error: TelegramError) -> None:
    """One line per failed poll (PTB retries by itself); the default logs a whole traceback."""
    log.warning("polling Telegram failed, retrying: %s: %s", type(error).__name__, error.message)


def webhook_receiver(application: Application, secret: str):
    """An aiohttp handler for Telegram's POSTs: secret checked, then the update queued."""
    expected = secret.encode()

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            return web.json_response({"error": "forbidden"}, status=403)
        try:
            update = Update.de_json(await request.json(), application.bot)
        except Exception:  # not JSON, or not an update
            return web.json_response({"error": "bad request"}, status=400)
        await application.update_queue.put(update)
        return web.json_response({"ok": True})

    return receive


def web_app(application: Application, settings: Settings, chosen: str) -> web.Application:
    async def health(_request: web.Request) -> web.Response:
        running = application.running and (chosen == "webhook" or application.updater.running)
        return web.json_response({"status": "ok" if running else "starting", "mode": chosen})

    app = web.Application()
    app.router.add_get("/health", health)
    if chosen == "webhook":
        receive = webhook_receiver(application, settings.telegram_webhook_secret)
        app.router.add_post(webhook_path(settings), receive)
    return app


async def serve(settings: Settings) -> None:
    chosen = mode(settings)
    if chosen is None:
        raise SystemExit(why_off(settings))
    rasa = RasaClient(bridge_url(settings.rasa_port, "telegram"), settings.bridge_secret)
    application = build_application(
        token=settings.telegram_bot_token,
        api_url=settings.telegram_api_url,
        rasa=rasa,
        chats=ParentChats(settings.database_url, CHANNEL),
        retention_days=settings.chat_log_retention_days,
        polling=chosen == "polling",
    )
    await application.initialize()  # getMe: checks the token
    if chosen == "polling":
        await application.updater.start_polling(
            allowed_updates=ALLOWED_UPDATES, error_callback=polling_failed
        )
    else:
        await application.bot.set_webhook(
            settings.telegram_webhook_url,
            secret_token=settings.telegram_webhook_secret,
            allowed_updates=ALLOWED_UPDATES,
        )
    await application.start()
    runner = web.AppRunner(web_app(application, settings, chosen), access_log=None)
    await runner.setup()
    host = "0.0.0.0" if chosen == "webhook" else "127.0.0.1"
    await web.TCPSite(runner, host, settings.telegram_port).start()
    log.info("Telegram connector running (%s mode)", chosen)

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    await runner.cleanup()  # no new webhook updates from here on
    if application.updater is not None:
        try:
            await asyncio.wait_for(application.updater.stop(), STOP_POLLING_S)
        except asyncio.TimeoutError:
            log.warning("stopped polling without confirming the last updates to Telegram")
    await application.stop()  # finishes the updates already queued
    await application.shutdown()
    await rasa.close()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = get_settings()
    if mode(settings) is None:
        print(why_off(settings), file=sys.stderr)
        return 2
    try:
        asyncio.run(serve(settings))
    except InvalidToken:  # its message holds the token, so it is not printed
        print("Telegram refused TELEGRAM_BOT_TOKEN: check it with @BotFather.", file=sys.stderr)
        return 1
    except TelegramError as error:
        print(f"Telegram connector could not start: {type(error).__name__}: {error.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

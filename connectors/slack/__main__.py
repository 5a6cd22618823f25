"""Run the Slack connector: `python -m connectors.slack` (the launcher starts it when configured).

Socket Mode is the default (needs SLACK_BOT_TOKEN and SLACK_APP_TOKEN, no public URL);
HTTP Events mode is used when SLACK_SIGNING_SECRET is set without an app token, with
Slack's requests posted to `/slack/events` on SLACK_EVENTS_PORT. `/health` on the same
port answers in both modes, for the launcher. With SLACK_CLIENT_ID and SLACK_CLIENT_SECRET
(several workspaces, HTTP Events only) workspaces install the app at `/slack/install`
(Slack sends them back to `/slack/oauth_redirect`), see `connectors.slack.workspaces`.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

from connectors.bridge_client import RasaClient, bridge_url
from connectors.slack.app import build_app, web_client
from connectors.slack.config import mode, several_workspaces, why_off
from connectors.slack.log_privacy import socket_logger
from connectors.slack.workspaces import DatabaseInstallationStore, authorize, oauth_settings
from knowledge.shared.settings import Settings, get_settings

log = logging.getLogger("connectors.slack")

EVENTS_PATH = "/slack/events"


def build_server(
    settings: Settings, rasa: RasaClient
) -> tuple[web.Application, AsyncSocketModeHandler | None]:
    """The aiohttp app the connector serves (Slack's requests and `/health`), and the Socket
    Mode handler to connect in Socket Mode."""
    chosen = mode(settings)
    if chosen is None:
        raise SystemExit(why_off(settings))
    if several_workspaces(settings):
        client = web_client(None, settings.slack_api_url)
        store = DatabaseInstallationStore(settings.database_url, settings.slack_client_id, client)
        app = build_app(
            client=client,
            rasa=rasa,
            signing_secret=settings.slack_signing_secret,
            oauth_settings=oauth_settings(settings, store),
            authorize=authorize(settings, store, client),
        )
    else:
        client = web_client(settings.slack_bot_token, settings.slack_api_url)
        app = build_app(
            client=client,
            rasa=rasa,
            signing_secret=settings.slack_signing_secret if chosen == "http" else None,
        )
    socket_handler = (
        AsyncSocketModeHandler(app, settings.slack_app_token, logger=socket_logger())
        if chosen == "socket"
        else None
    )

    async def health(_request: web.Request) -> web.Response:
        connected = socket_handler is None or await socket_handler.client.is_connected()
        return web.json_response({"status": "ok" if connected else "connecting", "mode": chosen})

    # In HTTP mode bolt's own aiohttp app: POST /slack/events, and with several workspaces
    # also GET /slack/install and /slack/oauth_redirect.
    web_app = app.web_app(path=EVENTS_PATH) if chosen == "http" else web.Application()
    web_app.router.add_get("/health", health)
    return web_app, socket_handler


async def serve(settings: Settings) -> None:
    rasa = RasaClient(bridge_url(settings.rasa_port, "slack"), settings.bridge_secret)
    web_app, socket_handler = build_server(settings, rasa)  # SystemExit when Slack is off
    chosen = mode(settings)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    host = "0.0.0.0" if chosen == "http" else "127.0.0.1"
    await web.TCPSite(runner, host, settings.slack_events_port).start()
    if socket_handler is not None:
        await socket_handler.connect_async()
    if several_workspaces(settings):
        log.info("Slack connector running (http mode, several workspaces: each installs at /slack/install)")
    else:
        log.info("Slack connector running (%s mode)", chosen)

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    if socket_handler is not None:
        await socket_handler.close_async()
    await runner.cleanup()
    await rasa.close()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = get_settings()
    if mode(settings) is None:
        print(why_off(settings), file=sys.stderr)
        return 2
    asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())

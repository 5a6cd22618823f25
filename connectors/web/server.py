"""Serves the parents' web chat page (static files + config.json) on WEBCHAT_PORT.

The page talks to Rasa's socket.io channel on RASA_PORT. Responses carry a strict
Content-Security-Policy: the page runs only its own scripts, and bot text is never
rendered as HTML (see static/chat.js).

Run: python -m connectors.web.server
"""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import web

from bot.settings import Settings, get_settings
from knowledge.school_profile import ProfileError, load_profile_file

STATIC_DIR = Path(__file__).resolve().parent / "static"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self' ws: wss: http: https:; img-src 'self' data:; "
        "style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}

log = logging.getLogger(__name__)


@web.middleware
async def security_headers(request: web.Request, handler):
    response = await handler(request)
    response.headers.update(SECURITY_HEADERS)
    return response


def page_config(settings: Settings, request_host: str) -> dict:
    """What chat.js needs: where Rasa's socket.io is, limits, the school's name and notice."""
    socket_url = settings.public_rasa_url
    if not socket_url:
        host = request_host.rsplit(":", 1)[0] if request_host.count(":") == 1 else request_host
        socket_url = f"http://{host or 'localhost'}:{settings.rasa_port}"
    config = {
        "socketUrl": socket_url,
        "socketPath": "/socket.io/",
        "maxMessageChars": settings.max_message_chars,
        "schoolName": "",
        "privacyNoticeUrl": "",
    }
    try:
        profile = load_profile_file(settings.school_profile)
        config["schoolName"] = profile.name
        config["privacyNoticeUrl"] = profile.privacy_notice_url
    except ProfileError:
        log.warning("school profile could not be read for the web page")
    return config


def make_app(settings: Settings) -> web.Application:
    app = web.Application(middlewares=[security_headers])

    async def index(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC_DIR / "index.html")

    async def config(request: web.Request) -> web.Response:
        return web.json_response(page_config(settings, request.host))

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app.router.add_get("/", index)
    app.router.add_get("/config.json", config)
    app.router.add_get("/health", health)
    app.router.add_static("/", STATIC_DIR, show_index=False, follow_symlinks=False)
    return app


def main() -> None:
    settings = get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s web %(levelname)s %(message)s")
    print(f"Web chat page on http://localhost:{settings.webchat_port}/", flush=True)
    web.run_app(make_app(settings), host="0.0.0.0", port=settings.webchat_port, print=None, access_log=None)


if __name__ == "__main__":
    main()

"""Serves the parents' web chat page (static files + config.json) on WEBCHAT_PORT.

The page talks to Rasa's socket.io channel on RASA_PORT. Responses carry a strict
Content-Security-Policy: the page runs only its own scripts, and bot text is never
rendered as HTML (see static/chat.js).

Run: python -m connectors.web.server
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from aiohttp import web

from knowledge.schools.deployment import REF_FORMAT
from knowledge.schools.profile import ProfileError, SchoolProfile, load_profile_file, read_profile
from knowledge.schools.tenancy import school_exists
from knowledge.shared.db import unit_of_work
from knowledge.shared.settings import Settings, get_settings

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


def page_config(settings: Settings, request_host: str, school: str | None = None) -> dict | None:
    """What chat.js needs: where Rasa's socket.io is, limits, the school's name and notice.

    `school`: a trust's page for one school (`/s/<ref>/`); None when no such school exists.
    """
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
    if school is not None:
        profile = _stored_profile(settings, school)
        if profile is None:
            return None
        config["school"] = profile.ref
        config["schoolName"] = profile.name
        config["privacyNoticeUrl"] = profile.privacy_notice_url
        return config
    try:
        profile = load_profile_file(settings.school_profile)
        config["schoolName"] = profile.name
        config["privacyNoticeUrl"] = profile.privacy_notice_url
    except ProfileError:
        log.warning("school profile could not be read for the web page")
    return config


def _stored_profile(settings: Settings, ref: str) -> SchoolProfile | None:
    if not REF_FORMAT.match(ref):
        return None
    try:
        with unit_of_work(settings.database_url) as session:
            return read_profile(session, ref) if school_exists(session, ref) else None
    except Exception:  # the page still loads; the bot itself will say what is wrong
        log.exception("school %s could not be read for the web page", ref)
        return None


def make_app(settings: Settings) -> web.Application:
    app = web.Application(middlewares=[security_headers])

    async def index(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC_DIR / "index.html")

    async def config(request: web.Request) -> web.Response:
        return web.json_response(page_config(settings, request.host))

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    # A trust: each school's parents have their own page, /s/<ref>/, with relative links,
    # so the same static files serve it and config.json names the school.
    async def school_config(request: web.Request) -> web.Response:
        found = await asyncio.to_thread(page_config, settings, request.host, request.match_info["school"])
        if found is None:
            raise web.HTTPNotFound(text="There is no school at this address. Check the link on its website.")
        return web.json_response(found)

    async def school_file(request: web.Request) -> web.StreamResponse:
        name = request.match_info.get("file") or "index.html"
        path = (STATIC_DIR / name).resolve()
        if not path.is_file() or STATIC_DIR.resolve() not in path.parents:
            raise web.HTTPNotFound()
        return web.FileResponse(path)

    async def school_root(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"/s/{request.match_info['school']}/")

    app.router.add_get("/", index)
    app.router.add_get("/config.json", config)
    app.router.add_get("/health", health)
    app.router.add_get("/s/{school}", school_root)
    app.router.add_get("/s/{school}/config.json", school_config)
    app.router.add_get("/s/{school}/{file:.*}", school_file)
    app.router.add_static("/", STATIC_DIR, show_index=False, follow_symlinks=False)
    return app


def main() -> None:
    settings = get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s web %(levelname)s %(message)s")
    print(f"Web chat page on http://localhost:{settings.webchat_port}/", flush=True)
    web.run_app(make_app(settings), host="0.0.0.0", port=settings.webchat_port, print=None, access_log=None)


if __name__ == "__main__":
    main()

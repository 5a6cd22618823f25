"""The machinery the local fakes share: an aiohttp server on loopback, in a thread of its own.

Each fake (fake_slack, fake_telegram, stub_rasa) is a real HTTP server, so the code under test
talks to it through its real client library (slack_sdk, python-telegram-bot, the bridge client).
It runs its own event loop in a daemon thread, so a plain synchronous test can drive it and an
async test's loop is never blocked by it; it binds port 0 on 127.0.0.1, so runs never clash
over a port and nothing is reachable from outside the machine.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from aiohttp import web

_Server = TypeVar("_Server", bound="LoopbackServer")
_T = TypeVar("_T")


class LoopbackServer:
    """Start with `with Subclass() as server:`; `server.port` is then the port it listens on.

    A subclass adds its routes in `routes()`; `on_start()` and `on_stop()` run on the server's
    own loop, for whatever must be made there (a queue, a condition) or woken before it stops.
    """

    label = "loopback server"  # names the server in "... did not start"
    # wait_for's default, in seconds: generous, because a loaded 2-core CI machine once took
    # longer than 15 s to deliver a Telegram reply (2026-12-07); a passing wait ends at once
    wait_timeout = 30.0
    poll_interval = 0.02  # how often wait_for asks again

    def __init__(self) -> None:
        self.port = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    # --- for subclasses --------------------------------------------------------------
    def routes(self, app: web.Application) -> None:
        """Add this server's handlers to `app`."""
        raise NotImplementedError

    async def on_start(self) -> None:
        """Runs on the server's loop before the app is built."""

    async def on_stop(self) -> None:
        """Runs on the server's loop once it is told to stop, before the site closes."""

    def _progress(self) -> str:
        """What a timed-out `wait_for` reports, to show how far the code under test got."""
        return ""

    # --- lifecycle -------------------------------------------------------------------
    def __enter__(self: _Server) -> _Server:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"{self.label} did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread:
            self._thread.join(10)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        await self.on_start()
        app = web.Application()
        self.routes(app)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.port = runner.addresses[0][1]
        self._ready.set()
        await self._stop.wait()
        await self.on_stop()
        await runner.cleanup()

    # --- for tests -------------------------------------------------------------------
    def wait_for(self: _Server, predicate: Callable[[_Server], _T], timeout: float | None = None) -> _T:
        """Poll until `predicate(self)` is truthy; return its value.

        The fake answers on its own thread, so a test waits for the effect it expects
        rather than sleeping a guessed time.
        """
        deadline = time.monotonic() + (self.wait_timeout if timeout is None else timeout)
        while time.monotonic() < deadline:
            value = predicate(self)
            if value:
                return value
            time.sleep(self.poll_interval)
        progress = self._progress()
        raise AssertionError(f"timed out; {progress}" if progress else "timed out")

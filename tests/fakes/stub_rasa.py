"""A stand-in for the Rasa server's Slack bridge, so connector tests need no TensorFlow.

It checks the bridge signature exactly as the real channel does, records what arrived,
and answers with whatever the test queued (or echoes the text).
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from aiohttp import web

from connectors import bridge_signing


class StubRasa:
    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.received: list[dict[str, Any]] = []
        self.refused = 0
        self.replies: list[list[dict[str, Any]]] = []  # answered in order, then echo
        self.port = 0
        self._ready = threading.Event()

    def __enter__(self) -> StubRasa:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("stub Rasa did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        app = web.Application()
        app.router.add_post("/webhooks/{channel}/webhook", self._webhook)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()

    async def _webhook(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not bridge_signing.verify(
            self.secret,
            body,
            request.headers.get("X-Bridge-Timestamp"),
            request.headers.get("X-Bridge-Signature"),
        ):
            self.refused += 1
            return web.json_response({"error": "unsigned"}, status=401)
        message = json.loads(body)
        self.received.append(message)
        if self.replies:
            return web.json_response(self.replies.pop(0))
        return web.json_response([{"recipient_id": message["sender"], "text": f"echo: {message['message']}"}])

"""A stand-in for the Rasa server's Slack bridge, so connector tests need no TensorFlow.

It checks the bridge signature exactly as the real channel does, records what arrived,
and answers with whatever the test queued (or echoes the text).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from connectors import bridge_signing
from tests.fakes.loopback import LoopbackServer


class StubRasa(LoopbackServer):
    """Start with `with StubRasa(secret) as rasa:`; `rasa.port` is the RASA_PORT to use."""

    label = "stub Rasa"

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret
        self.received: list[dict[str, Any]] = []
        self.refused = 0
        self.replies: list[list[dict[str, Any]]] = []  # answered in order, then echo

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/webhooks/{channel}/webhook", self._webhook)

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

"""The REST channel and the signed bridges pass the client's `message_id` to Rasa, refuse an
unusable one, and answer 503 (send it again) when a message with one could not be handled.
Without a `message_id` they answer as before. Served by a real Sanic server on loopback, with
a stand-in for Rasa's message handler (no model needed)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import uuid

import httpx
import pytest
from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from connectors import bridge_signing
from connectors.rasa_channels import GuardedRestInput, TelegramBridgeInput

SECRET = "bridge-test-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Handler:
    def __init__(self) -> None:
        self.seen: list[UserMessage] = []
        self.fail = False

    async def __call__(self, message: UserMessage) -> None:
        self.seen.append(message)
        if self.fail:
            raise RuntimeError("the tracker store is down")
        await message.output_channel.send_text_message(message.sender_id, f"answer to {message.text}")


@pytest.fixture(scope="module")
def running_server():
    """One Sanic app for the module (Sanic 21.12 can't set up a second app in one process),
    served from its own thread and event loop."""
    previous = os.environ.get("BRIDGE_SECRET")
    os.environ["BRIDGE_SECRET"] = SECRET
    handler = Handler()
    app = Sanic(f"channels-{uuid.uuid4().hex[:8]}")
    app.blueprint(GuardedRestInput().blueprint(handler), url_prefix="/webhooks/rest")
    app.blueprint(TelegramBridgeInput().blueprint(handler), url_prefix="/webhooks/telegram")
    port = _free_port()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state: dict = {}

    def serve() -> None:
        asyncio.set_event_loop(loop)

        async def start() -> None:
            server = await app.create_server(
                host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
            )
            await server.startup()
            state["server"] = server
            ready.set()

        loop.run_until_complete(start())
        loop.run_forever()
        state["server"].close()
        loop.run_until_complete(state["server"].wait_closed())
        loop.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(30), "the test server did not start"
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        yield client, handler
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    if previous is None:
        os.environ.pop("BRIDGE_SECRET", None)
    else:
        os.environ["BRIDGE_SECRET"] = previous


@pytest.fixture
def server(running_server):
    client, handler = running_server
    handler.seen.clear()
    handler.fail = False
    return client, handler


def test_the_rest_channel_passes_the_message_id_to_rasa(server):
    client, handler = server
    body = {"sender": "p", "message": "hi", "message_id": "m-1"}
    reply = client.post("/webhooks/rest/webhook", json=body)
    assert reply.status_code == 200
    assert reply.json() == [{"recipient_id": "p", "text": "answer to hi"}]
    assert handler.seen[-1].message_id == "m-1" and handler.seen[-1].input_channel == "rest"


def test_without_a_message_id_the_rest_channel_answers_as_before(server):
    client, handler = server
    reply = client.post("/webhooks/rest/webhook", json={"sender": "p", "message": "hi"})
    assert reply.status_code == 200 and reply.json() == [{"recipient_id": "p", "text": "answer to hi"}]
    assert handler.seen[-1].message_id  # Rasa's own random one
    handler.fail = True
    failed = client.post("/webhooks/rest/webhook", json={"sender": "p", "message": "hi"})
    assert failed.status_code == 200 and failed.json() == []  # Rasa's RestInput does just this
    health = client.get("/webhooks/rest/")
    assert health.json() == {"status": "ok"}


def test_a_message_with_an_id_that_could_not_be_handled_is_answered_503(server):
    client, handler = server
    handler.fail = True
    body = {"sender": "p", "message": "hi", "message_id": "m-2"}
    failed = client.post("/webhooks/rest/webhook", json=body)
    assert failed.status_code == 503 and failed.json()["message_id"] == "m-2"


def test_an_unusable_message_id_is_refused(server):
    client, handler = server
    body = {"sender": "p", "message": "hi", "message_id": {"not": "text"}}
    refused = client.post("/webhooks/rest/webhook", json=body)
    assert refused.status_code == 400 and not handler.seen


def _signed(body: dict) -> tuple[bytes, dict]:
    raw = json.dumps(body).encode()
    return raw, bridge_signing.headers(SECRET, raw)


def test_the_signed_bridge_passes_the_message_id_and_asks_for_a_repeat_on_failure(server):
    client, handler = server
    raw, headers = _signed({"sender": "42", "message": "hi", "metadata": {}, "message_id": "t-1"})
    reply = client.post("/webhooks/telegram/webhook", content=raw, headers=headers)
    assert reply.status_code == 200 and reply.json()[0]["text"] == "answer to hi"
    assert handler.seen[-1].message_id == "t-1" and handler.seen[-1].input_channel == "telegram"
    handler.fail = True
    raw, headers = _signed({"sender": "42", "message": "hi", "metadata": {}, "message_id": "t-2"})
    assert (client.post("/webhooks/telegram/webhook", content=raw, headers=headers)).status_code == 503
    raw, headers = _signed({"sender": "42", "message": "hi", "metadata": {}})
    unchanged = client.post("/webhooks/telegram/webhook", content=raw, headers=headers)
    assert unchanged.status_code == 200 and unchanged.json() == []
    raw, headers = _signed({"sender": "42", "message": "hi", "message_id": ["x"]})
    assert (client.post("/webhooks/telegram/webhook", content=raw, headers=headers)).status_code == 400

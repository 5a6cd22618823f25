"""The REST channel and the signed bridges pass the client's `message_id` to Rasa, refuse an
unusable one, and answer 503 (send it again) when a message with one could not be handled.
Without a `message_id` they answer as before. Each channel keeps to its own sender ids
(connectors/rasa/senders.py), and the web page's socket.io channel issues signed conversation ids.
Served by a real Sanic server on loopback, with a stand-in for Rasa's message handler (no
model needed)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import uuid

import httpx
import pytest
import socketio
from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from connectors import bridge_signing
from connectors.rasa import senders
from connectors.rasa.channels import (
    GuardedRestInput,
    GuardedSocketIOInput,
    SlackBridgeInput,
    TelegramBridgeInput,
)

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
    app.blueprint(SlackBridgeInput().blueprint(handler), url_prefix="/webhooks/slack")
    page_channel = GuardedSocketIOInput(session_persistence=True, metadata_key="customData")
    app.blueprint(page_channel.blueprint(handler), url_prefix="/webhooks/socketio")
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
        client.port = port
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
    assert reply.json() == [{"recipient_id": "web-p", "text": "answer to hi"}]
    assert handler.seen[-1].message_id == "m-1" and handler.seen[-1].input_channel == "rest"


def test_without_a_message_id_the_rest_channel_answers_as_before(server):
    client, handler = server
    reply = client.post("/webhooks/rest/webhook", json={"sender": "p", "message": "hi"})
    assert reply.status_code == 200 and reply.json() == [{"recipient_id": "web-p", "text": "answer to hi"}]
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
    raw, headers = _signed({"sender": "telegram-42", "message": "hi", "metadata": {}, "message_id": "t-1"})
    reply = client.post("/webhooks/telegram/webhook", content=raw, headers=headers)
    assert reply.status_code == 200 and reply.json()[0]["text"] == "answer to hi"
    assert handler.seen[-1].message_id == "t-1" and handler.seen[-1].input_channel == "telegram"
    handler.fail = True
    raw, headers = _signed({"sender": "telegram-42", "message": "hi", "metadata": {}, "message_id": "t-2"})
    assert (client.post("/webhooks/telegram/webhook", content=raw, headers=headers)).status_code == 503
    raw, headers = _signed({"sender": "telegram-42", "message": "hi", "metadata": {}})
    unchanged = client.post("/webhooks/telegram/webhook", content=raw, headers=headers)
    assert unchanged.status_code == 200 and unchanged.json() == []
    raw, headers = _signed({"sender": "telegram-42", "message": "hi", "message_id": ["x"]})
    assert (client.post("/webhooks/telegram/webhook", content=raw, headers=headers)).status_code == 400


# --- every channel keeps to its own sender ids -----------------------------------------------


def test_a_rest_sender_is_put_in_the_web_namespace_whatever_it_claims(server):
    client, handler = server
    for claimed, expected in (
        ("telegram-4242", "web-telegram-4242"),
        ("slack-T0EXAMPLE1-U0EXTEACH1", "web-slack-T0EXAMPLE1-U0EXTEACH1"),
        ("web-p", "web-web-p"),
        (4242, "web-4242"),
    ):
        reply = client.post("/webhooks/rest/webhook", json={"sender": claimed, "message": "hi"})
        assert reply.status_code == 200
        assert handler.seen[-1].sender_id == expected == reply.json()[0]["recipient_id"]
    for odd in ("", None, "x" * 5000, "a/b c", "\u00fc"):
        client.post("/webhooks/rest/webhook", json={"sender": odd, "message": "hi"})
        assert handler.seen[-1].sender_id.startswith("web-~"), odd
    client.post("/webhooks/rest/webhook", json={"message": "hi"})  # no sender: not Rasa's shared "default"
    assert handler.seen[-1].sender_id.startswith("web-~")


def test_a_rest_stream_is_in_the_web_namespace_too(server):
    client, handler = server
    client.post("/webhooks/rest/webhook?stream=true", json={"sender": "telegram-4242", "message": "hi"})
    assert handler.seen[-1].sender_id == "web-telegram-4242"


def test_a_signed_bridge_takes_only_its_own_channels_senders(server):
    client, handler = server
    for path, sender in (
        ("telegram", "slack-T0EXAMPLE1-U0EXTEACH1"),
        ("telegram", "web-p"),
        ("telegram", "42"),
        ("slack", "telegram-42"),
        ("slack", "U0EXTEACH1"),
    ):
        raw, headers = _signed({"sender": sender, "message": "hi", "metadata": {}})
        refused = client.post(f"/webhooks/{path}/webhook", content=raw, headers=headers)
        assert refused.status_code == 400, (path, sender)
    assert not handler.seen
    raw, headers = _signed({"sender": "slack-T0EXAMPLE1-U0EXTEACH1", "message": "hi", "metadata": {}})
    assert client.post("/webhooks/slack/webhook", content=raw, headers=headers).status_code == 200
    assert handler.seen[-1].sender_id == "slack-T0EXAMPLE1-U0EXTEACH1"


# --- the web page's socket.io channel ---------------------------------------------------------


class Page:
    """A socket.io client speaking the page's protocol (connectors/web/static/chat.js)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.client = socketio.AsyncClient()
        self.confirmed: list = []
        self.received: list[dict] = []
        self.client.on("session_confirm", lambda data: self.confirmed.append(data))
        self.client.on("bot_uttered", lambda data: self.received.append(data))

    async def __aenter__(self) -> Page:
        await self.client.connect(
            f"http://127.0.0.1:{self.port}", socketio_path="/socket.io", transports=["polling"]
        )
        return self

    async def __aexit__(self, *_exc) -> None:
        await self.client.disconnect()

    async def session(self, session_id) -> str:
        count = len(self.confirmed)
        await self.client.emit("session_request", {"session_id": session_id})
        for _ in range(100):
            if len(self.confirmed) > count:
                return self.confirmed[-1]
            await asyncio.sleep(0.05)
        raise AssertionError("no session_confirm")

    async def say(self, uttered: dict) -> dict:
        return await self.client.call("user_uttered", uttered, timeout=10)


def _socket(client, visit):
    return asyncio.run(visit(client.port))


def test_the_page_is_given_a_signed_conversation_and_keeps_it_after_a_reload(server):
    client, handler = server

    async def visit(port: int):
        async with Page(port) as page:
            token = await page.session(None)
            ack = await page.say({"message": "hi", "session_id": token, "message_id": "pm-1"})
            first = list(page.received)
        async with Page(port) as reloaded:
            again = await reloaded.session(token)
        return token, ack, first, again

    token, ack, first, again = _socket(client, visit)
    sender = senders.page_sender(SECRET, token)
    assert sender and sender.startswith("web-page~")
    assert again == token
    message = handler.seen[-1]
    assert (message.sender_id, message.message_id, message.input_channel) == (sender, "pm-1", "socketio")
    assert ack == {"ok": True, "message_id": "pm-1"}
    assert first == [{"text": "answer to hi", "reply_to": "pm-1", "part": 0}]


def test_a_forged_or_tampered_conversation_id_is_given_a_new_conversation(server):
    client, handler = server
    _, real = senders.new_page_conversation(SECRET)
    conversation, signature = real.split(".")
    other_secret = senders.new_page_conversation("not-our-secret")[1]
    claims = [
        "telegram-4242",
        conversation,
        f"{conversation[::-1]}.{signature}",
        other_secret,
        {"nested": "object"},
        "x" * 10_000,
    ]

    async def visit(port: int):
        async with Page(port) as page:
            given = [await page.session(claim) for claim in claims]
            # a message naming another conversation stays in this socket's own
            ack = await page.say({"message": "hi", "session_id": real, "message_id": "pm-2"})
            return given, ack, page.confirmed[-1]

    given, ack, last = _socket(client, visit)
    for claim, token in zip(claims, given, strict=True):
        assert senders.page_sender(SECRET, token), claim
        assert token not in (claim, real)
    assert len(set(given)) == len(claims)
    assert ack["ok"] and handler.seen[-1].sender_id == senders.page_sender(SECRET, last)


def test_a_message_before_any_session_request_still_gets_a_conversation_of_its_own(server):
    client, handler = server

    async def visit(port: int):
        async with Page(port) as page:
            ack = await page.say(
                {"message": "hi", "session_id": "telegram-4242", "customData": '{"school": "x"}'}
            )
            await asyncio.sleep(0.2)
            return ack, page.confirmed

    ack, confirmed = _socket(client, visit)
    assert ack["ok"] and len(confirmed) == 1
    assert handler.seen[-1].sender_id == senders.page_sender(SECRET, confirmed[0])
    assert handler.seen[-1].metadata["school"] == "x"


def test_a_page_message_that_could_not_be_handled_is_acknowledged_as_not_handled(server):
    client, handler = server
    handler.fail = True

    async def visit(port: int):
        async with Page(port) as page:
            token = await page.session(None)
            failed = await page.say({"message": "hi", "session_id": token, "message_id": "pm-3"})
            odd = await page.say({"message": "hi", "session_id": token, "message_id": ["x"]})
            return failed, odd

    failed, odd = _socket(client, visit)
    assert failed == {"ok": False, "message_id": "pm-3"}
    assert odd == {"ok": False, "message_id": None}

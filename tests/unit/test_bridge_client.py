"""connectors.bridge_client: every message carries a message_id and an X-Conversation-Id header
(nginx keeps the conversation on one Rasa server), and a failed delivery is sent again with
the same message_id, a bounded number of times."""

from __future__ import annotations

import json

import pytest
from aiohttp import web

from connectors import bridge_signing
from connectors.bridge_client import UNAVAILABLE, RasaClient

SECRET = "s3cret"


@pytest.fixture
async def bridge():
    """A stand-in bridge answering with the statuses a test queues, then 200."""
    state = {"statuses": [], "received": []}

    async def webhook(request: web.Request) -> web.Response:
        body = await request.read()
        signed = bridge_signing.verify(
            SECRET, body, request.headers.get("X-Bridge-Timestamp"), request.headers.get("X-Bridge-Signature")
        )
        state["received"].append((json.loads(body), dict(request.headers), signed))
        status = state["statuses"].pop(0) if state["statuses"] else 200
        if status != 200:
            return web.json_response({"error": "x"}, status=status)
        return web.json_response([{"recipient_id": "42", "text": "the answer"}])

    app = web.Application()
    app.router.add_post("/webhooks/telegram/webhook", webhook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    state["url"] = f"http://127.0.0.1:{port}/webhooks/telegram/webhook"
    yield state
    await runner.cleanup()


async def test_each_message_carries_a_message_id_and_the_conversation_header(bridge):
    client = RasaClient(bridge["url"], SECRET, retry_pauses_s=(0.01, 0.01))
    assert await client.send("42", "hello", {"telegram": {"chat_id": 42}}) == [
        {"recipient_id": "42", "text": "the answer"}
    ]
    assert await client.send("42", "again", {}, message_id="update-7")
    await client.close()
    (first, headers, signed), (second, _, _) = bridge["received"]
    assert signed and first["sender"] == "42" and first["message"] == "hello"
    assert len(first["message_id"]) == 32 and second["message_id"] == "update-7"
    assert headers["X-Conversation-Id"] == "42"


async def test_a_restarting_rasa_is_sent_the_same_message_again(bridge):
    bridge["statuses"] = [502, 503]
    client = RasaClient(bridge["url"], SECRET, retry_pauses_s=(0.01, 0.01))
    assert (await client.send("42", "hello", {}))[0]["text"] == "the answer"
    await client.close()
    ids = {body["message_id"] for body, _, _ in bridge["received"]}
    assert len(bridge["received"]) == 3 and len(ids) == 1
    assert all(signed for _, _, signed in bridge["received"])


async def test_the_person_is_told_to_try_again_after_the_last_try(bridge):
    bridge["statuses"] = [503, 503, 503, 503]
    client = RasaClient(bridge["url"], SECRET, retry_pauses_s=(0.01, 0.01))
    assert await client.send("42", "hello", {}) == [{"text": UNAVAILABLE}]
    await client.close()
    assert len(bridge["received"]) == 3


async def test_a_refusal_is_not_repeated(bridge):
    bridge["statuses"] = [401]
    client = RasaClient(bridge["url"], SECRET, retry_pauses_s=(0.01, 0.01))
    assert await client.send("42", "hello", {}) == [{"text": UNAVAILABLE}]
    await client.close()
    assert len(bridge["received"]) == 1


async def test_an_unreachable_bridge_is_tried_a_bounded_number_of_times():
    client = RasaClient("http://127.0.0.1:9/webhooks/telegram/webhook", SECRET, retry_pauses_s=(0.01, 0.01))
    assert await client.send("42", "hello", {}) == [{"text": UNAVAILABLE}]
    await client.close()

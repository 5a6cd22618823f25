"""A local fake of the Telegram Bot API, on loopback, for connector and delivery tests.

Like tests/fakes/fake_slack.py: an aiohttp server in a thread that records every call.
`POST /bot<token>/<method>` answers in the Bot API's envelope (`{"ok": true, "result": ...}`);
`getUpdates` long-polls (holds the request up to `timeout` seconds until an update is
queued, and honours `offset`), so python-telegram-bot's real Updater runs against it.
A test queues updates with `push_message` / `push_callback`, makes the next call(s) of a
method fail with `fail_next`, and can switch on Telegram's flood limits (`enforce_limits`)
to check that a sender stays within them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web

from tests.fakes.loopback import LoopbackServer

BOT_ID = 7000000001
BOT_USERNAME = "example_send_bot"
SEND_METHODS = {"sendMessage"}  # what the flood limits count

TOO_MANY_REQUESTS = {
    "ok": False,
    "error_code": 429,
    "description": "Too Many Requests: retry after 1",
    "parameters": {"retry_after": 1},
}
BLOCKED = {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
CHAT_NOT_FOUND = {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
SERVER_ERROR = {"ok": False, "error_code": 500, "description": "Internal Server Error"}


@dataclass
class Call:
    method: str
    token: str
    body: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    result: Any = None  # what the fake answered (e.g. the sent message, with its message_id)


@dataclass
class Limits:
    """Telegram's flood limits: one message a second per chat, thirty a second overall."""

    per_chat_interval_s: float = 1.0
    overall_per_second: int = 30


def message_update(
    update_id: int, chat_id: int, text: str, *, chat_type: str = "private", user_id: int | None = None
) -> dict[str, Any]:
    """An `Update` with a text message; a leading /command gets its bot_command entity."""
    user_id = chat_id if user_id is None else user_id
    chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
    chat.update({"first_name": "Parent"} if chat_type == "private" else {"title": "Year 3 parents"})
    message: dict[str, Any] = {
        "message_id": update_id,
        "date": int(time.time()),
        "chat": chat,
        "from": {"id": user_id, "is_bot": False, "first_name": "Parent"},
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": update_id, "message": message}


def callback_update(
    update_id: int, chat_id: int, data: str, *, message_id: int = 1, chat_type: str = "private"
) -> dict[str, Any]:
    """An `Update` for a press on an inline keyboard button under the bot's message `message_id`."""
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cbq-{update_id}",
            "from": {"id": chat_id, "is_bot": False, "first_name": "Parent"},
            "chat_instance": f"ci-{chat_id}",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": chat_type},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "SEND assistant"},
                "text": "(the bot's message)",
            },
        },
    }


class FakeTelegram(LoopbackServer):
    """Start with `with FakeTelegram() as telegram:`; `telegram.api_url` is the TELEGRAM_API_URL."""

    label = "fake Telegram"

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Call] = []
        self.limits: Limits | None = None
        self.webhook: dict[str, Any] = {}
        self._failures: dict[str, deque[tuple[int, dict[str, Any]]]] = {}
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._sent_at: dict[str, float] = {}  # chat -> last accepted message
        self._recent: deque[float] = deque()  # accepted messages in the last second
        self._lock = threading.Lock()
        self._queued: asyncio.Condition | None = None  # notified when an update is queued

    # --- lifecycle -------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def on_start(self) -> None:
        self._queued = asyncio.Condition()

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/bot{token}/{method}", self._api)

    async def on_stop(self) -> None:
        async with self._queued:  # held getUpdates polls answer now, so the site can close
            self._queued.notify_all()

    # --- Bot API ---------------------------------------------------------------------
    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return json.loads(await request.read() or b"{}")
        if request.content_type == "multipart/form-data":
            return {k: str(v) for k, v in (await request.post()).items()}
        body = {k: v[0] for k, v in parse_qs((await request.read()).decode()).items()}
        for key in ("reply_markup", "allowed_updates", "link_preview_options"):
            if isinstance(body.get(key), str):
                body[key] = json.loads(body[key])
        return body

    async def _api(self, request: web.Request) -> web.Response:
        method, token = request.match_info["method"], request.match_info["token"]
        try:
            body = {**dict(request.query), **await self._body(request)}
        except ConnectionResetError:  # the client went away (a connector stopping mid-request)
            return web.Response(status=499)
        with self._lock:
            refusal = self._refusal(method, body)
            answer = None if refusal is not None or method == "getUpdates" else self._answer(method, body)
            name = method if refusal is None else f"{method}:{refusal[0]}"
            self.calls.append(Call(name, token, body, result=answer))
        if refusal is not None:
            return web.json_response(refusal[1], status=refusal[0])
        if method == "getUpdates":
            return web.json_response({"ok": True, "result": await self._poll(body)})
        return web.json_response({"ok": True, "result": answer})

    def _refusal(self, method: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        """A queued failure, or a flood-limit 429; None to answer normally. Holds the lock."""
        queued = self._failures.get(method)
        if queued:
            return queued.popleft()
        if self.limits is None or method not in SEND_METHODS:
            return None
        now, chat = time.monotonic(), str(body.get("chat_id"))
        while self._recent and now - self._recent[0] >= 1.0:
            self._recent.popleft()
        too_soon = now - self._sent_at.get(chat, -1e9) < self.limits.per_chat_interval_s
        if too_soon or len(self._recent) >= self.limits.overall_per_second:
            return 429, TOO_MANY_REQUESTS
        self._sent_at[chat] = now
        self._recent.append(now)
        return None

    def _answer(self, method: str, body: dict[str, Any]) -> Any:
        if method == "getMe":
            return {"id": BOT_ID, "is_bot": True, "first_name": "SEND assistant", "username": BOT_USERNAME,
                    "can_join_groups": True, "can_read_all_group_messages": False,
                    "supports_inline_queries": False}  # fmt: skip
        if method == "setWebhook":
            self.webhook = dict(body)
        if method == "deleteWebhook":
            self.webhook = {}
        if method == "sendMessage":
            chat_id = body.get("chat_id")
            return {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": int(chat_id) if str(chat_id).lstrip("-").isdigit() else 0, "type": "private"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "SEND assistant"},
                "text": body.get("text", ""),
            }
        return True  # deleteWebhook, setWebhook, sendChatAction, answerCallbackQuery, editMessage...

    async def _poll(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(body.get("offset") or 0)
        limit = int(body.get("limit") or 100)
        timeout = float(body.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        async with self._queued:
            while True:
                with self._lock:
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]  # confirmed
                    ready = self._updates[:limit]
                left = deadline - time.monotonic()
                if ready or left <= 0 or self._stop.is_set():
                    return ready
                try:
                    await asyncio.wait_for(self._queued.wait(), left)
                except asyncio.TimeoutError:
                    pass

    # --- test hooks ------------------------------------------------------------------
    def _queue(self, update: dict[str, Any]) -> int:
        async def add() -> None:
            with self._lock:
                self._updates.append(update)
            async with self._queued:
                self._queued.notify_all()

        asyncio.run_coroutine_threadsafe(add(), self._loop).result(5)
        return update["update_id"]

    def next_update_id(self) -> int:
        return next(self._update_ids)

    def push_message(self, chat_id: int, text: str, *, chat_type: str = "private") -> int:
        """Queue a message from chat `chat_id` for getUpdates; returns its update_id."""
        return self._queue(message_update(self.next_update_id(), chat_id, text, chat_type=chat_type))

    def push_callback(self, chat_id: int, data: str, *, message_id: int = 1) -> int:
        """Queue a press on an inline button carrying `data`; returns its update_id."""
        return self._queue(callback_update(self.next_update_id(), chat_id, data, message_id=message_id))

    def fail_next(self, method: str, status: int, body: dict[str, Any], times: int = 1) -> None:
        """Answer the next `times` calls of `method` with this HTTP status and error body."""
        with self._lock:
            self._failures.setdefault(method, deque()).extend([(status, body)] * times)

    def enforce_limits(self, limits: Limits | None = Limits()) -> None:  # noqa: B008
        """Answer 429 to sendMessage beyond Telegram's flood limits (None switches it off)."""
        with self._lock:
            self.limits = limits
            self._sent_at.clear()
            self._recent.clear()

    # --- what the bot did ------------------------------------------------------------
    def of(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def sent_to(self, chat_id: int) -> list[Call]:
        """sendMessage calls to one chat, in order."""
        return [c for c in self.of("sendMessage") if str(c.body.get("chat_id")) == str(chat_id)]

    def _progress(self) -> str:
        return f"calls so far: {[c.method for c in self.calls][-30:]}"

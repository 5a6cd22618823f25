"""A local fake of the Telegram Bot API, on loopback, for connector and delivery tests.

Like tests/fakes/fake_slack.py: an aiohttp server in a thread that records every call.
`POST /bot<token>/<method>` answers in the Bot API's envelope (`{"ok": true, "result": ...}`);
`getUpdates` long-polls (holds the request up to `timeout` seconds until an update is
queued, and honours `offset`), so python-telegram-bot's real Updater runs against it.
A test queues updates with `push_message` / `push_callback` / `push_file` / `push_edit` (or
any update with `push_update`), delivers one again with `redeliver` (as Telegram does when a
webhook answer was late, or when getUpdates ran again before the offset was confirmed),
refuses messages to a person who never started the bot with `not_started`, makes the next
call(s) of a method fail with `fail_next`, and can switch on Telegram's flood limits
(`enforce_limits`) to check that a sender stays within them.
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
# What Telegram answers when a bot writes first to somebody who never started it.
CANT_INITIATE = {
    "ok": False,
    "error_code": 403,
    "description": "Forbidden: bot can't initiate conversation with a user",
}


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


def _chat(chat_id: int, chat_type: str) -> dict[str, Any]:
    chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
    chat.update({"first_name": "Parent"} if chat_type == "private" else {"title": "Year 3 parents"})
    return chat


def message_update(
    update_id: int,
    chat_id: int,
    text: str | None,
    *,
    chat_type: str = "private",
    user_id: int | None = None,
    message_id: int | None = None,
    edited: bool = False,
    file: str | None = None,
    caption: str | None = None,
) -> dict[str, Any]:
    """An `Update` with a message: text (a leading /command gets its bot_command entity), or a
    `file` ("photo", "document", "video", "voice") with an optional `caption`.

    `edited`: the update Telegram sends when the person edits message `message_id`: a new
    update_id, the same message_id, an `edit_date`, under "edited_message".
    """
    user_id = chat_id if user_id is None else user_id
    now = int(time.time())
    message: dict[str, Any] = {
        "message_id": update_id if message_id is None else message_id,
        "date": now - 5 if edited else now,
        "chat": _chat(chat_id, chat_type),
        "from": {"id": user_id, "is_bot": False, "first_name": "Parent"},
    }
    if text is not None:
        message["text"] = text
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    if file is not None:
        message.update(FILES[file](update_id))
        if caption is not None:
            message["caption"] = caption
    if edited:
        message["edit_date"] = now
    return {"update_id": update_id, "edited_message" if edited else "message": message}


def _file_ids(n: int) -> dict[str, Any]:
    return {"file_id": f"file-{n}", "file_unique_id": f"unique-{n}"}


FILES = {
    "photo": lambda n: {"photo": [{**_file_ids(n), "width": 640, "height": 480, "file_size": 40_000}]},
    "document": lambda n: {
        "document": {**_file_ids(n), "file_name": "letter.pdf", "mime_type": "application/pdf"}
    },
    "video": lambda n: {"video": {**_file_ids(n), "width": 640, "height": 480, "duration": 12}},
    "voice": lambda n: {"voice": {**_file_ids(n), "duration": 7, "mime_type": "audio/ogg"}},
}


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
        self._again: list[dict[str, Any]] = []  # delivered again, whatever the offset
        self._pushed: dict[int, dict[str, Any]] = {}  # every update queued, by update_id
        self._not_started: set[str] = set()  # chats that never started the bot
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
        if method in ("sendMessage", "sendChatAction") and str(body.get("chat_id")) in self._not_started:
            return 403, CANT_INITIATE
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
                    ready = [*self._again, *self._updates][:limit]
                    self._again = self._again[len(ready) :]
                left = deadline - time.monotonic()
                if ready or left <= 0 or self._stop.is_set():
                    return ready
                try:
                    await asyncio.wait_for(self._queued.wait(), left)
                except asyncio.TimeoutError:
                    pass

    # --- test hooks ------------------------------------------------------------------
    def _queue(self, update: dict[str, Any], *, again: bool = False) -> int:
        async def add() -> None:
            with self._lock:
                (self._again if again else self._updates).append(update)
                self._pushed[update["update_id"]] = update
            async with self._queued:
                self._queued.notify_all()

        asyncio.run_coroutine_threadsafe(add(), self._loop).result(5)
        return update["update_id"]

    def next_update_id(self) -> int:
        return next(self._update_ids)

    def push_message(self, chat_id: int, text: str, *, chat_type: str = "private") -> int:
        """Queue a message from chat `chat_id` for getUpdates; returns its update_id."""
        return self._queue(message_update(self.next_update_id(), chat_id, text, chat_type=chat_type))

    def push_message_from(self, chat_id: int, user_id: int, text: str, *, chat_type: str = "group") -> int:
        """Queue a message that person `user_id` wrote in group `chat_id`; returns its update_id."""
        update_id = self.next_update_id()
        return self._queue(message_update(update_id, chat_id, text, chat_type=chat_type, user_id=user_id))

    def push_callback(self, chat_id: int, data: str, *, message_id: int = 1) -> int:
        """Queue a press on an inline button carrying `data`; returns its update_id."""
        return self._queue(callback_update(self.next_update_id(), chat_id, data, message_id=message_id))

    def push_file(self, chat_id: int, file: str, caption: str | None = None, **kwargs: Any) -> int:
        """Queue a photo, document, video or voice message, with an optional caption."""
        update_id = self.next_update_id()
        return self._queue(message_update(update_id, chat_id, None, file=file, caption=caption, **kwargs))

    def push_edit(self, update_id: int, text: str) -> int:
        """Queue the update Telegram sends when the message of update `update_id` is edited to `text`."""
        original = self._pushed[update_id]["message"]
        edit = message_update(
            self.next_update_id(),
            original["chat"]["id"],
            text,
            chat_type=original["chat"]["type"],
            user_id=original["from"]["id"],
            message_id=original["message_id"],
            edited=True,
        )
        return self._queue(edit)

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue any update, as given."""
        return self._queue(update)

    def redeliver(self, update_id: int) -> None:
        """Deliver update `update_id` again, exactly as before (same update_id, same contents)."""
        self._queue(self._pushed[update_id], again=True)

    def update(self, update_id: int) -> dict[str, Any]:
        """An update as it was queued (for a test that posts it to a webhook itself)."""
        return self._pushed[update_id]

    def not_started(self, chat_id: int) -> None:
        """Refuse messages to `chat_id` with 403, as for a person who never started the bot."""
        with self._lock:
            self._not_started.add(str(chat_id))

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

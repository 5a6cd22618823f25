"""A local fake of the Slack Web API and Socket Mode, on loopback, for connector tests.

Modelled on bolt-python's and python-slack-sdk's own mock servers
(`tests/mock_web_api_server`, `tests/adapter_tests/socket_mode/mock_socket_mode_server.py`):
every Web API call is recorded; `apps.connections.open` hands out a WebSocket URL on this
same server, which says `hello`, pushes queued envelopes and records the client's acks.
A test can make the next call(s) of a method answer 429 to exercise retries.

Several workspaces: `install_code(team_id)` is the one-time code Slack would hand an
installer of that workspace; `oauth.v2.access` swaps it for a bot token of that workspace
(`token_of[team_id]`), and `auth.test` with that token answers as that workspace's bot.
Every call records the token it came with (`Call.token`; `tokens_used(method)`).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from aiohttp import WSMsgType, web

from tests.fakes.loopback import LoopbackServer

BOT_USER_ID = "U0BOTUSER1"
TEAM_ID = "T0EXAMPLE1"


@dataclass
class Call:
    method: str
    token: str
    body: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


class FakeSlack(LoopbackServer):
    """Start with `with FakeSlack() as slack:`; `slack.api_url` is the SLACK_API_URL to use."""

    label = "fake Slack"
    wait_timeout = 30.0
    poll_interval = 0.05

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Call] = []
        self.uploads: dict[str, bytes] = {}
        self.acks: list[str] = []
        self.rate_limit_next: dict[str, int] = {}  # method -> how many 429s to answer first
        self.gone_users: set[str] = set()  # conversations.open answers user_not_found for these
        # Several workspaces (OAuth): codes handed to installers, and the tokens they became.
        self.client_id: str | None = None  # set both to check oauth.v2.access's credentials
        self.client_secret: str | None = None
        self.install_codes: dict[str, tuple[str, str]] = {}  # code -> (team id, installer)
        self.token_of: dict[str, str] = {}  # team id -> the bot token oauth.v2.access issued
        self.team_of: dict[str, str] = {}  # bot token -> team id
        self.members_of: dict[str, set[str]] = {}  # team id -> its members; others are user_not_found
        self._ts = itertools.count(1)
        self._lock = threading.Lock()
        self._outbox: asyncio.Queue | None = None  # envelopes for the Socket Mode client
        self.sockets = 0

    # --- lifecycle -------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    async def on_start(self) -> None:
        self._outbox = asyncio.Queue()  # made on the server's loop, which `push` hands envelopes to

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)  # a few methods are GETs (auth.revoke)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/link/", self._socket)

    # --- Web API ---------------------------------------------------------------------
    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        authorization = request.headers.get("Authorization", "")
        basic = None  # oauth.v2.access authenticates with the app's client id and secret
        if authorization.startswith("Basic "):
            basic, authorization = base64.b64decode(authorization[6:]).decode().partition(":")[::2], ""
        token = authorization.removeprefix("Bearer ").strip()
        if request.content_type == "multipart/form-data":
            body = {k: str(v) for k, v in (await request.post()).items()}
        elif request.content_type == "application/json":
            body = json.loads(await request.read() or b"{}")
        else:
            body = {k: v[0] for k, v in parse_qs((await request.read()).decode()).items()}
            if "token" in body and not token:
                token = body.pop("token")
        for key in ("blocks", "files"):
            if isinstance(body.get(key), str):
                body[key] = json.loads(body[key])
        body = {**dict(request.query), **body}  # the async client sends some arguments as a query
        with self._lock:
            if self.rate_limit_next.get(method, 0) > 0:
                self.rate_limit_next[method] -= 1
                self.calls.append(Call(method + ":429", token, body))
                return web.json_response(
                    {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "0"}
                )
            self.calls.append(Call(method, token, body))
        if method == "oauth.v2.access":
            return web.json_response(self._oauth_access(body, basic))
        if not token.startswith(("xoxb-", "xapp-")):
            return web.json_response({"ok": False, "error": "not_authed"})
        return web.json_response(self._answer(method, body, token))

    def _answer(self, method: str, body: dict[str, Any], token: str) -> dict[str, Any]:
        ts = f"{int(time.time())}.{next(self._ts):06d}"
        if method == "auth.test" and token in self.team_of:
            team = self.team_of[token]
            return {"ok": True, "user_id": bot_user_of(team), "bot_id": "B" + team[1:], "team_id": team}
        if method == "auth.test":
            return {"ok": True, "user_id": BOT_USER_ID, "bot_id": "B0BOT00001", "team_id": TEAM_ID}
        if method == "apps.connections.open":
            if not token.startswith("xapp-"):
                return {"ok": False, "error": "invalid_auth"}
            return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link/"}
        if method == "chat.postMessage":
            message = {"text": body.get("text")}
            return {"ok": True, "channel": body.get("channel"), "ts": ts, "message": message}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": ts}
        if method == "conversations.open" and body.get("users") in self.gone_users:
            return {"ok": False, "error": "user_not_found"}
        members = self.members_of.get(self.team_of.get(token, ""))
        if method == "conversations.open" and members is not None and body.get("users") not in members:
            return {"ok": False, "error": "user_not_found"}  # not a member of this token's workspace
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(body.get("users", "")).lstrip("U")}}
        if method == "files.getUploadURLExternal":
            file_id = "F" + uuid.uuid4().hex[:10].upper()
            upload_url = f"http://127.0.0.1:{self.port}/upload/{file_id}"
            return {"ok": True, "upload_url": upload_url, "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = [{"id": f.get("id"), "title": f.get("title")} for f in body["files"]]
            return {"ok": True, "files": files}
        return {"ok": True}

    def install_code(self, team_id: str, installer: str = "U0INSTALL1") -> str:
        """The code Slack gives someone who installs the app into workspace `team_id`."""
        code = f"code-{team_id}-{uuid.uuid4().hex[:8]}"
        with self._lock:
            self.install_codes[code] = (team_id, installer)
        return code

    def _oauth_access(self, body: dict[str, Any], basic: tuple[str, str] | None) -> dict[str, Any]:
        client_id, client_secret = basic or (body.get("client_id"), body.get("client_secret"))
        if self.client_id is not None and (client_id, client_secret) != (self.client_id, self.client_secret):
            return {"ok": False, "error": "invalid_client_id"}
        with self._lock:
            found = self.install_codes.pop(str(body.get("code")), None)  # a code is good once
            if found is None:
                return {"ok": False, "error": "invalid_code"}
            team, installer = found
            token = f"xoxb-{team}-{uuid.uuid4().hex}"
            self.token_of[team] = token
            self.team_of[token] = team
        return {
            "ok": True,
            "app_id": "A0FAKE",
            "authed_user": {"id": installer},
            "scope": str(body.get("scope") or "chat:write,im:write"),
            "token_type": "bot",
            "access_token": token,
            "bot_user_id": bot_user_of(team),
            "team": {"id": team, "name": f"Workspace {team}"},
            "enterprise": None,
            "is_enterprise_install": False,
        }

    async def _upload(self, request: web.Request) -> web.Response:
        self.uploads[request.match_info["file_id"]] = await request.read()
        return web.Response(text="OK - 1")

    # --- Socket Mode -----------------------------------------------------------------
    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets += 1
        await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0FAKE"}})

        async def pump() -> None:
            while not ws.closed:
                envelope = await self._outbox.get()
                await ws.send_json(envelope)

        pumping = asyncio.create_task(pump())
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    data = json.loads(message.data)
                    if "envelope_id" in data:
                        with self._lock:
                            self.acks.append(data["envelope_id"])
        finally:
            pumping.cancel()
            self.sockets -= 1
        return ws

    def push(
        self, kind: str, payload: dict[str, Any], *, retry_attempt: int = 0, retry_reason: str = ""
    ) -> str:
        """Send one Socket Mode envelope (events_api | interactive | slash_commands).

        Slack redelivers an event it saw no ack for in a new envelope with the same payload
        (same `event_id`), counting up `retry_attempt` and saying why in `retry_reason`."""
        envelope_id = uuid.uuid4().hex
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload}
        if kind == "events_api":
            envelope.update(retry_attempt=retry_attempt, retry_reason=retry_reason)
        self._loop.call_soon_threadsafe(self._outbox.put_nowait, envelope)
        return envelope_id

    # --- what the app did ------------------------------------------------------------
    def of(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def tokens_used(self, method: str) -> list[str]:
        """The token each call of `method` came with, in order."""
        return [c.token for c in self.of(method)]

    def posts(self) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method in ("chat.postMessage", "chat.postEphemeral")]

    def _progress(self) -> str:
        return f"calls so far: {[c.method for c in self.calls]}"


def bot_user_of(team_id: str) -> str:
    """The bot's member id in a workspace installed through `oauth.v2.access`."""
    return "UB" + team_id[1:]


def message_event(
    user: str, text: str, channel: str = "D0TEACHER1", channel_type: str = "im", *, team: str = TEAM_ID
) -> dict:
    """An Events API `event_callback` for a DM (or, with channel_type='channel', a channel message)."""
    return {
        "token": "verification-token",
        "team_id": team,
        "api_app_id": "A0FAKE",
        "type": "event_callback",
        "event_id": "Ev" + uuid.uuid4().hex[:10].upper(),
        "event_time": int(time.time()),
        "event": {
            "type": "message",
            "channel_type": channel_type,
            "channel": channel,
            "user": user,
            "team": team,
            "text": text,
            "ts": f"{time.time():.6f}",
        },
    }


def mention_event(user: str, text: str, channel: str = "C0STAFFRM1", *, team: str = TEAM_ID) -> dict:
    bot = BOT_USER_ID if team == TEAM_ID else bot_user_of(team)
    body = message_event(user, f"<@{bot}> {text}", channel, "channel", team=team)
    body["event"]["type"] = "app_mention"
    return body


def a_file(name: str = "scan.pdf") -> dict:
    """A file object as Slack puts it in a message's `files`."""
    return {
        "id": "F" + uuid.uuid4().hex[:10].upper(),
        "name": name,
        "title": name,
        "mimetype": "application/pdf",
        "filetype": "pdf",
        "size": 48213,
        "mode": "hosted",
    }


def file_share_event(user: str, text: str, channel: str = "D0TEACHER1", *, team: str = TEAM_ID) -> dict:
    """A DM with a file attached: `subtype: file_share`, the typed words in `text`."""
    body = message_event(user, text, channel, team=team)
    body["event"].update(subtype="file_share", files=[a_file()], upload=False, display_as_bot=False)
    return body


def edit_event(original: dict, new_text: str, *, edited: bool = True) -> dict:
    """The `message_changed` event Slack sends when the message of `original` is edited.

    With `edited=False` it is the kind Slack sends when only a link preview or the detected
    language was added: same text, no `edited` mark."""
    before = original["event"]
    after = {k: v for k, v in before.items() if k not in ("channel", "channel_type", "event_ts")}
    after["text"] = new_text
    now = f"{time.time():.6f}"
    if edited:
        after["edited"] = {"user": before.get("user"), "ts": now}
    body = {**original, "event_id": "Ev" + uuid.uuid4().hex[:10].upper(), "event_time": int(time.time())}
    body["event"] = {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "channel": before["channel"],
        "channel_type": before.get("channel_type", "im"),
        "ts": now,
        "event_ts": now,
        "message": after,
        "previous_message": {k: v for k, v in before.items() if k not in ("channel", "channel_type")},
    }
    return body


def button_click(
    user: str, channel: str, value: str, *, topic: str | None = None, note: str | None = None
) -> dict:
    """A `block_actions` payload for a click on one of the bot's buttons."""
    values: dict[str, Any] = {}
    if topic is not None:
        values["booking_topic"] = {"topic": {"type": "static_select", "selected_option": {"value": topic}}}
    if note is not None:
        values["booking_note"] = {"note": {"type": "plain_text_input", "value": note}}
    return {
        "type": "block_actions",
        "team": {"id": TEAM_ID, "domain": "example"},
        "user": {"id": user, "team_id": TEAM_ID},
        "api_app_id": "A0FAKE",
        "token": "verification-token",
        "trigger_id": f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}",  # one per click
        "container": {"type": "message", "channel_id": channel, "is_ephemeral": False},
        "channel": {"id": channel},
        "state": {"values": values},
        "actions": [
            {"type": "button", "action_id": "rasa_button_0", "block_id": "choices_0", "value": value,
             "action_ts": f"{time.time():.6f}"}
        ],
    }  # fmt: skip

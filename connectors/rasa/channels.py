"""Rasa input channels with the input guard in front: REST, socket.io and the signed bridges.

They keep the built-in channels' URLs and protocols (`/webhooks/rest/webhook`,
`/socket.io`) and wrap the `on_new_message` callback, so every message is cleaned the
same way whichever channel it came by. Each channel owns its sender ids
(`connectors.rasa.senders`): what a web client calls itself never names a Slack, Telegram or
another web page's conversation. Registered in credentials.yml.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import json
import logging
from typing import Any, Awaitable, Callable

import rasa.utils.endpoints
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage, decode_bearer_token
from rasa.core.channels.rest import RestInput
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from socketio import AsyncServer

from connectors import bridge_signing
from connectors.rasa import circuit_breaker, exactly_once, input_guard, senders
from connectors.rasa import speedups as rasa_speedups
from knowledge.safeguarding import screening as safeguarding
from knowledge.safeguarding.records import record_concern
from knowledge.schools.tenancy import school_for_message
from knowledge.shared.ids import sender_ref
from knowledge.shared.settings import get_settings

rasa_speedups.apply()  # this module is the first of ours the Rasa server imports
exactly_once.install()  # a repeated message_id gets the first delivery's replies, not a second turn
circuit_breaker.install()  # a turn cut short by Rasa's circuit breaker never silences the conversation

log = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]

# Metadata keys only our signed connectors may set; anything else posting them is ignored.
TRUSTED_METADATA = ("slack", "telegram", "safeguarding", "input_guard", "screen_only")


def _untrusted(metadata: Any) -> dict[str, Any]:
    if not isinstance(metadata, dict):
        return {}
    return {k: v for k, v in metadata.items() if k not in TRUSTED_METADATA}


LONG_MESSAGE_CHARS = 2000


def guarded(on_new_message: OnNewMessage, *, trusted: bool = False) -> OnNewMessage:
    """Wrap Rasa's message handler: safeguarding screen first, then `input_guard.clean`.

    Only a `trusted` (signed) channel may pass identity metadata on; from any other
    channel those keys are dropped before anything reads them. A trusted message marked
    `screen_only` is screened and, unless it is a concern, goes no further: no turn, no answer.
    """
    max_chars = get_settings().max_message_chars

    async def handle(message: UserMessage) -> Any:
        if not trusted:
            message.metadata = _untrusted(message.metadata)
        # Safeguarding comes before anything else, on the whole raw message.
        # Long messages are screened off the event loop so other conversations don't wait.
        if isinstance(message.text, str) and len(message.text) > LONG_MESSAGE_CHARS:
            screening = await asyncio.to_thread(safeguarding.screen, message.text)
        else:
            screening = safeguarding.screen(message.text)
        if screening.concern:
            return await on_new_message(await _safeguarding_message(message, screening))
        if trusted and (message.metadata or {}).get("screen_only") is True:
            # A connector's "screen this only" (a Telegram group message): no concern, no turn.
            log.info(
                "message from %s via %s screened only: %d chars",
                sender_ref(message.sender_id),
                message.input_channel,
                len(message.text) if isinstance(message.text, str) else 0,
            )
            return None
        cleaned = input_guard.clean(message.text, max_chars)
        message.text = cleaned.text
        message.metadata = {**(message.metadata or {}), "input_guard": cleaned.metadata()}
        log.info(
            "message from %s via %s: %d chars%s%s",
            sender_ref(message.sender_id),
            message.input_channel,
            cleaned.original_length,
            f", flagged {cleaned.issue}" if cleaned.issue else "",
            ", truncated" if cleaned.truncated else "",
        )
        if cleaned.truncated:
            await message.output_channel.send_text_message(
                message.sender_id, input_guard.truncation_notice(max_chars)
            )
        return await on_new_message(message)

    return handle


def _school_of(message: UserMessage) -> str | None:
    """The school the concern belongs to: the parent's link, or the staff member's own school."""
    metadata = message.metadata or {}
    slack_user = (metadata.get("slack") or {}).get("user_id") if message.input_channel == "slack" else None
    return school_for_message(get_settings().database_url, metadata, slack_user, str(message.text)).ref


async def _safeguarding_message(message: UserMessage, screening: safeguarding.Screening) -> UserMessage:
    """Record the concern verbatim, alert the DSL, and route the turn to the safeguarding reply.

    The conversation log gets only the intent, not the disclosure: the words live in the
    safeguarding record, which the DSL reads and which chat-log retention never purges.
    """
    ref = sender_ref(message.sender_id)
    try:
        record_id = await asyncio.to_thread(
            record_concern,
            get_settings().database_url,
            channel=message.input_channel or "unknown",
            sender_ref=ref,
            message=str(message.text),
            detected_by=",".join(screening.patterns),
            kinds=",".join(screening.groups + screening.kinds),  # who is at risk first, for the DSL
            child_voice=screening.child_voice,
            school_ref=await asyncio.to_thread(_school_of, message),
            # probably a SEND need: the sender is asked first; the DSL is told on a yes or no answer
            awaiting_answer=dt.timedelta(minutes=get_settings().safeguarding_check_minutes)
            if screening.check_first
            else None,
            message_id=message.message_id,  # a repeated delivery is recorded and alerted once
        )
        log.warning("message from %s via %s: safeguarding concern #%d", ref, message.input_channel, record_id)
    except Exception:  # the person must still get the safeguarding reply
        record_id = None
        log.exception(
            "SAFEGUARDING concern from %s via %s could NOT be recorded: check the database now",
            ref,
            message.input_channel,
        )
    message.text = "/safeguarding_concern"
    message.metadata = {
        **(message.metadata or {}),
        "safeguarding": {
            "record_id": record_id,
            "child_voice": screening.child_voice,
            "check": screening.check_first and record_id is not None,
            "groups": list(screening.groups),  # who is at risk: the reply gives their help, most urgent first
            "writer": screening.writer,
        },
    }
    return message


def _failed_with_id(message_id: str | None) -> response.HTTPResponse | None:
    """A message with a client `message_id` that could not be handled is answered 503, so the
    client (or nginx) sends it again: nothing of it was saved, and a repeat is never run twice."""
    if message_id is None:
        return None
    return response.json({"error": "not handled, please send it again", "message_id": message_id}, status=503)


class GuardedRestInput(RestInput):
    """Rasa's REST channel (`/webhooks/rest/webhook`) behind the input guard.

    Whatever a caller claims, a REST message is from the channel "rest", carries no staff
    identity (that comes only through the signed Slack bridge below), and its conversation
    is in the web namespace: `{"sender": "telegram-42"}` is the conversation `web-telegram-42`,
    never a Telegram parent's (`connectors.rasa.senders.rest_sender`). The replies' `recipient_id`
    is that conversation's id.

    The body may carry a `message_id` (see `connectors.rasa.exactly_once`): the same id sent
    again gets the same replies instead of a second answer. Without one, the channel
    behaves exactly as Rasa's own.
    """

    def _extract_input_channel(self, req: Request) -> str:
        return self.name()

    async def _extract_sender(self, req: Request) -> str:
        body = req.json if isinstance(req.json, dict) else {}
        return senders.rest_sender(body.get("sender"))

    def get_metadata(self, request: Request) -> dict[str, Any]:
        return _untrusted(request.json.get("metadata") if isinstance(request.json, dict) else None)

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        # Rasa's RestInput.blueprint, plus the message_id (its UserMessage has none).
        handle = guarded(on_new_message)
        rest = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @rest.route("/", methods=["GET"])
        async def health(_request: Request) -> response.HTTPResponse:
            return response.json({"status": "ok"})

        @rest.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> Any:
            sender_id = await self._extract_sender(request)
            text = self._extract_message(request)
            input_channel = self._extract_input_channel(request)
            metadata = self.get_metadata(request)
            if rasa.utils.endpoints.bool_arg(request, "stream", default=False):
                stream = self.stream_response(handle, text, sender_id, input_channel, metadata)
                return response.stream(stream, content_type="text/event-stream")
            try:
                message_id = exactly_once.client_message_id(request.json.get("message_id"))
            except ValueError as error:
                return response.json({"error": str(error)}, status=400)
            collector = CollectingOutputChannel()
            message = UserMessage(
                text,
                collector,
                sender_id,
                input_channel=input_channel,
                metadata=metadata,
                message_id=message_id,
            )
            try:
                await handle(message)
            except asyncio.CancelledError:
                log.error("REST message from %s: cancelled (timeout or client gone)", sender_ref(sender_id))
            except Exception:
                log.exception("REST message from %s failed", sender_ref(sender_id))
                return _failed_with_id(message_id) or response.json(collector.messages)
            return response.json(collector.messages)

        return rest


class SignedBridgeInput(RestInput):
    """Messages from one of our own connectors, signed with the bridge secret.

    `POST /webhooks/<name>/webhook` with `{"sender", "message", "metadata": {...}}`; the
    reply is the list of bot messages, as on the REST channel. An unsigned, wrongly signed
    or stale request is refused with 401 before Rasa sees it. The channel name comes from
    the class, never from the request, and the sender must be one of the channel's own
    (`slack-…` on Slack, `telegram-…` on Telegram; `connectors.rasa.senders.belongs_to`), so even
    a signed message cannot reach another channel's conversation. A `message_id` in the body
    makes a repeat safe, as on the REST channel.
    """

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        handle = guarded(on_new_message, trusted=True)
        channel = self.name()
        bridge = Blueprint(f"{channel}_bridge", __name__)

        @bridge.route("/", methods=["GET"])
        async def health(_request: Request) -> response.HTTPResponse:
            return response.json({"status": "ok"})

        @bridge.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> response.HTTPResponse:
            secret = get_settings().bridge_secret
            if not bridge_signing.verify(
                secret,
                request.body,
                request.headers.get("X-Bridge-Timestamp"),
                request.headers.get("X-Bridge-Signature"),
            ):
                return response.json({"error": "unsigned"}, status=401)
            try:
                body = json.loads(request.body)
                sender, text = str(body["sender"]), body.get("message")
                metadata = body.get("metadata") or {}
                message_id = exactly_once.client_message_id(body.get("message_id"))
            except (ValueError, KeyError, TypeError, AttributeError):
                return response.json({"error": "bad request"}, status=400)
            if not senders.belongs_to(channel, sender):
                log.warning("%s bridge: refused sender %s of another channel", channel, sender_ref(sender))
                return response.json({"error": f"not a {channel} sender"}, status=400)
            collector = CollectingOutputChannel()
            message = UserMessage(
                text, collector, sender, input_channel=channel, metadata=metadata, message_id=message_id
            )
            try:
                await handle(message)
            except Exception:  # the connector still gets an answer; the details stay in our log
                log.exception("%s bridge: message from %s failed", channel, sender_ref(sender))
                return _failed_with_id(message_id) or response.json(collector.messages)
            return response.json(collector.messages)

        return bridge


class SlackBridgeInput(SignedBridgeInput):
    """Staff on Slack, through `connectors/slack`: `/webhooks/slack/webhook`."""

    @classmethod
    def name(cls) -> str:
        return "slack"


class TelegramBridgeInput(SignedBridgeInput):
    """Parents on Telegram, through `connectors/telegram`: `/webhooks/telegram/webhook`."""

    @classmethod
    def name(cls) -> str:
        return "telegram"


class PageOutput(SocketIOOutput):
    """The socket.io replies to one web page message, each marked with the `message_id` it
    answers and its place (`reply_to`, `part`): a reply sent again to a repeated delivery
    is then shown once by the page."""

    def __init__(self, sio: AsyncServer, bot_message_evt: str, message_id: str | None) -> None:
        super().__init__(sio, bot_message_evt)
        self.message_id = message_id
        self.parts = 0

    async def _send_message(self, socket_id: str, response: Any) -> None:
        if self.message_id is not None and isinstance(response, dict):
            response = {**response, "reply_to": self.message_id, "part": self.parts}
            self.parts += 1
        await super()._send_message(socket_id, response)


def _page_metadata(value: Any) -> dict[str, Any]:
    """The page's `customData` (a trust school's ref), as a dict whatever was sent."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


async def _maybe_await(result: Any) -> None:
    """python-socketio 5.8's room calls are plain functions; later releases made them coroutines."""
    if inspect.isawaitable(result):
        await result


class GuardedSocketIOInput(SocketIOInput):
    """Rasa's socket.io channel (used by the web chat page) behind the input guard, with
    conversations the server issues.

    Rasa's own channel takes the client's `session_id` as the sender, so a client could name
    any conversation, a Telegram parent's included. Here `session_request` is answered with a
    signed token (`connectors.rasa.senders`): the token sent, if it verifies (a reload keeps its
    conversation), else a new one; nothing is refused. A socket's messages go to the
    conversation it was confirmed for, whatever they name. Each message's `message_id` becomes
    the UserMessage's, so one sent again is answered from the first time
    (`connectors.rasa.exactly_once`); the event's ack tells the page it was handled.
    """

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        handle = guarded(on_new_message)
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=[])
        socketio_webhook = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio  # Rasa's get_output_channel uses it

        @socketio_webhook.route("/", methods=["GET"])
        async def health(_request: Request) -> response.HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: str, environ: dict, auth: dict | None = None) -> bool:
            if not self.jwt_key:
                return True
            token = auth.get("token") if isinstance(auth, dict) else None
            return bool(token and decode_bearer_token(token, self.jwt_key, self.jwt_algorithm))

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: Any = None) -> None:
            await self._confirm(sid, data.get("session_id") if isinstance(data, dict) else None)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: Any = None) -> dict[str, Any]:
            data = data if isinstance(data, dict) else {}
            sender = (await sio.get_session(sid, namespace=self.namespace)).get("sender")
            if sender is None:  # no session_request first: as if it had sent one with this id
                sender = await self._confirm(sid, data.get("session_id"))
            try:
                message_id = exactly_once.client_message_id(data.get("message_id"))
            except ValueError:
                message_id = None  # answered, but a repeat of it could be answered twice
                log.warning("socket.io message from %s: unusable message_id ignored", sender_ref(sender))
            message = UserMessage(
                data.get("message", ""),
                PageOutput(sio, self.bot_message_evt, message_id),
                sender,
                input_channel=self.name(),
                metadata=_page_metadata(data.get(self.metadata_key)),
                message_id=message_id,
            )
            try:
                await handle(message)
            except Exception:  # the page is told, and keeps the message for the person to send again
                log.exception("socket.io message from %s failed", sender_ref(sender))
                return {"ok": False, "message_id": message_id}
            return {"ok": True, "message_id": message_id}

        return socketio_webhook

    async def _confirm(self, sid: str, token: Any) -> str:
        """Put socket `sid` in the conversation `token` names if it verifies, else in a new
        one, and send the page that conversation's token. Returns the sender id."""
        assert self.sio is not None
        secret = senders.page_secret(get_settings())
        sender = senders.page_sender(secret, token)
        if sender is None:
            sender, token = senders.new_page_conversation(secret)
        session = await self.sio.get_session(sid, namespace=self.namespace)
        previous = session.get("sender")
        if previous and previous != sender:
            await _maybe_await(self.sio.leave_room(sid, previous, namespace=self.namespace))
        await _maybe_await(self.sio.enter_room(sid, sender, namespace=self.namespace))
        await self.sio.save_session(sid, {"sender": sender}, namespace=self.namespace)
        await self.sio.emit("session_confirm", token, room=sid, namespace=self.namespace)
        return sender

"""The slack-bolt app: Slack events in, Rasa replies out as Block Kit.

Handler style follows bolt-python's examples: small async listeners, `ack()` first for
interactive payloads, the Web API through the `client` Bolt passes in. Replies to a
direct message are posted in the DM; replies to a mention in a shared channel are
ephemeral (only the person who asked sees them), because bookings and safeguarding
answers are nobody else's business.

Every message that carries a person's words goes to Rasa (which screens it for safeguarding
first), files and edits included (`connectors.slack.incoming`), with a `message_id` that
Slack's redeliveries share; a delivery already taken on is acked and not answered again
(`connectors.slack.redelivery`). Events are acked before anything else runs, clicks by
`ack()` first, so Slack's 3-second limit is never the time Rasa takes.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from connectors.bridge_client import RasaClient
from connectors.slack import log_privacy
from connectors.slack.blocks import BUTTON_ACTION_PREFIX, Rendered, clicked_payload, render
from connectors.slack.config import api_logger
from connectors.slack.incoming import Written, click_id, written
from connectors.slack.redelivery import Recent, retry_of
from connectors.slack.sender import SlackSender
from knowledge.shared.ids import sender_ref

log = logging.getLogger(__name__)

MENTION = re.compile(r"<@[A-Z0-9]+>")

FILES_NOTE = (
    "Sorry, I can't open files. If you have a question about what's in it, please type your question here."
)


def web_client(token: str | None, api_url: str) -> AsyncWebClient:
    """A Web API client that waits out Slack's 429s (Retry-After) and retries dropped connections.

    With several workspaces it has no token of its own: bolt gives each event a copy that
    carries the token of the workspace the event came from."""
    return AsyncWebClient(
        token=token,
        base_url=api_url,
        logger=api_logger(),
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
        ],
    )


async def deliver(client: AsyncWebClient, sender: SlackSender, rendered: Rendered) -> None:
    """Post the replies where the person asked; files and notifications go by DM or there too."""
    private = sender.channel_type == "im"
    for post in rendered.posts:
        if private:
            await client.chat_postMessage(channel=sender.channel_id, text=post.text, blocks=post.blocks)
        else:
            await client.chat_postEphemeral(
                channel=sender.channel_id, user=sender.user_id, text=post.text, blocks=post.blocks
            )
    for calendar_file in rendered.files:
        # A calendar file always goes to the person's own DM, never into a shared channel.
        channel = sender.channel_id if private else await _dm_channel(client, sender.user_id)
        await client.files_upload_v2(
            channel=channel,
            filename=calendar_file.filename,
            content=calendar_file.content,
            title=calendar_file.title,
        )
    for note in rendered.notifications:
        await client.chat_postMessage(channel=await _dm_channel(client, note.user_id), text=note.text)


async def _dm_channel(client: AsyncWebClient, user_id: str) -> str:
    opened = await client.conversations_open(users=user_id)
    return opened["channel"]["id"]


def build_app(
    *,
    client: AsyncWebClient,
    rasa: RasaClient,
    signing_secret: str | None,
    bot_user_id: str | None = None,
    oauth_settings: AsyncOAuthSettings | None = None,
    authorize: AsyncAuthorize | None = None,
) -> AsyncApp:
    """The Bolt app. With no signing secret (Socket Mode) request signatures are not checked,
    because Socket Mode traffic comes over the app's own authenticated WebSocket.

    With `oauth_settings` (several workspaces, see `connectors.slack.workspaces`) bolt serves
    the install flow and answers each event with its own workspace's token; an event from a
    workspace that has not installed the app is not answered. Without, the client's one token
    is used for everything."""
    log_privacy.install()  # before bolt makes its loggers: no message text in any log line
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret or "",
        request_verification_enabled=bool(signing_secret),
        ignoring_self_events_enabled=True,
        oauth_settings=oauth_settings,
        authorize=authorize,
        installation_store_bot_only=True if oauth_settings is not None else None,
    )
    if oauth_settings is not None:
        app.enable_token_revocation_listeners()  # app_uninstalled / tokens_revoked delete the token

    taken_on = Recent()

    async def converse(
        sender: SlackSender, text: str, message_id: str, client: AsyncWebClient, *, files: bool = False
    ) -> None:
        """Rasa's answer to the words (screened there first), then the note about files."""
        replies = []
        if text.strip() or not files:
            replies = await rasa.send(sender.sender_id, text, sender.metadata(), message_id=message_id)
        if files:
            log.info("files from %s not opened; told to type instead", sender_ref(sender.sender_id))
            replies = [*replies, {"text": FILES_NOTE}]
        try:
            await deliver(client, sender, render(replies))
        except Exception:  # one failed post must not stop the connector
            log.exception("could not deliver a reply to %s", sender_ref(sender.sender_id))

    def first_delivery(message_id: str, sender: SlackSender, request: AsyncBoltRequest) -> bool:
        """False for a delivery of a message already taken on: it is acked, not answered again."""
        if taken_on.first_time(message_id):
            return True
        retry = retry_of(request.headers)
        log.info(
            "Slack delivered a message from %s again (%s): already taken on, not answered again",
            sender_ref(sender.sender_id),
            retry or "a redelivery",
        )
        return False

    async def answer(
        said: Written, sender: SlackSender, text: str, request: AsyncBoltRequest, client: AsyncWebClient
    ) -> None:
        if first_delivery(said.message_id, sender, request):
            await converse(sender, text, said.message_id, client, files=said.has_files)

    @app.event("message")
    async def direct_message(
        event: dict[str, Any], context: dict[str, Any], request: AsyncBoltRequest, client: AsyncWebClient
    ) -> None:
        if event.get("channel_type") != "im":
            return  # channel chatter is not for us (mentions come as app_mention)
        team_id = str(event.get("team") or context.get("team_id") or "")
        said = written(event, team_id, context.get("bot_user_id"))
        if said is None:
            return  # bot posts, joins, deletions, link previews: no words from a person
        sender = SlackSender(
            team_id=team_id,
            user_id=said.user_id,
            channel_id=str(event.get("channel") or ""),
            channel_type="im",
        )
        await answer(said, sender, said.text, request, client)

    @app.event("app_mention")
    async def mention(
        event: dict[str, Any], context: dict[str, Any], request: AsyncBoltRequest, client: AsyncWebClient
    ) -> None:
        team_id = str(event.get("team") or context.get("team_id") or "")
        said = written(event, team_id, context.get("bot_user_id"))
        if said is None:
            return
        sender = SlackSender(
            team_id=team_id,
            user_id=said.user_id,
            channel_id=str(event.get("channel") or ""),
            channel_type=str(event.get("channel_type") or "channel"),
        )
        await answer(said, sender, MENTION.sub("", said.text).strip(), request, client)

    @app.action(re.compile(f"^{BUTTON_ACTION_PREFIX}"))
    async def button(ack, body: dict[str, Any], request: AsyncBoltRequest, client: AsyncWebClient) -> None:
        await ack()
        channel = body.get("channel") or {}
        container = body.get("container") or {}
        user = body.get("user") or {}
        sender = SlackSender(
            team_id=str((body.get("team") or {}).get("id") or user.get("team_id") or ""),
            user_id=str(user.get("id") or ""),
            channel_id=str(channel.get("id") or container.get("channel_id") or ""),
            channel_type="im" if str(channel.get("id", "")).startswith("D") else "channel",
        )
        message_id = click_id(body)
        if first_delivery(message_id, sender, request):
            await converse(sender, clicked_payload(body), message_id, client)

    @app.action(re.compile("^(topic|note)$"))
    async def input_changed(ack) -> None:
        await ack()  # choosing a topic or typing a note only counts when a slot is clicked

    return app

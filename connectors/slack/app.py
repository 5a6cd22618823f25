"""The slack-bolt app: Slack events in, Rasa replies out as Block Kit.

Handler style follows bolt-python's examples: small async listeners, `ack()` first for
interactive payloads, the Web API through the `client` Bolt passes in. Replies to a
direct message are posted in the DM; replies to a mention in a shared channel are
ephemeral (only the person who asked sees them), because bookings and safeguarding
answers are nobody else's business.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from connectors.bridge_client import RasaClient
from connectors.privacy import sender_ref
from connectors.slack.blocks import BUTTON_ACTION_PREFIX, Rendered, clicked_payload, render
from connectors.slack.config import api_logger
from connectors.slack.sender import SlackSender

log = logging.getLogger(__name__)

MENTION = re.compile(r"<@[A-Z0-9]+>")


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

    async def converse(sender: SlackSender, text: str, client: AsyncWebClient) -> None:
        replies = await rasa.send(sender.sender_id, text, sender.metadata())
        try:
            await deliver(client, sender, render(replies))
        except Exception:  # one failed post must not stop the connector
            log.exception("could not deliver a reply to %s", sender_ref(sender.sender_id))

    @app.event("message")
    async def direct_message(event: dict[str, Any], context: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("channel_type") != "im" or event.get("bot_id") or event.get("subtype"):
            return  # edits, joins, bot posts and channel chatter are not for us
        sender = SlackSender(
            team_id=str(event.get("team") or context.get("team_id") or ""),
            user_id=str(event.get("user") or ""),
            channel_id=str(event.get("channel") or ""),
            channel_type="im",
        )
        await converse(sender, str(event.get("text") or ""), client)

    @app.event("app_mention")
    async def mention(event: dict[str, Any], context: dict[str, Any], client: AsyncWebClient) -> None:
        sender = SlackSender(
            team_id=str(event.get("team") or context.get("team_id") or ""),
            user_id=str(event.get("user") or ""),
            channel_id=str(event.get("channel") or ""),
            channel_type=str(event.get("channel_type") or "channel"),
        )
        await converse(sender, MENTION.sub("", str(event.get("text") or "")).strip(), client)

    @app.action(re.compile(f"^{BUTTON_ACTION_PREFIX}"))
    async def button(ack, body: dict[str, Any], client: AsyncWebClient) -> None:
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
        await converse(sender, clicked_payload(body), client)

    @app.action(re.compile("^(topic|note)$"))
    async def input_changed(ack) -> None:
        await ack()  # choosing a topic or typing a note only counts when a slot is clicked

    return app

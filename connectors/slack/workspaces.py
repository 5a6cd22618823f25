"""Several Slack workspaces: the install flow, and which bot token each message uses.

This is slack-bolt's own multi-workspace design (AsyncOAuthSettings, an installation store
and an OAuth state store): a workspace installs the app at `/slack/install`, Slack sends the
installer back to `/slack/oauth_redirect` with a one-time code (and the state bolt set in a
cookie), bolt swaps the code for that workspace's bot token (`oauth.v2.access`) and saves it.
Each incoming event is then answered with the token of the workspace it came from (bolt's
`AsyncInstallationStoreAuthorize`), and the DMs the bot starts itself use the token of the
member of staff's own school's workspace (`StaffWorkspaces`).

The stores are slack_sdk's SQLAlchemy ones on the project's database
(`knowledge.schools.slack_installations`), called from a worker thread so the event loop never
waits on the database. When any school lists `slack_teams`, only those workspaces may
install the app; tokens are never logged.
"""

from __future__ import annotations

import asyncio
import logging

from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.error import BoltError
from slack_bolt.oauth.async_callback_options import AsyncCallbackOptions, AsyncFailureArgs, AsyncSuccessArgs
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from connectors.slack.config import BOT_SCOPES, several_workspaces
from knowledge.schools import slack_installations
from knowledge.shared.settings import Settings

log = logging.getLogger(__name__)

# Slack errors meaning "this person is not in this workspace": try their next workspace.
NOT_HERE = {"user_not_found", "users_not_found", "channel_not_found"}


class NotListed(BoltError):
    """A workspace no school lists in `slack_teams` tried to install the app."""

    def __init__(self, team_id: str | None) -> None:
        super().__init__(f"workspace {team_id} is not listed in any school's slack_teams")
        self.team_id = team_id


class NoWorkspace(RuntimeError):
    """No installed workspace is known for a member of staff (their school lists none, or
    several workspaces installed the app and none is theirs)."""


class DatabaseInstallationStore(AsyncInstallationStore):
    """slack_sdk's `SQLAlchemyInstallationStore` for an async app: each call in a worker thread."""

    def __init__(self, database_url: str, client_id: str, client: AsyncWebClient | None = None) -> None:
        self.database_url = database_url
        self.store = slack_installations.installation_store(database_url, client_id)
        self.client = client  # to revoke the token Slack gave a workspace that may not install

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        listed = await asyncio.to_thread(slack_installations.listed_teams, self.database_url)
        if listed and installation.team_id not in listed:
            log.warning(
                "Slack workspace %s (%s) tried to install the app; no school lists it in slack_teams",
                installation.team_id,
                installation.team_name,
            )
            await self._revoke(installation)
            raise NotListed(installation.team_id)
        await asyncio.to_thread(self.store.save, installation)
        log.info("Slack workspace %s (%s) installed the app", installation.team_id, installation.team_name)

    async def _revoke(self, installation: Installation) -> None:
        """Slack has already issued the refused workspace a token: give it back, so no working
        token of a workspace we don't serve exists anywhere (best effort; never logged)."""
        if self.client is None:
            return
        for token in {installation.bot_token, installation.user_token} - {None}:
            try:
                await AsyncWebClient(token=token, base_url=self.client.base_url).auth_revoke()
            except Exception as error:  # the token stays unsaved either way
                log.warning("could not revoke the refused workspace's token: %s", type(error).__name__)

    async def async_save_bot(self, bot: Bot) -> None:
        await asyncio.to_thread(self.store.save_bot, bot)

    async def async_find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        return await asyncio.to_thread(
            self.store.find_bot,
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        return await asyncio.to_thread(
            self.store.find_installation,
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await asyncio.to_thread(self.store.delete_bot, enterprise_id=enterprise_id, team_id=team_id)
        log.info("Slack workspace %s revoked the bot token; it is deleted", team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await asyncio.to_thread(
            self.store.delete_installation, enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
        )

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await asyncio.to_thread(self.store.delete_all, enterprise_id=enterprise_id, team_id=team_id)
        log.info("Slack workspace %s removed the app; its tokens are deleted", team_id)


class DatabaseOAuthStateStore(AsyncOAuthStateStore):
    """slack_sdk's `SQLAlchemyOAuthStateStore` (one-time install states) for an async app."""

    def __init__(self, database_url: str) -> None:
        self.store = slack_installations.state_store(database_url)

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args, **kwargs) -> str:
        return await asyncio.to_thread(self.store.issue)

    async def async_consume(self, state: str) -> bool:
        return await asyncio.to_thread(self.store.consume, state)


async def _installed(args: AsyncSuccessArgs) -> BoltResponse:
    return await args.default.success(args)


async def _not_installed(args: AsyncFailureArgs) -> BoltResponse:
    if isinstance(args.error, NotListed):
        page = (
            "<html><body style='font-family: verdana; text-align: center'>"
            "<h2>This Slack workspace is not one of the trust's schools</h2>"
            "<p>Ask the trust's administrator to add its team id to the school's "
            "<code>slack_teams</code>, then install again.</p></body></html>"
        )
        cookie = args.settings.state_utils.build_set_cookie_for_deletion()
        headers = {"Content-Type": "text/html; charset=utf-8", "Set-Cookie": cookie}
        return BoltResponse(status=403, body=page, headers=headers)
    log.warning("a Slack installation failed: %s", args.reason)
    return await args.default.failure(args)


def oauth_settings(settings: Settings, store: DatabaseInstallationStore) -> AsyncOAuthSettings:
    """The install flow at /slack/install and /slack/oauth_redirect (bolt's defaults)."""
    return AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        scopes=list(BOT_SCOPES),
        user_scopes=[],
        redirect_uri=settings.slack_redirect_uri or None,
        installation_store=store,
        installation_store_bot_only=True,
        state_store=DatabaseOAuthStateStore(settings.database_url),
        state_expiration_seconds=slack_installations.STATE_SECONDS,
        callback_options=AsyncCallbackOptions(success=_installed, failure=_not_installed),
        logger=log,
    )


def authorize(
    settings: Settings, store: DatabaseInstallationStore, client: AsyncWebClient
) -> AsyncInstallationStoreAuthorize:
    """Bolt's per-workspace authorize, remembering each token's `auth.test` answer so an event
    costs one database read and no extra Web API call. A workspace that removed the app is
    no longer found in the store, so it is refused at once."""
    return AsyncInstallationStoreAuthorize(
        logger=log,
        installation_store=store,
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        bot_only=True,
        cache_enabled=True,
        client=client,
    )


class StaffWorkspaces:
    """Which bot token reaches a member of staff, for the DMs the bot starts itself.

    One workspace: SLACK_BOT_TOKEN. Several: the token of the workspace their school lists in
    `slack_teams` (or the only installation, when their school lists none). A SENCo shared
    by schools in different workspaces may get several, tried in order.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def tokens_for(self, slack_user_id: str) -> list[str]:
        if not several_workspaces(self.settings):
            return [self.settings.slack_bot_token] if self.settings.slack_bot_token else []
        return slack_installations.bot_tokens_for_staff(
            self.settings.database_url, self.settings.slack_client_id, slack_user_id
        )

"""Several Slack workspaces, one bot: slack-bolt's install flow and a token per workspace.

The real connector (`connectors.slack.__main__.build_server`: bolt's aiohttp app with
`AsyncOAuthSettings`, the installation and state stores in the project's database) runs
in this process on a loopback port, against the local fake Slack Web API
(tests/fakes/fake_slack.py) and the stub Rasa bridge. A trust's two schools each list
their own workspace in `slack_teams`; each workspace installs the app through
`/slack/install` -> `/slack/oauth_redirect?code=...&state=...` (state cookie included),
exactly as a browser coming back from Slack would.
"""

from __future__ import annotations

import asyncio
import dataclasses
import html
import json
import logging
import re
import secrets
import threading
import time
import urllib.parse
from contextlib import contextmanager

import httpx
import pytest
from aiohttp import web
from alembic import command
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import inspect

from bot.scheduler import run_due_jobs
from bot.seed import load_everything
from connectors.bridge_client import RasaClient, bridge_url
from connectors.slack.__main__ import build_server
from connectors.slack.config import mode, sends
from connectors.slack.notify import SlackNotifier
from connectors.slack.transport import SlackTransport
from connectors.slack.workspaces import NoWorkspace
from knowledge.safeguarding.records import record_concern
from knowledge.schools import slack_installations
from knowledge.shared.db import get_engine
from knowledge.shared.migrate import alembic_config, upgrade
from knowledge.shared.settings import PROJECT_ROOT
from tests.conftest import make_settings
from tests.fakes.fake_slack import FakeSlack, message_event
from tests.fakes.stub_rasa import StubRasa
from tests.unit.test_postgres import postgres_url  # noqa: F401  (a throwaway PostgreSQL server)

SIGNING_SECRET = "test-signing-secret"
CLIENT_ID, CLIENT_SECRET = "1111.2222", "client-secret-never-logged"
TEAM_A, TEAM_B = "T0SCHOOLA1", "T0SCHOOLB1"  # Example Primary's and Example Academy's workspaces
NEVER_INSTALLED, STRANGER = "T0NEVERIN1", "T0STRANGE1"
PRIMARY_TEACHER, ACADEMY_TEACHER, ACADEMY_DSL = "U0EXTEACH1", "U0SATEACH1", "U0SADSL001"
SHARED_SENCO = "U0EXSENCO1"  # on both schools' rosters
COOKIE = "slack-app-oauth-state"


def trust_file(tmp_path, teams: tuple[tuple[str, ...], tuple[str, ...]]) -> object:
    data = PROJECT_ROOT / "school_data"
    path = tmp_path / "trust.yml"
    path.write_text(
        "schools:\n"
        f"  - profile: {data / 'example_school.yml'}\n"
        f"    staff: {data / 'example_staff.yml'}\n"
        f"    calendar: {data / 'example_calendar.yml'}\n"
        f"    local_offer: {data / 'example_local_offer.json'}\n"
        f"    slack_teams: {json.dumps(list(teams[0]))}\n"
        f"  - profile: {data / 'example_academy.yml'}\n"
        f"    staff: {data / 'example_academy_staff.yml'}\n"
        f"    calendar: {data / 'example_calendar.yml'}\n"
        f"    local_offer: {data / 'example_county_local_offer.json'}\n"
        f"    slack_teams: {json.dumps(list(teams[1]))}\n"
    )
    return path


@pytest.fixture
def slack():
    with FakeSlack() as fake:
        fake.client_id, fake.client_secret = CLIENT_ID, CLIENT_SECRET
        yield fake


@pytest.fixture
def rasa():
    with StubRasa(secrets.token_hex(16)) as stub:
        yield stub


def on_slack(settings, slack, rasa):
    """Several workspaces, HTTP Events mode, pointed at the fakes; no SLACK_BOT_TOKEN at all."""
    return dataclasses.replace(
        settings,
        slack_bot_token="",
        slack_app_token="",
        slack_signing_secret=SIGNING_SECRET,
        slack_client_id=CLIENT_ID,
        slack_client_secret=CLIENT_SECRET,
        slack_api_url=slack.api_url,
        rasa_port=rasa.port,
        bridge_secret=rasa.secret,
    )


@pytest.fixture
def trust(tmp_path, slack, rasa):
    """A trust of two schools, each listing its own Slack workspace."""
    settings = make_settings(tmp_path, schools_file=trust_file(tmp_path, ((TEAM_A,), (TEAM_B,))))
    load_everything(settings)
    return on_slack(settings, slack, rasa)


@contextmanager
def connector(settings):
    """The connector's aiohttp app (as `python -m connectors.slack` serves it), in a thread."""
    ready, state = threading.Event(), {}

    async def main() -> None:
        rasa = RasaClient(bridge_url(settings.rasa_port, "slack"), settings.bridge_secret)
        web_app, socket_handler = build_server(settings, rasa)
        assert socket_handler is None
        runner = web.AppRunner(web_app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        state.update(
            port=site._server.sockets[0].getsockname()[1],
            loop=asyncio.get_running_loop(),
            stop=asyncio.Event(),
        )
        ready.set()
        await state["stop"].wait()
        await runner.cleanup()
        await rasa.close()

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    assert ready.wait(30), "the Slack connector did not start"
    try:
        yield f"http://127.0.0.1:{state['port']}"
    finally:
        state["loop"].call_soon_threadsafe(state["stop"].set)
        thread.join(15)


@pytest.fixture
def served(trust):
    with connector(trust) as url:
        yield url


def start_install(url: str) -> str:
    """Open /slack/install as an admin's browser would: the state, from the cookie bolt sets."""
    page = httpx.get(f"{url}/slack/install", timeout=30)
    assert page.status_code == 200
    cookie = page.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "Secure" in cookie
    state = cookie.split(";")[0].split("=", 1)[1]
    button = re.search(r'href="(https://slack\.com/oauth/v2/authorize[^"]+)"', page.text)
    link = html.unescape(button.group(1))
    query = urllib.parse.parse_qs(urllib.parse.urlparse(link).query)
    assert query["state"] == [state] and query["client_id"] == [CLIENT_ID]
    assert set(query["scope"][0].split(",")) >= {"chat:write", "im:history", "im:write", "app_mentions:read"}
    return state


def come_back(url: str, code: str, state: str, *, cookie: str | None = None) -> httpx.Response:
    """Slack sends the installer's browser back with a code and the state."""
    headers = {"Cookie": f"{COOKIE}={state if cookie is None else cookie}"} if cookie != "" else {}
    return httpx.get(
        f"{url}/slack/oauth_redirect", params={"code": code, "state": state}, headers=headers, timeout=30
    )


def install(url: str, slack: FakeSlack, team: str) -> httpx.Response:
    return come_back(url, slack.install_code(team), start_install(url))


def signed_post(url: str, body: bytes, content_type: str = "application/json") -> httpx.Response:
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": SignatureVerifier(SIGNING_SECRET).generate_signature(
            timestamp=timestamp, body=body
        ),
    }
    return httpx.post(f"{url}/slack/events", content=body, headers=headers, timeout=30)


def post_event(url: str, event: dict) -> httpx.Response:
    return signed_post(url, json.dumps(event).encode())


def dm_from(url: str, slack: FakeSlack, team: str, user: str, text: str):
    """A DM from `user` in workspace `team`, and the reply posted back to it."""
    before = len(slack.of("chat.postMessage"))
    channel = "D" + user[1:]
    assert post_event(url, message_event(user, text, channel, team=team)).status_code == 200
    return slack.wait_for(lambda s: s.of("chat.postMessage")[before:])[0]


def assert_no_secret_in(text: str, slack: FakeSlack) -> None:
    for token in slack.token_of.values():
        assert token not in text
        assert token.split("-", 2)[2] not in text  # not even the secret part of it
    assert CLIENT_SECRET not in text


def test_two_workspaces_install_and_each_is_answered_with_its_own_token(trust, served, slack, rasa, caplog):
    caplog.set_level(logging.DEBUG)
    for team in (TEAM_A, TEAM_B):
        done = install(served, slack, team)
        assert done.status_code == 200, done.text
        assert f"slack://app?team={team}" in done.text
        assert done.headers["set-cookie"].startswith(f"{COOKIE}=deleted;")  # bolt clears the state cookie
    token_a, token_b = slack.token_of[TEAM_A], slack.token_of[TEAM_B]
    assert token_a != token_b
    store = slack_installations.installation_store(trust.database_url, CLIENT_ID)
    assert slack_installations.installed_teams(store) == [TEAM_A, TEAM_B]
    assert slack_installations.bot_token(store, TEAM_B) == token_b
    assert [c.body.get("code", "")[:15] for c in slack.of("oauth.v2.access")] == [
        f"code-{TEAM_A}",
        f"code-{TEAM_B}",
    ]

    reply_a = dm_from(served, slack, TEAM_A, PRIMARY_TEACHER, "what's free this week")
    assert reply_a.token == token_a and reply_a.body["channel"] == "D0EXTEACH1"
    assert rasa.received[-1]["sender"] == f"slack-{TEAM_A}-{PRIMARY_TEACHER}"
    assert rasa.received[-1]["metadata"]["slack"]["team_id"] == TEAM_A

    reply_b = dm_from(served, slack, TEAM_B, ACADEMY_TEACHER, "what have I booked")
    assert reply_b.token == token_b and reply_b.body["channel"] == "D0SATEACH1"
    assert rasa.received[-1]["sender"] == f"slack-{TEAM_B}-{ACADEMY_TEACHER}"

    assert dm_from(served, slack, TEAM_A, PRIMARY_TEACHER, "and again").token == token_a
    # auth.test: once when each workspace installed, once for its first event (then remembered)
    assert sorted(slack.tokens_used("auth.test")) == sorted([token_a, token_a, token_b, token_b])
    assert_no_secret_in(caplog.text, slack)
    assert any("installed the app" in r.getMessage() for r in caplog.records)


def test_an_event_from_a_workspace_that_never_installed_is_not_answered(served, slack, rasa, caplog):
    assert install(served, slack, TEAM_A).status_code == 200
    answered = post_event(served, message_event(PRIMARY_TEACHER, "hello", "D0EXTEACH1", team=NEVER_INSTALLED))
    assert answered.status_code == 200  # acknowledged, so Slack does not retry it
    time.sleep(0.5)
    assert slack.posts() == [] and rasa.received == []
    assert "the AuthorizeResult (returned value from authorize) for it was not found" in caplog.text
    # the connector is still up, and the workspace that did install is answered
    assert dm_from(served, slack, TEAM_A, PRIMARY_TEACHER, "hello").token == slack.token_of[TEAM_A]
    assert httpx.get(f"{served}/health").json() == {"status": "ok", "mode": "http"}


def test_a_workspace_no_school_lists_cannot_install(trust, served, slack, rasa):
    refused = install(served, slack, STRANGER)
    assert refused.status_code == 403 and "not one of the trust's schools" in refused.text
    # the token Slack issued to the stranger's workspace is given back at once
    assert [c.token for c in slack.of("auth.revoke")] == [slack.token_of[STRANGER]]
    store = slack_installations.installation_store(trust.database_url, CLIENT_ID)
    assert slack_installations.installed_teams(store) == []
    post_event(served, message_event(PRIMARY_TEACHER, "hello", "D0EXTEACH1", team=STRANGER))
    time.sleep(0.5)
    assert slack.posts() == [] and rasa.received == []


def test_the_install_flow_needs_its_own_state_and_the_browser_that_started_it(trust, served, slack):
    state = start_install(served)
    assert come_back(served, slack.install_code(TEAM_A), state, cookie="").status_code == 400  # no cookie
    assert come_back(served, slack.install_code(TEAM_A), "forged", cookie="forged").status_code == 401
    assert come_back(served, slack.install_code(TEAM_A), state).status_code == 200
    assert come_back(served, slack.install_code(TEAM_A), state).status_code == 401  # a state works once
    assert len(slack.of("oauth.v2.access")) == 1
    bad_code = come_back(served, "code-not-from-slack", start_install(served))
    assert bad_code.status_code == 401 and "invalid_code" in bad_code.text


def test_a_workspace_that_removes_the_app_is_forgotten(trust, served, slack, rasa):
    assert install(served, slack, TEAM_A).status_code == 200
    assert dm_from(served, slack, TEAM_A, PRIMARY_TEACHER, "hello").token == slack.token_of[TEAM_A]
    uninstalled = message_event(PRIMARY_TEACHER, "", team=TEAM_A)
    uninstalled["event"] = {"type": "app_uninstalled"}
    assert post_event(served, uninstalled).status_code == 200
    store = slack_installations.installation_store(trust.database_url, CLIENT_ID)
    slack.wait_for(lambda _: slack_installations.installed_teams(store) == [], timeout=10)
    before = len(slack.posts())
    post_event(served, message_event(PRIMARY_TEACHER, "still there?", "D0EXTEACH1", team=TEAM_A))
    time.sleep(0.5)
    assert len(slack.posts()) == before


def test_a_dm_the_bot_starts_goes_through_the_workspace_of_that_persons_school(trust, served, slack, caplog):
    caplog.set_level(logging.DEBUG)
    for team in (TEAM_A, TEAM_B):
        assert install(served, slack, team).status_code == 200
    token_a, token_b = slack.token_of[TEAM_A], slack.token_of[TEAM_B]
    assert sends(trust) and not trust.slack_bot_token

    notifier = SlackNotifier(trust)
    notifier.dm(ACADEMY_DSL, "a note for school B's DSL")
    notifier.dm(PRIMARY_TEACHER, "a note for school A's teacher")
    opened = slack.of("conversations.open")
    assert [(c.body["users"], c.token) for c in opened] == [
        (ACADEMY_DSL, token_b),
        (PRIMARY_TEACHER, token_a),
    ]
    assert [(c.body["channel"], c.token) for c in slack.of("chat.postMessage")] == [
        ("D0SADSL001", token_b),
        ("D0EXTEACH1", token_a),
    ]

    # A SENCo shared by the two schools is only in workspace A here: B says user_not_found first.
    slack.members_of = {TEAM_A: {SHARED_SENCO}, TEAM_B: {ACADEMY_DSL, ACADEMY_TEACHER}}
    notifier.dm(SHARED_SENCO, "the digest")
    assert slack.of("chat.postMessage")[-1].token == token_a

    # The scheduler's real path: a concern at school B alerts school B's DSL through workspace B.
    slack.members_of = {}
    record_concern(
        trust.database_url,
        channel="socketio",
        sender_ref="ref-b",
        message="a worry",
        detected_by="test",
        school_ref="example-academy",
    )
    run_due_jobs(trust)
    alerts = [c for c in slack.of("chat.postMessage") if "Safeguarding concern" in (c.body.get("text") or "")]
    assert alerts and {c.token for c in alerts} == {token_b}
    assert {c.body["channel"] for c in alerts} <= {"D0SADSL001", "D0SADDSL01"}

    # Broadcasts to staff (bot.sender's transport) pick the workspace the same way.
    asyncio.run(SlackTransport.from_settings(trust).send(ACADEMY_TEACHER, "staff broadcast"))
    assert slack.of("chat.postMessage")[-1].token == token_b
    assert_no_secret_in(caplog.text, slack)


def test_with_one_installation_and_no_slack_teams_listed_that_workspace_is_used(settings, slack, rasa):
    one_school = on_slack(settings, slack, rasa)  # a single school: no schools file, no slack_teams
    with connector(one_school) as url:
        assert install(url, slack, TEAM_A).status_code == 200  # any workspace may install
        SlackNotifier(one_school).dm(PRIMARY_TEACHER, "reminder")
        assert slack.of("chat.postMessage")[-1].token == slack.token_of[TEAM_A]

        assert install(url, slack, TEAM_B).status_code == 200
        with pytest.raises(NoWorkspace):  # two workspaces, and nothing says which is theirs
            SlackNotifier(one_school).dm(PRIMARY_TEACHER, "reminder")


def test_a_member_of_staff_whose_workspace_has_not_installed_yet_gets_nothing_elsewhere(trust, served, slack):
    assert install(served, slack, TEAM_A).status_code == 200
    with pytest.raises(NoWorkspace):
        SlackNotifier(trust).dm(ACADEMY_DSL, "not through school A's workspace")
    assert slack.of("conversations.open") == []


def test_installations_are_kept_in_postgresql_too(postgres_url, tmp_path, slack, rasa):  # noqa: F811
    settings = make_settings(tmp_path, schools_file=trust_file(tmp_path, ((TEAM_A,), (TEAM_B,))))
    pg = on_slack(dataclasses.replace(settings, database_url=postgres_url), slack, rasa)
    load_everything(pg)  # migration 0011 on PostgreSQL
    with connector(pg) as url:
        for team in (TEAM_A, TEAM_B):
            assert install(url, slack, team).status_code == 200
        assert dm_from(url, slack, TEAM_B, ACADEMY_TEACHER, "hello").token == slack.token_of[TEAM_B]
    SlackNotifier(pg).dm(PRIMARY_TEACHER, "reminder")
    assert slack.of("chat.postMessage")[-1].token == slack.token_of[TEAM_A]


def test_which_mode_the_settings_choose(settings):
    one = dataclasses.replace(settings, slack_bot_token="xoxb-1", slack_client_id="", slack_client_secret="")
    assert mode(dataclasses.replace(one, slack_app_token="xapp-1")) == "socket"
    assert mode(dataclasses.replace(one, slack_app_token="", slack_signing_secret="s")) == "http"
    several = dataclasses.replace(
        settings, slack_bot_token="", slack_app_token="", slack_client_id="1.2", slack_client_secret="c"
    )
    assert mode(several) is None and not sends(several)  # several workspaces need the signing secret
    assert mode(dataclasses.replace(several, slack_signing_secret="s")) == "http"
    assert sends(dataclasses.replace(several, slack_signing_secret="s"))


def test_migration_0011_makes_and_removes_slack_sdks_tables(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    tables = {"slack_installations", "slack_bots", "slack_oauth_states"}
    upgrade(url)
    assert tables <= set(inspect(get_engine(url)).get_table_names())
    with get_engine(url).begin() as connection:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.downgrade(config, "0010")
    assert not tables & set(inspect(get_engine(url)).get_table_names())
    upgrade(url)
    assert tables <= set(inspect(get_engine(url)).get_table_names())


def test_the_several_workspaces_manifest_matches_the_install_flow_and_the_single_one():
    import yaml

    single = yaml.safe_load((PROJECT_ROOT / "slack/manifest.yml").read_text())
    several = yaml.safe_load((PROJECT_ROOT / "slack/manifest_workspaces.yml").read_text())
    settings = several["settings"]
    assert settings["socket_mode_enabled"] is False
    assert settings["event_subscriptions"]["request_url"].endswith("/slack/events")
    assert settings["interactivity"]["request_url"].endswith("/slack/events")
    assert [u.rsplit("/", 2)[-2:] for u in several["oauth_config"]["redirect_urls"]] == [
        ["slack", "oauth_redirect"]
    ]
    assert set(settings["event_subscriptions"]["bot_events"]) == {
        *single["settings"]["event_subscriptions"]["bot_events"],
        "app_uninstalled",
        "tokens_revoked",
    }
    assert several["oauth_config"]["scopes"] == single["oauth_config"]["scopes"]

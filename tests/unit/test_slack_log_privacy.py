"""No Slack message text in any log line, ours or slack-bolt's and slack_sdk's, even at DEBUG.

The connector (`connectors.slack.__main__.build_server`, the real bolt app) runs in this
process, so pytest's log capture sees every logger at DEBUG, in HTTP Events mode and in
Socket Mode, against the fake Slack and the stub Rasa bridge (which echoes the words back,
so the bot's replies carry them too). The words carry a marker that must appear in no log
record. `tests/unit/test_slack_deliveries.py` checks the connector's own process log at the
level it runs (INFO).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
import secrets
import threading
import time
from contextlib import contextmanager

import httpx
import pytest
from aiohttp import web

from connectors.bridge_client import RasaClient, bridge_url
from connectors.slack.__main__ import build_server
from connectors.slack.log_privacy import refusal
from tests.conftest import make_settings
from tests.fakes.fake_slack import (
    BOT_USER_ID,
    FakeSlack,
    button_click,
    edit_event,
    file_share_event,
    mention_event,
    message_event,
)
from tests.fakes.stub_rasa import StubRasa
from tests.unit.test_slack_connector import SIGNING_SECRET, TEACHER, TEACHER_DM, post_click, post_event

MARKER = "tangerine-walrus-5521"


@pytest.fixture
def slack():
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def rasa():
    with StubRasa(secrets.token_hex(16)) as stub:
        yield stub


def slack_settings(tmp_path, slack: FakeSlack, rasa: StubRasa, mode: str):
    return dataclasses.replace(
        make_settings(tmp_path),
        slack_bot_token="xoxb-test-token",
        slack_app_token="xapp-test-token" if mode == "socket" else "",
        slack_signing_secret=SIGNING_SECRET if mode == "http" else "",
        slack_client_id="",
        slack_client_secret="",
        slack_api_url=slack.api_url,
        rasa_port=rasa.port,
        bridge_secret=rasa.secret,
    )


@contextmanager
def serving(settings):
    """The connector as `python -m connectors.slack` serves it, in a thread of this process."""
    ready, state = threading.Event(), {}

    async def main() -> None:
        rasa = RasaClient(bridge_url(settings.rasa_port, "slack"), settings.bridge_secret)
        web_app, socket_handler = build_server(settings, rasa)
        runner = web.AppRunner(web_app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        if socket_handler is not None:
            await socket_handler.connect_async()
        state.update(
            port=site._server.sockets[0].getsockname()[1],
            loop=asyncio.get_running_loop(),
            stop=asyncio.Event(),
        )
        ready.set()
        await state["stop"].wait()
        if socket_handler is not None:
            await socket_handler.close_async()
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


def leaks(caplog) -> list[str]:
    """Every captured log line (with any traceback) that holds the marker."""
    lines = []
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        if MARKER in text:
            lines.append(f"{record.name} {record.levelname}: {text[:300]}")
    return lines


def test_http_mode_logs_no_words_at_debug_and_says_why_requests_were_refused(tmp_path, slack, rasa, caplog):
    caplog.set_level(logging.DEBUG)  # before bolt makes its loggers, which copy the root level
    with serving(slack_settings(tmp_path, slack, rasa, "http")) as url:
        event = message_event(TEACHER, f"{MARKER}: a pupil told me something")
        assert post_event(url, event, secret="rotated-secret").status_code == 401
        assert post_event(url, event, timestamp=int(time.time()) - 3600).status_code == 401
        assert httpx.post(f"{url}/slack/events", json=event, timeout=10).status_code == 401
        assert rasa.received == []

        post_event(url, event)
        post_event(url, event, retry=(1, "http_timeout"))
        post_event(url, file_share_event(TEACHER, f"{MARKER} with a file"))
        post_event(url, edit_event(event, f"{MARKER} edited"))
        post_event(url, mention_event(TEACHER, f"{MARKER} mentioned"))
        own = message_event(BOT_USER_ID, f"{MARKER} the bot's own post", TEACHER_DM)
        post_event(url, own)
        post_click(url, button_click(TEACHER, TEACHER_DM, f"/{MARKER}", note=f"{MARKER} note"))
        slack.wait_for(lambda s: len([c for c in s.posts() if MARKER in (c.body.get("text") or "")]) >= 5)
        time.sleep(0.5)

    assert len(rasa.received) == 5  # the DM once, the file's words, the edit, the mention, the click
    assert leaks(caplog) == []
    refused = [r for r in caplog.records if r.getMessage().startswith("Slack request refused")]
    assert [r.levelno for r in refused] == [logging.WARNING] * 3
    assert [r.name for r in refused] == ["slack_bolt.RequestVerification"] * 3
    reasons = " | ".join(r.getMessage() for r in refused)
    assert "signature does not match" in reasons and "unsigned" in reasons
    assert re.search(r"timestamp is -360[01] s from this server.s clock", reasons)
    # the libraries' DEBUG lines still say what happened, without the words
    assert any("Sending a request - url: POST" in r.getMessage() for r in caplog.records)
    assert any(r.getMessage() == "Skipped self event (content not logged)" for r in caplog.records)


def test_socket_mode_logs_no_words_at_debug(tmp_path, slack, rasa, caplog):
    caplog.set_level(logging.DEBUG)
    with serving(slack_settings(tmp_path, slack, rasa, "socket")):
        slack.wait_for(lambda s: s.sockets)
        envelope = slack.push("events_api", message_event(TEACHER, f"{MARKER} over the socket"))
        slack.push("events_api", file_share_event(TEACHER, f"{MARKER} file over the socket"))
        slack.push("interactive", button_click(TEACHER, TEACHER_DM, f"/{MARKER}"))
        slack.wait_for(lambda s: envelope in s.acks)
        slack.wait_for(lambda s: len([c for c in s.posts() if MARKER in (c.body.get("text") or "")]) >= 3)
        time.sleep(0.5)
    assert leaks(caplog) == []
    assert any(r.getMessage().startswith("Received message (type: TEXT") for r in caplog.records)


def test_the_refusal_reason_never_repeats_what_the_request_carried():
    now = 1_700_000_000
    forged = f"Invalid request signature detected (signature: v0=abc, timestamp: {now}, body: {MARKER})"
    stale = f"Invalid request signature detected (signature: v0=abc, timestamp: {now - 400}, body: x)"
    unsigned = f"Invalid request signature detected (signature: , timestamp: 0, body: {json.dumps(MARKER)})"
    injected = f"Invalid request signature detected (signature: {MARKER}, timestamp: {MARKER}, body: x)"
    assert "signature does not match" in refusal(forged, now)
    assert "-400 s" in refusal(stale, now) and "clock" in refusal(stale, now)
    assert "unsigned" in refusal(unsigned, now)
    assert "unsigned" in refusal(injected, now)
    assert "unsigned" in refusal(f"something else entirely {MARKER}", now)
    for line in (forged, stale, unsigned, injected):
        assert MARKER not in refusal(line, now)

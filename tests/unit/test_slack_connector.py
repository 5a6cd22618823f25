"""The Slack connector: the real slack-bolt app, in its own process, against a fake Slack.

`python -m connectors.slack` runs as `make run` starts it, pointed at the local fake Slack
Web API (tests/fakes/fake_slack.py) and at a stub of the Rasa bridge that checks the
bridge signature (tests/fakes/stub_rasa.py), so no TensorFlow is needed here.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from knowledge.shared.settings import PROJECT_ROOT
from tests.fakes.fake_slack import FakeSlack, button_click, mention_event, message_event
from tests.fakes.stub_rasa import StubRasa

SIGNING_SECRET = "test-signing-secret"
TEACHER, TEACHER_DM = "U0EXTEACH1", "D0TEACHER1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PacedRasa(StubRasa):
    """The stub bridge, taking `delay_s` to answer: a Rasa turn that is still running."""

    delay_s = 0.0

    async def _webhook(self, request: web.Request) -> web.Response:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        return await super()._webhook(request)


@dataclass
class Connector:
    """A running `python -m connectors.slack`: where it listens, and everything it logged."""

    url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def connector(slack: FakeSlack, rasa: StubRasa, *, mode: str):
    port = _free_port()
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_API_URL": slack.api_url,
        "SLACK_EVENTS_PORT": str(port),
        "RASA_PORT": str(rasa.port),
        "BRIDGE_SECRET": rasa.secret,
    }
    env.pop("SLACK_APP_TOKEN", None)
    env.pop("SLACK_SIGNING_SECRET", None)
    if mode == "socket":
        env["SLACK_APP_TOKEN"] = "xapp-test-token"
    else:
        env["SLACK_SIGNING_SECRET"] = SIGNING_SECRET
    log_dir = tempfile.TemporaryDirectory(prefix="slack-connector-")
    log_path = Path(log_dir.name) / "connector.log"
    log_file = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "connectors.slack"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(log_path.read_text(errors="replace"))
            try:
                if httpx.get(f"{url}/health", timeout=1).json().get("status") == "ok":
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the Slack connector did not start"
            time.sleep(0.2)
        yield Connector(url, log_path)
    finally:
        process.terminate()
        process.wait(15)
        log_file.close()
        log_dir.cleanup()


@pytest.fixture(scope="module")
def slack():
    with FakeSlack() as fake:
        yield fake


@pytest.fixture(scope="module")
def rasa():
    with PacedRasa(secrets.token_hex(16)) as stub:
        yield stub


@pytest.fixture(scope="module")
def running_connector(slack, rasa):
    with connector(slack, rasa, mode="http") as running:
        yield running


@pytest.fixture
def http_connector(running_connector, rasa):
    rasa.delay_s = 0.0
    yield running_connector.url
    rasa.delay_s = 0.0


def signed_post(
    url: str,
    body: bytes,
    content_type: str,
    *,
    secret=SIGNING_SECRET,
    timestamp=None,
    retry: tuple[int, str] | None = None,
):
    """POST to the connector as Slack does; `retry` = (X-Slack-Retry-Num, X-Slack-Retry-Reason)."""
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
    }
    if retry is not None:
        headers.update({"X-Slack-Retry-Num": str(retry[0]), "X-Slack-Retry-Reason": retry[1]})
    return httpx.post(f"{url}/slack/events", content=body, headers=headers, timeout=30)


def post_event(url: str, event: dict, **kwargs) -> httpx.Response:
    return signed_post(url, json.dumps(event).encode(), "application/json", **kwargs)


def post_click(url: str, payload: dict, **kwargs) -> httpx.Response:
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    return signed_post(url, body, "application/x-www-form-urlencoded", **kwargs)


def arrived(rasa: StubRasa, text: str) -> list[dict]:
    """The messages with this text that reached the Rasa bridge."""
    return [m for m in rasa.received if m["message"] == text]


def posted(slack: FakeSlack, text: str, method: str = "chat.postMessage") -> list:
    """The posts to Slack whose text contains `text`."""
    return [c for c in slack.of(method) if text in (c.body.get("text") or "")]


FILES_NOTE = "can't open files"


def test_a_dm_goes_to_rasa_as_that_staff_member_and_the_reply_comes_back_as_block_kit(
    slack, rasa, http_connector
):
    rasa.replies.append(
        [
            {
                "text": "Free slots next Tuesday <afternoon> & after:",
                "buttons": [{"title": "Tue 24 Nov, 3:15pm", "payload": '/choose_slot{"slot_id": "7"}'}],
            }
        ]
    )
    before = len(slack.of("chat.postMessage"))
    assert (
        post_event(http_connector, message_event(TEACHER, "book a senco slot next tuesday")).status_code
        == 200
    )

    posted = slack.wait_for(lambda s: s.of("chat.postMessage")[before:])[0]
    arrived = rasa.received[-1]
    assert arrived["sender"] == f"slack-T0EXAMPLE1-{TEACHER}"
    assert arrived["message"] == "book a senco slot next tuesday"
    assert arrived["metadata"]["slack"] == {
        "team_id": "T0EXAMPLE1",
        "user_id": TEACHER,
        "channel_id": TEACHER_DM,
        "channel_type": "im",
    }
    assert posted.token == "xoxb-test-token"
    assert posted.body["channel"] == TEACHER_DM
    section, actions = posted.body["blocks"]
    assert section["text"]["text"] == "Free slots next Tuesday &lt;afternoon&gt; &amp; after:"
    assert actions["elements"][0]["value"] == '/choose_slot{"slot_id": "7"}'
    assert actions["elements"][0]["text"]["text"] == "Tue 24 Nov, 3:15pm"


def test_a_click_on_a_slot_sends_its_payload_with_the_topic_and_note_chosen_above_it(
    slack, rasa, http_connector
):
    click = button_click(
        TEACHER, TEACHER_DM, '/choose_slot{"slot_id": "7"}', topic="reading", note="Y3 phonics"
    )
    assert post_click(http_connector, click).status_code == 200
    slack.wait_for(lambda s: rasa.received and rasa.received[-1]["message"].startswith("/choose_slot"))
    sent = rasa.received[-1]["message"]
    assert sent.startswith("/choose_slot{")
    assert json.loads(sent.removeprefix("/choose_slot")) == {
        "slot_id": "7",
        "topic": "reading",
        "note": "Y3 phonics",
    }


def test_a_mention_in_a_shared_channel_is_answered_only_to_the_person_who_asked(slack, rasa, http_connector):
    before = len(slack.of("chat.postEphemeral"))
    post_event(http_connector, mention_event(TEACHER, "what have I booked?"))
    reply = slack.wait_for(lambda s: s.of("chat.postEphemeral")[before:])[0]
    assert rasa.received[-1]["message"] == "what have I booked?"  # the mention itself is stripped
    assert reply.body["user"] == TEACHER and reply.body["channel"] == "C0STAFFRM1"
    assert not [c for c in slack.of("chat.postMessage") if c.body.get("channel") == "C0STAFFRM1"]


def test_a_calendar_file_is_uploaded_to_the_persons_dm(slack, rasa, http_connector):
    ics = "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
    rasa.replies.append(
        [
            {"text": "Booked."},
            {
                "custom": {
                    "calendar_file": {"filename": "senco-surgery.ics", "content": ics, "title": "SENCo"}
                }
            },
        ]
    )
    post_event(http_connector, message_event(TEACHER, "book it"))
    done = slack.wait_for(lambda s: s.of("files.completeUploadExternal"))[-1]
    assert done.body["channel_id"] == TEACHER_DM
    assert ics.encode() in slack.uploads.values()


def test_a_rate_limited_post_is_retried_after_slack_says_when(slack, rasa, http_connector):
    slack.rate_limit_next["chat.postMessage"] = 1
    before = len(slack.of("chat.postMessage"))
    post_event(http_connector, message_event(TEACHER, "hello after a 429"))
    slack.wait_for(lambda s: s.of("chat.postMessage")[before:])
    assert slack.of("chat.postMessage:429")


def test_requests_without_a_valid_fresh_slack_signature_are_refused(slack, rasa, http_connector):
    received = len(rasa.received)
    event = message_event(TEACHER, "forged")
    assert post_event(http_connector, event, secret="not-the-secret").status_code == 401
    assert post_event(http_connector, event, timestamp=int(time.time()) - 600).status_code == 401
    unsigned = httpx.post(f"{http_connector}/slack/events", json=event, timeout=10)
    assert unsigned.status_code == 401
    time.sleep(0.5)
    assert len(rasa.received) == received


def test_slacks_url_verification_challenge_is_answered(http_connector):
    response = post_event(http_connector, {"type": "url_verification", "challenge": "c-123", "token": "t"})
    assert response.status_code == 200 and "c-123" in response.text


def test_when_rasa_is_down_the_person_is_told_to_try_again(slack):
    with (
        StubRasa("other-secret") as wrong_secret_rasa,
        connector(slack, wrong_secret_rasa, mode="http") as running,
    ):
        url = running.url
        wrong_secret_rasa.secret = "rotated"  # the bridge now refuses the connector's signature
        before = len(slack.of("chat.postMessage"))
        post_event(url, message_event(TEACHER, "hello?"))
        reply = slack.wait_for(lambda s: s.of("chat.postMessage")[before:])[0]
        assert "try again" in reply.body["text"]


def test_socket_mode_receives_events_over_the_websocket_and_acks_them(slack, rasa):
    with connector(slack, rasa, mode="socket"):
        before = len(slack.of("chat.postMessage"))
        envelope_id = slack.push("events_api", message_event(TEACHER, "hello over socket mode"))
        slack.wait_for(lambda s: envelope_id in s.acks)
        slack.wait_for(lambda s: s.of("chat.postMessage")[before:])
        assert rasa.received[-1]["message"] == "hello over socket mode"
        assert slack.of("apps.connections.open")[-1].token == "xapp-test-token"


def test_without_tokens_the_connector_says_slack_is_off():
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    done = subprocess.run(
        [sys.executable, "-m", "connectors.slack"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "Slack is off" in done.stderr


def test_the_shipped_slack_manifest_asks_for_what_the_connector_uses():
    import yaml

    manifest = yaml.safe_load((PROJECT_ROOT / "slack/manifest.yml").read_text())
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is True
    assert set(settings["event_subscriptions"]["bot_events"]) == {"app_mention", "message.im"}
    assert settings["interactivity"]["is_enabled"] is True
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "app_mentions:read",
        "chat:write",
        "im:history",
        "im:read",
        "im:write",
        "files:write",
    }


def test_the_broadcast_transport_maps_slacks_answers_onto_the_outbox_outcomes(slack):
    import asyncio

    from connectors.slack.transport import SlackTransport
    from knowledge.broadcasts.delivery import PermanentFailure, RateLimited

    transport = SlackTransport("xoxb-broadcast", slack.api_url)
    asyncio.run(transport.send(TEACHER, "Reminder: autism awareness training, Thursday 3:30pm."))
    sent = slack.of("chat.postMessage")[-1]
    assert sent.body["channel"] == "D0EXTEACH1" and sent.body["text"].startswith("Reminder:")

    slack.rate_limit_next["conversations.open"] = 1
    with pytest.raises(RateLimited) as limited:
        asyncio.run(transport.send(TEACHER, "again"))
    assert limited.value.retry_after == 0

    slack.gone_users.add("U0LEFT0001")
    with pytest.raises(PermanentFailure, match="user_not_found"):
        asyncio.run(transport.send("U0LEFT0001", "hello"))

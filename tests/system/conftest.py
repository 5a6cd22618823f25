"""One real bot for the whole system test session: `python -m bot.launcher` (as `make run`
starts it) on test ports, with its own database and tracker store, then Ctrl-C at the end."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bot.seed import load_everything
from bot.training import MODEL_FILE
from knowledge.shared.settings import PROJECT_ROOT, Settings
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.fake_telegram import FakeTelegram

START_TIMEOUT_S = 300


@dataclasses.dataclass
class RunningBot:
    settings: Settings
    api_token: str
    log_path: Path
    process: subprocess.Popen
    slack: FakeSlack
    telegram: FakeTelegram

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.rasa_port}"

    @property
    def rest_url(self) -> str:
        return f"{self.rasa_url}/webhooks/rest/webhook"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.webchat_port}/"

    def say(self, text, sender: str = "system-test", timeout: float = 60) -> list[dict]:
        response = httpx.post(self.rest_url, json={"sender": sender, "message": text}, timeout=timeout)
        response.raise_for_status()
        return response.json()

    def tracker(self, sender: str) -> dict:
        """A conversation as Rasa keeps it; a REST sender's is `tracker(web_sender(sender))`."""
        response = httpx.get(
            f"{self.rasa_url}/conversations/{sender}/tracker", params={"token": self.api_token}, timeout=30
        )
        response.raise_for_status()
        return response.json()

    def ask(self, text, sender: str = "system-test") -> str:
        """The bot's whole answer to one message, as text."""
        return texts(self.say(text, sender))

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


def web_sender(sender: str) -> str:
    """The conversation a REST message sent as `sender` lands in: the server puts every REST
    sender in the web namespace (connectors/rasa/senders.py), so it never reaches another channel's."""
    assert re.fullmatch(r"[A-Za-z0-9_.@:-]{1,64}", sender), "plain senders only (others are hashed)"
    return "web-" + sender


def record_figures(file_name: str, name: str, figures: dict) -> None:
    """Keep a hold-out's figures after every run (results/<file_name>, not committed): pytest
    shows printed figures only for a failing test, and the figures are the measure."""
    results = PROJECT_ROOT / "results"
    results.mkdir(exist_ok=True)
    path = results / file_name
    everything = json.loads(path.read_text()) if path.exists() else {}
    everything[name] = figures
    path.write_text(json.dumps(everything, indent=2) + "\n")


def texts(replies: list[dict]) -> str:
    """The text of a list of REST replies, one message per line."""
    return "\n".join(r.get("text", "") for r in replies)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def school_calendar_around_today(path: Path) -> Path:
    """A term running from last week to three months ahead, so the tests work on any date.
    (The shipped example calendar covers one real school year only.)"""
    import datetime as dt

    today = dt.date.today()
    starts, ends = today - dt.timedelta(days=7), today + dt.timedelta(days=90)
    path.write_text(
        f"example: true\nterms:\n  - {{name: Test term, starts: {starts}, ends: {ends}}}\nclosures: []\n"
    )
    return path


@pytest.fixture(scope="session")
def fake_slack():
    """The local fake Slack the bot's Slack connector talks to (Socket Mode and Web API)."""
    with FakeSlack() as slack:
        yield slack


@pytest.fixture(scope="session")
def fake_telegram():
    """The local fake Telegram Bot API the bot's Telegram connector long-polls."""
    with FakeTelegram() as telegram:
        yield telegram


@pytest.fixture(scope="session")
def bot(tmp_path_factory, fake_slack, fake_telegram) -> RunningBot:
    if not MODEL_FILE.exists():
        pytest.fail("no trained model: run `make test` (it trains first)")
    work = tmp_path_factory.mktemp("bot")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{work / 'knowledge.shared.db'}",
        "TRACKER_DB": str(work / "tracker.db"),
        "RASA_PORT": str(_free_port()),
        "ACTIONS_PORT": str(_free_port()),
        "WEBCHAT_PORT": str(_free_port()),
        "RASA_API_TOKEN": secrets.token_hex(16),
        "SCHOOL_ARTICLES_DIR": str(work / "school_articles"),
        "SCHEDULER_INTERVAL_S": "2",
        "SCHOOL_CALENDAR": str(school_calendar_around_today(work / "calendar.yml")),
        "SLACK_BOT_TOKEN": "xoxb-system-test",
        "SLACK_APP_TOKEN": "xapp-system-test",
        "SLACK_API_URL": fake_slack.api_url,
        "SLACK_EVENTS_PORT": str(_free_port()),
        "TELEGRAM_BOT_TOKEN": "123456:system-test",
        "TELEGRAM_API_URL": fake_telegram.api_url,
        "TELEGRAM_PORT": str(_free_port()),
        "PARENT_QUIET_HOURS": "00:00-00:00",  # the tests must not depend on the time they run
    }
    env.pop("TELEGRAM_WEBHOOK_URL", None)
    env.pop("SLACK_SIGNING_SECRET", None)
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "SCHOOL_ARTICLES_DIR", "SCHOOL_CALENDAR")})
    settings = Settings.from_env()
    settings = dataclasses.replace(
        settings,
        rasa_port=int(env["RASA_PORT"]),
        actions_port=int(env["ACTIONS_PORT"]),
        webchat_port=int(env["WEBCHAT_PORT"]),
        slack_events_port=int(env["SLACK_EVENTS_PORT"]),
        telegram_port=int(env["TELEGRAM_PORT"]),
    )
    load_everything(settings)
    log_path = work / "bot.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.launcher"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    running = RunningBot(settings, env["RASA_API_TOKEN"], log_path, process, fake_slack, fake_telegram)
    deadline = time.monotonic() + START_TIMEOUT_S
    while "The SEND assistant is running" not in running.log_text():
        if process.poll() is not None:
            pytest.fail(f"the launcher exited during start-up:\n{running.log_text()[-3000:]}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the bot did not start in {START_TIMEOUT_S}s:\n{running.log_text()[-3000:]}")
        time.sleep(1)
    yield running
    # Ctrl-C, as a person stops `make run`: every server must stop, cleanly.
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0, running.log_text()[-2000:]
    assert "Stopped." in running.log_text()
    for url in (
        f"{running.rasa_url}/",
        running.web_url,
        f"http://127.0.0.1:{settings.actions_port}/health",
        f"http://127.0.0.1:{settings.slack_events_port}/health",
        f"http://127.0.0.1:{settings.telegram_port}/health",
    ):
        assert not _answers(url), f"{url} still answers after Ctrl-C"


@pytest.fixture
def fresh_sender() -> str:
    return "test-" + secrets.token_hex(6)


@pytest.fixture(scope="session")
def slots(bot) -> list[int]:
    """Surgery slots on the next eight weekdays, 3:15pm to 4:15pm UK time, 15 minutes each: made
    once for the whole run (a slot's time is unique per school), shared by every staff test."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from knowledge.shared.db import unit_of_work
    from knowledge.shared.models import SurgerySlot

    uk = ZoneInfo("Europe/London")
    made = []
    day = dt.datetime.now(uk).date()
    with unit_of_work(bot.settings.database_url) as session:
        while len(made) < 32:
            day += dt.timedelta(days=1)
            if day.weekday() >= 5:
                continue
            for minute in (15, 30, 45, 60):
                starts = dt.datetime.combine(day, dt.time(15, 0), uk) + dt.timedelta(minutes=minute)
                slot = SurgerySlot(
                    school_ref="example-primary",
                    starts_at=starts.astimezone(dt.timezone.utc),
                    ends_at=(starts + dt.timedelta(minutes=15)).astimezone(dt.timezone.utc),
                    capacity=1,
                )
                session.add(slot)
                session.flush()
                made.append(slot.id)
    return made

"""The production profile (`python -m bot.prod`) started on spare loopback ports in a folder of
its own, and a REST client that behaves as ours should: a `message_id` on every message, an
`X-Conversation-Id` header, and retries (same `message_id`) when a delivery fails.

Used by `tests/prod` and `make bench-scale` (`bench/scale.py`). Every loop here is bounded in
count and time, and everything it talks to is on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import httpx
import psutil
import sqlalchemy as sa

from bot.prod import Postgres, ProdConfig, pg_bin_dir
from knowledge.shared.settings import PROJECT_ROOT

START_TIMEOUT_S = 420.0
STOP_TIMEOUT_S = 90.0
ATTEMPT_TIMEOUT_S = 45.0  # longer than a dead server's lock (TICKET_LOCK_LIFETIME 20 s) plus a turn
RETRY_PAUSES_S = (0.5, 1.0, 2.0, 4.0, 4.0)  # six tries at most
RETRY_STATUSES = (500, 502, 503, 504)


def free_ports(count: int) -> list[int]:
    """`count` distinct ports nothing listens on now (held open together so none repeats)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class ProdStack:
    """`python -m bot.prod` in `work` (its PROD_DIR), on spare ports; a context manager."""

    def __init__(self, work: Path | None = None, servers: int = 2, extra_env: dict[str, str] | None = None):
        self.own_work = work is None
        self.work = Path(work or tempfile.mkdtemp(prefix="sendbot-prod-"))
        self.work.mkdir(parents=True, exist_ok=True)
        self.work.chmod(0o755)  # PostgreSQL runs as `postgres` under it
        public, web, pg, redis, *rest = free_ports(4 + 2 * servers)
        self.api_token = secrets.token_hex(16)
        self.env = {
            **os.environ,
            "PROD_DIR": str(self.work),
            "PROD_RASA_SERVERS": str(servers),
            "RASA_PORT": str(public),
            "WEBCHAT_PORT": str(web),
            "PROD_PG_PORT": str(pg),
            "PROD_REDIS_PORT": str(redis),
            "PROD_RASA_PORTS": ",".join(map(str, rest[:servers])),
            "PROD_ACTIONS_PORTS": ",".join(map(str, rest[servers:])),
            "RASA_API_TOKEN": self.api_token,
            "SLACK_BOT_TOKEN": "",
            "TELEGRAM_BOT_TOKEN": "",
            "SCHEDULER_INTERVAL_S": "30",
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        self.config = ProdConfig.from_env(self.env)
        self.log_path = self.work / "launcher.log"
        self.process: subprocess.Popen | None = None
        self.log_start = 0
        self.final_log = ""  # the launcher's output, kept by stop() before the folder goes
        self.exit_code: int | None = None

    # --- life cycle ---

    def __enter__(self) -> ProdStack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout_s: float = START_TIMEOUT_S) -> None:
        self.log_start = self.log_path.stat().st_size if self.log_path.exists() else 0  # a reused folder
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot.prod"],
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while "The SEND assistant is running" not in self.log_text():
            if self.process.poll() is not None:
                raise RuntimeError(f"bot.prod exited during start-up:\n{self.log_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"bot.prod did not start in {timeout_s:.0f}s:\n{self.log_text()[-3000:]}")
            time.sleep(1)

    def stop(self) -> int | None:
        """SIGTERM the launcher (it stops everything, PostgreSQL last); SIGKILL what is left."""
        code = None
        if self.process is not None:
            descendants = self._descendants()
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
            try:
                code = self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                code = self.process.wait()
            for child in descendants:  # only if the launcher could not stop them itself
                try:
                    if child.is_running():
                        child.kill()
                except psutil.Error:
                    pass
        self.final_log = self.log_text()
        self.exit_code = code
        if self.config.base.exists():
            pg = pg_bin_dir()
            if pg is not None:
                Postgres(self.config, pg).stop()  # a no-op when the launcher stopped it
            if self.own_work:
                shutil.rmtree(self.work, ignore_errors=True)
        return code

    def _descendants(self) -> list[psutil.Process]:
        """The launcher's children, and theirs (each runs in its own session)."""
        try:
            return psutil.Process(self.process.pid).children(recursive=True) if self.process else []
        except psutil.Error:
            return []

    # --- looking at it ---

    def log_text(self) -> str:
        """The launcher's output in this run."""
        if not self.log_path.exists():
            return ""
        with open(self.log_path, "rb") as log:
            log.seek(self.log_start)
            return log.read().decode(errors="replace")

    def server_log(self, name: str) -> str:
        path = self.config.logs / name
        return path.read_text(errors="replace") if path.exists() else ""

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.config.public_port}/webhooks/rest/webhook"

    def rasa_server(self, number: int) -> psutil.Process:
        port = str(self.config.rasa_ports[number - 1])
        for child in self._descendants():
            try:
                command = child.cmdline()
            except psutil.Error:
                continue
            if "rasa" in command and "run" in command and port in command:
                return child
        raise LookupError(f"Rasa server {number} is not running")

    def kill_rasa_server(self, number: int) -> None:
        """SIGKILL Rasa server `number` (and its process group): a crash, not a shutdown."""
        os.killpg(self.rasa_server(number).pid, signal.SIGKILL)

    def restart_postgres(self) -> None:
        Postgres(self.config, pg_bin_dir()).restart()  # type: ignore[arg-type]

    @contextlib.contextmanager
    def tracker_db(self) -> Iterator[sa.engine.Connection]:
        """A transaction on Rasa's tracker store (PostgreSQL), for checks and fault injection."""
        engine = sa.create_engine(self.config.tracker_url(), future=True)
        try:
            with engine.begin() as connection:
                yield connection
        finally:
            engine.dispose()

    def user_message_ids(self, sender_prefix: str) -> collections.Counter:
        """How often each message_id of the senders starting with `sender_prefix` is in the
        tracker store (PostgreSQL), as user messages. Conversations are kept under the server's
        sender ids: `web_sender(…)` of what a REST client sent, `slack-…` from the Slack bridge."""
        with self.tracker_db() as connection:
            rows = connection.execute(
                sa.text("SELECT data FROM events WHERE type_name = 'user' AND sender_id LIKE :prefix"),
                {"prefix": sender_prefix.replace("%", r"\%").replace("_", r"\_") + "%"},
            ).all()
        return collections.Counter(json.loads(row[0]).get("message_id") for row in rows)


def web_sender(sender: str) -> str:
    """The conversation a REST message sent as `sender` (or any sender starting with it) lands
    in: the server puts REST senders in the web namespace (connectors/rasa/senders.py)."""
    if not re.fullmatch(r"[A-Za-z0-9_.@:-]{1,64}", sender):
        raise ValueError("plain senders only (the server hashes others)")
    return "web-" + sender


# --- the client ----------------------------------------------------------------------------


@dataclass
class Delivery:
    """One message and what became of it (after any retries)."""

    sender: str
    text: str
    message_id: str
    replies: list[dict[str, Any]] = field(default_factory=list)
    ok: bool = False
    attempts: int = 0
    upstreams: list[str] = field(default_factory=list)  # nginx's X-Upstream per answered try
    statuses: list[Any] = field(default_factory=list)  # each try: an HTTP status or an error name
    latency_s: float = 0.0  # from the first try to the answer
    sent_at: float = 0.0

    @property
    def text_of_replies(self) -> str:
        return "\n".join(str(r.get("text", "")) for r in self.replies)

    @property
    def failed_over(self) -> bool:
        """nginx tried more than one server, or we had to send it again."""
        return self.attempts > 1 or any("," in u for u in self.upstreams)


async def say(
    client: httpx.AsyncClient,
    url: str,
    sender: str,
    text: str,
    *,
    metadata: dict[str, Any] | None = None,
    message_id: str | None = None,
    deadline: float | None = None,
) -> Delivery:
    """Send one message as our clients do; retried with the same message_id until answered
    (at most len(RETRY_PAUSES_S) + 1 tries, and not past `deadline`, a monotonic time)."""
    delivery = Delivery(sender, text, message_id or uuid.uuid4().hex, sent_at=time.monotonic())
    body = {"sender": sender, "message": text, "message_id": delivery.message_id}
    if metadata:
        body["metadata"] = metadata
    headers = {"X-Conversation-Id": sender}
    for attempt, pause in enumerate((0.0, *RETRY_PAUSES_S)):
        if pause:
            if deadline is not None and time.monotonic() + pause > deadline:
                break
            await asyncio.sleep(pause)
        delivery.attempts = attempt + 1
        try:
            response = await client.post(url, json=body, headers=headers, timeout=ATTEMPT_TIMEOUT_S)
        except httpx.HTTPError as error:
            delivery.statuses.append(type(error).__name__)
            continue
        delivery.statuses.append(response.status_code)
        if response.status_code in RETRY_STATUSES:
            continue
        if response.status_code != 200:
            break  # a refusal (400): sending it again would not help
        delivery.upstreams.append(response.headers.get("X-Upstream", ""))
        replies = response.json()
        if isinstance(replies, list) and replies:
            delivery.replies, delivery.ok = replies, True
            break
        # 200 with no reply: the turn did not complete; a repeat is safe (exactly-once).
    delivery.latency_s = time.monotonic() - delivery.sent_at
    return delivery


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]

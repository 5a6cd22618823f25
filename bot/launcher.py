"""Start the whole bot with one command: action server, Rasa server, web chat page, and the
Slack and Telegram connectors when they are configured.

`make run` calls this after set-up. It starts each server as a child process,
waits until each answers, prints where to find them, and on Ctrl-C (or SIGTERM)
stops all of them. If one dies, the others are stopped too, so nothing is left
half-running.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

from bot.scheduler import Scheduler
from bot.settings import PROJECT_ROOT, VAR_DIR, Settings, get_settings
from bot.training import MODEL_FILE
from connectors.slack.config import mode as slack_mode
from connectors.slack.config import why_off as slack_off
from connectors.telegram.config import mode as telegram_mode
from connectors.telegram.config import why_off as telegram_off

STARTUP_TIMEOUT_S = 300


@dataclass
class Child:
    name: str
    command: list[str]
    health_url: str | None  # None: ready once started (no HTTP side)
    process: subprocess.Popen | None = None
    ready: Callable[[], bool] | None = None  # instead of health_url, for servers that don't speak HTTP
    log_path: Path | None = None  # None: the child writes to our stdout and stderr


def runtime_endpoints(settings: Settings) -> Path:
    """endpoints.yml with the action server's port and the tracker database from the settings."""
    endpoints = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text())
    endpoints["action_endpoint"]["url"] = f"http://127.0.0.1:{settings.actions_port}/webhook"
    tracker = endpoints.get("tracker_store") or {}
    if tracker.get("dialect") == "sqlite":
        tracker["db"] = str(settings.tracker_db)
        settings.tracker_db.parent.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / f"endpoints.{settings.rasa_port}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(endpoints, sort_keys=False))
    return path


def children(settings: Settings) -> list[Child]:
    python = sys.executable
    rasa_command = [
        python, "-m", "rasa", "run",
        "--model", str(MODEL_FILE),
        "--credentials", str(PROJECT_ROOT / "credentials.yml"),
        "--endpoints", str(runtime_endpoints(settings)),
        "--port", str(settings.rasa_port),
        "--cors", f"http://localhost:{settings.webchat_port}", f"http://127.0.0.1:{settings.webchat_port}",
    ]  # fmt: skip
    if settings.rasa_api_token:  # tests and benchmarks only: the HTTP API needs this token
        rasa_command += ["--enable-api", "--auth-token", settings.rasa_api_token]
    return [
        Child(
            "action server",
            [python, "-m", "rasa_sdk", "--actions", "actions", "--port", str(settings.actions_port)],
            f"http://127.0.0.1:{settings.actions_port}/health",
        ),
        Child("Rasa server", rasa_command, f"http://127.0.0.1:{settings.rasa_port}/"),
        *single_instance_children(settings),
    ]


def single_instance_children(settings: Settings) -> list[Child]:
    """The parts that run once however many Rasa servers there are (`bot.prod` runs two):
    the web chat page, and the Slack and Telegram connectors and broadcast sender when on."""
    python = sys.executable
    kids = [
        Child(
            "web chat page",
            [python, "-m", "connectors.web.server"],
            f"http://127.0.0.1:{settings.webchat_port}/health",
        ),
    ]
    if slack_mode(settings):
        kids.append(
            Child(
                "Slack connector",
                [python, "-m", "connectors.slack"],
                f"http://127.0.0.1:{settings.slack_events_port}/health",
            )
        )
    if telegram_mode(settings):
        kids.append(
            Child(
                "Telegram connector",
                [python, "-m", "connectors.telegram"],
                f"http://127.0.0.1:{settings.telegram_port}/health",
            )
        )
    if slack_mode(settings) or telegram_mode(settings):
        kids.append(Child("broadcast sender", [python, "-m", "bot.sender"], None))
    return kids


def connector_lines(settings: Settings) -> str:
    """What `make run` prints about Slack and Telegram: on, and how, or why not."""
    slack = f"  Slack for staff:       on ({slack_mode(settings)} mode)\n" if slack_mode(settings) else ""
    telegram = (
        f"  Telegram for parents:  on ({telegram_mode(settings)} mode)\n" if telegram_mode(settings) else ""
    )
    return (slack or f"  {slack_off(settings)}\n") + (telegram or f"  {telegram_off(settings)}\n")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def busy_ports(settings: Settings) -> list[int]:
    """Ports the bot needs that something else already listens on."""
    ports = [settings.actions_port, settings.rasa_port, settings.webchat_port]
    if slack_mode(settings):
        ports.append(settings.slack_events_port)
    if telegram_mode(settings):
        ports.append(settings.telegram_port)
    return taken(ports, "0.0.0.0")


def taken(ports: list[int], host: str) -> list[int]:
    """The ports of `ports` that something else already listens on at `host`."""
    busy = []
    for port in ports:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError:
                busy.append(port)
    return busy


def start(kids: list[Child], settings: Settings) -> None:
    env = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONUNBUFFERED": "1",
        "BRIDGE_SECRET": settings.bridge_secret,
    }
    for child in kids:
        print(f"Starting the {child.name}...", flush=True)
        if child.log_path is None:
            output = None
        else:
            child.log_path.parent.mkdir(parents=True, exist_ok=True)
            output = open(child.log_path, "ab")  # noqa: SIM115 - the child keeps it; ours closes below
        try:
            child.process = subprocess.Popen(
                child.command, cwd=PROJECT_ROOT, env=env, start_new_session=True, stdout=output, stderr=output
            )
        finally:
            if output is not None:
                output.close()


def wait_until_ready(kids: list[Child], timeout_s: float = STARTUP_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    waiting = list(kids)
    while waiting:
        for child in list(waiting):
            if child.process and child.process.poll() is not None:
                raise RuntimeError(
                    f"the {child.name} stopped during start-up (exit {child.process.returncode})"
                )
            if child.ready is not None:
                is_ready = child.ready()
            else:
                is_ready = child.health_url is None or _answers(child.health_url)
            if is_ready:
                print(f"The {child.name} is ready.", flush=True)
                waiting.remove(child)
        if time.monotonic() > deadline:
            raise RuntimeError("timed out waiting for: " + ", ".join(c.name for c in waiting))
        time.sleep(0.5)


def stop(kids: list[Child], grace_s: float = 15) -> None:
    """SIGTERM each child's process group, then SIGKILL whatever is still there."""
    for child in kids:
        if child.process and child.process.poll() is None:
            try:
                os.killpg(child.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + grace_s
    for child in kids:
        if not child.process:
            continue
        try:
            child.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(child.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            child.process.wait()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = get_settings()
    if not settings.bridge_secret:  # signs Slack connector -> Rasa messages; fresh each run
        settings = dataclasses.replace(settings, bridge_secret=secrets.token_hex(32))
    if not MODEL_FILE.exists():
        print("No trained model: run `make run` (it trains first).", file=sys.stderr)
        return 1
    busy = busy_ports(settings)
    if busy:
        print(
            f"Port(s) {', '.join(map(str, busy))} already in use: is the bot already running? "
            "Stop it, or choose other ports with RASA_PORT, ACTIONS_PORT and WEBCHAT_PORT.",
            file=sys.stderr,
        )
        return 1
    kids = children(settings)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt

    # Handle both explicitly: a launcher started in the background inherits an ignored SIGINT.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    scheduler = Scheduler(settings, interval_s=settings.scheduler_interval_s)
    try:
        start(kids, settings)
        wait_until_ready(kids)
        scheduler.start()
        print(
            "\nThe SEND assistant is running.\n"
            f"  Web chat for parents:  http://localhost:{settings.webchat_port}/\n"
            f"  REST channel:          http://localhost:{settings.rasa_port}/webhooks/rest/webhook\n"
            f"  Action server:         http://localhost:{settings.actions_port}/health\n"
            + connector_lines(settings)
            + "Press Ctrl-C to stop.\n",
            flush=True,
        )
        while True:
            for child in kids:
                if child.process and child.process.poll() is not None:
                    print(f"The {child.name} stopped (exit {child.process.returncode}); stopping the rest.")
                    return 1
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nStopping...", flush=True)
        return 0
    except RuntimeError as error:
        print(f"Could not start: {error}", file=sys.stderr)
        return 1
    finally:
        scheduler.stop()
        stop(kids)
        print("Stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())

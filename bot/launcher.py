"""Start the whole bot with one command: action server, Rasa server, web chat page, and the
Slack and Telegram connectors when they are configured.

`make run` calls this after set-up. It starts each server as a child process,
waits until each answers, prints where to find them, and on Ctrl-C (or SIGTERM)
stops all of them. If one dies, the others are stopped too, so nothing is left
half-running.

Stopping always finishes, so the next `make run` finds its ports free:

- Each server runs in its own process group, with whatever it starts itself (a Rasa
  server's workers). Stopping sends the group SIGTERM, waits up to 15 s until every process
  in it has ended, then sends SIGKILL.
- Only the first SIGINT or SIGTERM interrupts; later ones never cut the clean-up short. A
  second Ctrl-C makes it SIGKILL what is left at once. A second SIGTERM is ignored: GNU make
  passes a SIGTERM sent to its process group on to us, so a service manager stopping
  `make run` delivers two.
- If the launcher itself is killed (SIGKILL, say), each server gets SIGTERM from the kernel
  (the parent-death signal), and `bot.orphan_guard`, a small process started with the first
  server, ends every group still running: SIGTERM, then SIGKILL after 5 s.

`bot.prod` (`make run-prod`) uses the same `start`, `stop` and `Shutdown`.
"""

from __future__ import annotations

import ctypes
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
from typing import Callable, TextIO

import yaml

from bot.orphan_guard import signal_groups, wait_for_groups
from bot.scheduler import Scheduler
from bot.training import MODEL_FILE
from connectors.slack.config import mode as slack_mode
from connectors.slack.config import why_off as slack_off
from connectors.telegram.config import mode as telegram_mode
from connectors.telegram.config import why_off as telegram_off
from knowledge.shared.settings import PROJECT_ROOT, VAR_DIR, Settings, get_settings

STARTUP_TIMEOUT_S = 300
STOP_GRACE_S = 15
ORPHAN_GRACE_S = 5  # the orphan guard's wait between SIGTERM and SIGKILL: the launcher is gone


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


class Shutdown:
    """The signal handling `make run` and `make run-prod` share, so that stopping always finishes.

    The first SIGINT or SIGTERM raises KeyboardInterrupt in the main thread, which ends whatever
    wait is under way. After it, or once `begin()` is called, no signal raises: a later SIGINT
    (Ctrl-C pressed again) sets `hurry`, which makes `stop()` SIGKILL what is left at once; a
    later SIGTERM is ignored (make passes its process group's SIGTERM on, so each comes twice).
    The handler only sets attributes: it may run in the middle of anything.
    """

    def __init__(self) -> None:
        self.stopping = False
        self.hurry = False
        self.first_signal: int | None = None

    def install(self) -> None:
        # Both explicitly: a launcher started in the background inherits an ignored SIGINT.
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)

    def begin(self) -> None:
        """The clean-up starts (on any path): from now on no signal raises."""
        self.stopping = True

    def stopping_message(self) -> str:
        if self.first_signal == signal.SIGINT:
            return "\nStopping... (press Ctrl-C again to stop at once)"
        return "\nStopping..."

    def _on_signal(self, signum: int, _frame: object) -> None:
        if not self.stopping:
            self.stopping = True
            self.first_signal = signum
            raise KeyboardInterrupt
        if signum == signal.SIGINT:
            self.hurry = True


def say(text: str, file: TextIO | None = None) -> None:
    """Print for the person at the terminal; a closed or broken output must not stop the clean-up."""
    try:
        print(text, file=file or sys.stdout, flush=True)
    except (OSError, ValueError):
        pass


_PR_SET_PDEATHSIG = 1


def _find_prctl() -> Callable[..., int] | None:
    """Linux's prctl(2), looked up once, before any fork."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_prctl = _find_prctl()


def _dies_with_this_thread(launcher_pid: int) -> Callable[[], None] | None:
    """A `preexec_fn` that has the kernel send the child SIGTERM when the thread that started it
    ends, the launcher included, however it ends (start children from the main thread). It
    runs between fork and exec, so it only calls what was looked up beforehand."""
    if _prctl is None:
        return None
    prctl, sigterm = _prctl, int(signal.SIGTERM)

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, sigterm)
        if os.getppid() != launcher_pid:  # the launcher died before prctl: no signal will come
            os._exit(1)

    return preexec


class OrphanGuard:
    """The launcher's side of `bot.orphan_guard`: started with the first server, told each
    server's process group. The pipe's write end stays only here (it is close-on-exec), so
    the guard sees it close exactly when this process ends."""

    def __init__(self) -> None:
        self._pipe: int | None = None
        self._owner_pid: int | None = None

    def watch(self, group: int) -> None:
        pipe = self._pipe_to_guard()
        if pipe is None:
            return
        try:
            os.write(pipe, f"{group}\n".encode())
        except OSError:  # the guard is gone: the parent-death signal still ends the server itself
            pass

    def _pipe_to_guard(self) -> int | None:
        if self._owner_pid == os.getpid():
            return self._pipe
        self._owner_pid = os.getpid()  # one guard per process
        read_end, write_end = os.pipe()
        try:
            subprocess.Popen(
                [
                    sys.executable,
                    "-I",
                    "-S",
                    str(Path(__file__).with_name("orphan_guard.py")),
                    str(ORPHAN_GRACE_S),
                ],
                stdin=read_end,
                stdout=subprocess.DEVNULL,
                cwd="/",
                start_new_session=True,  # Ctrl-C and a SIGTERM to our process group pass it by
            )
        except OSError:
            os.close(write_end)
            self._pipe = None
        else:
            self._pipe = write_end
        finally:
            os.close(read_end)
        return self._pipe


ORPHAN_GUARD = OrphanGuard()


def start(kids: list[Child], settings: Settings) -> None:
    """Start each child in its own session and process group, to die with this process."""
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
                child.command,
                cwd=PROJECT_ROOT,
                env=env,
                start_new_session=True,
                preexec_fn=_dies_with_this_thread(os.getpid()),
                stdout=output,
                stderr=output,
            )
        finally:
            if output is not None:
                output.close()
        ORPHAN_GUARD.watch(child.process.pid)


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


def stop(kids: list[Child], grace_s: float = STOP_GRACE_S, shutdown: Shutdown | None = None) -> None:
    """SIGTERM each child's process group (the server and whatever it started), wait until every
    process in them has ended, up to `grace_s`, then SIGKILL what is left. A second Ctrl-C
    (`shutdown.hurry`) ends the wait at once. Waiting for the group, not only the server, is
    what frees the ports: a worker may outlive the server that started it."""
    groups = {child.process.pid: child.name for child in kids if child.process}
    signal_groups(groups, signal.SIGTERM)
    hurried = (lambda: shutdown.hurry) if shutdown is not None else (lambda: False)
    left = wait_for_groups(groups, time.monotonic() + grace_s, give_up=hurried)
    if left:
        names = ", ".join(f"the {groups[group]}" for group in sorted(left))
        if hurried():
            say(f"Stopping at once, as asked: ending {names}.")
        else:
            say(f"Not stopped after {grace_s:.0f} s, so ending at once: {names}.")
        signal_groups(left, signal.SIGKILL)
        wait_for_groups(left, time.monotonic() + 5)
    for child in kids:
        if child.process:
            try:
                child.process.wait(timeout=1)
            except subprocess.TimeoutExpired:  # unkillable (uninterruptible I/O): nothing more to do
                pass


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
    scheduler = Scheduler(settings, interval_s=settings.scheduler_interval_s)
    shutdown = Shutdown()
    shutdown.install()
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
                    shutdown.begin()
                    say(f"The {child.name} stopped (exit {child.process.returncode}); stopping the rest.")
                    return 1
            time.sleep(1)
    except KeyboardInterrupt:
        say(shutdown.stopping_message())
        return 0
    except RuntimeError as error:
        shutdown.begin()
        say(f"Could not start: {error}", file=sys.stderr)
        return 1
    finally:
        shutdown.begin()
        scheduler.stop()
        stop(kids, shutdown=shutdown)
        say("Stopped.")


if __name__ == "__main__":
    sys.exit(main())

"""Stopping `make run` always finishes and leaves nothing running, however it is stopped.

The launcher runs as `make run` runs it, `python -m bot.launcher`, with cheap stand-ins for
the Rasa server and the action server found first on PYTHONPATH (no hook in the launcher):
the Rasa stand-in serves its port from a worker process, the launcher's grandchild, as
Sanic's workers do, and takes 3 s to stop without passing the signal on; the action
server stand-in can be told to ignore SIGTERM, as a server stuck in a request does. The web
chat page is the real one. A second `make run` refuses to start while any port is bound, so
every test ends by checking the ports with the launcher's own probe.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import psutil
import pytest

from bot.launcher import Child, Shutdown, start, stop, taken, wait_until_ready
from bot.training import MODEL_FILE
from knowledge.shared.settings import PROJECT_ROOT, VAR_DIR, get_settings

START_TIMEOUT_S = 90

STANDIN = '''
"""A stand-in for a server the launcher starts: answers HTTP 200 on its port."""
import http.server
import os
import signal
import subprocess
import sys
import time


class Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def serve(port):
    http.server.ThreadingHTTPServer(("0.0.0.0", port), Ok).serve_forever()


def finish_then_exit(signum, frame):
    time.sleep(3)  # the request in hand
    os._exit(0)


def with_worker(port, on_sigterm):
    """Like Sanic with workers: a worker process serves the port; this one only waits."""
    worker = subprocess.Popen([sys.executable, __file__, "worker", str(port)])
    signal.signal(signal.SIGTERM, on_sigterm)  # and does not pass the signal on
    worker.wait()


def main(kind):
    port = int(sys.argv[sys.argv.index("--port") + 1])
    if kind == "rasa":
        with_worker(port, finish_then_exit)
    else:
        if os.environ.get("STANDIN_IGNORES_SIGTERM"):
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        serve(port)


if __name__ == "__main__":
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "worker":
        serve(port)
    elif mode == "stubborn-worker":  # a worker that outlives its parent and ignores SIGTERM
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        serve(port)
    elif mode == "leaves-stubborn-worker":  # the parent stops at once on SIGTERM
        worker = subprocess.Popen([sys.executable, __file__, "stubborn-worker", str(port)])
        worker.wait()
'''


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until(condition: Callable[[], object], timeout_s: float, poll_s: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(poll_s)
    return bool(condition())


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _alive(processes: list[psutil.Process]) -> list[str]:
    """The processes of `processes` still running (zombies hold nothing, so they don't count)."""
    running = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                running.append(f"{process.pid} {' '.join(process.cmdline())[:120]}")
        except psutil.NoSuchProcess:
            pass
    return running


@pytest.fixture
def standins(tmp_path: Path) -> Path:
    """A folder that, first on PYTHONPATH, makes `python -m rasa` and `python -m rasa_sdk` the stand-ins."""
    folder = tmp_path / "standins"
    folder.mkdir()
    (folder / "standin.py").write_text(STANDIN)
    for package, kind in (("rasa", "rasa"), ("rasa_sdk", "actions")):
        (folder / package).mkdir()
        (folder / package / "__init__.py").write_text("")
        (folder / package / "__main__.py").write_text(f"import standin\n\nstandin.main({kind!r})\n")
    return folder


@dataclass
class Launch:
    """One `python -m bot.launcher` (directly, or under make) and what it started."""

    process: subprocess.Popen
    log_path: Path
    ports: list[int]
    started: list[psutil.Process] = field(default_factory=list)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_running(self) -> list[psutil.Process]:
        """Wait for the launcher's "running" message; returns everything under it then."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while "The SEND assistant is running" not in self.log():
            assert self.process.poll() is None, f"the launcher exited during start-up:\n{self.log()[-3000:]}"
            assert time.monotonic() < deadline, f"the launcher did not start:\n{self.log()[-3000:]}"
            time.sleep(0.2)
        self.started = _descendants(self.process.pid)
        commands = " | ".join(" ".join(p.cmdline()) for p in self.started)
        assert "standin.py worker" in commands, commands  # the Rasa stand-in's worker: a grandchild
        return self.started

    def wait_log(self, text: str, timeout_s: float = 30) -> None:
        assert _wait_until(lambda: text in self.log(), timeout_s), self.log()[-3000:]

    def assert_nothing_left(self, processes: list[psutil.Process], timeout_s: float) -> float:
        """Every process the launcher started (and theirs) ends within `timeout_s`, and every
        port is free, so a second `make run` starts; returns how long it took."""
        began = time.monotonic()
        _wait_until(lambda: not _alive(processes), timeout_s)
        took = time.monotonic() - began
        assert not _alive(processes), (
            f"still running after {timeout_s} s: {_alive(processes)}\n{self.log()[-3000:]}"
        )
        assert taken(self.ports, "0.0.0.0") == [], self.log()[-3000:]
        return took

    def cleanup(self) -> None:
        """Only does something if a test failed: kill what was left, so nothing outlives it."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        for process in self.started + _descendants(self.process.pid):
            try:
                process.kill()
            except psutil.NoSuchProcess:
                pass


@pytest.fixture
def launch(tmp_path: Path, standins: Path):
    """Start the launcher with the stand-ins: `launch(stuck=True)` makes the action server
    ignore SIGTERM; `launch(under_make=True)` runs it as a recipe of GNU make, as `make run` does."""
    if not MODEL_FILE.exists():
        pytest.skip("no trained model (the launcher refuses to start without one): `make test` trains first")
    launches: list[Launch] = []
    rasa_port = _free_port()

    def run(stuck: bool = False, under_make: bool = False) -> Launch:
        ports = [rasa_port, _free_port(), _free_port()]
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("SLACK_", "TELEGRAM_", "STANDIN_", "PYTHONPATH"))
        }
        env.update(
            PYTHONPATH=str(standins),
            RASA_PORT=str(ports[0]),
            ACTIONS_PORT=str(ports[1]),
            WEBCHAT_PORT=str(ports[2]),
            DATABASE_URL=f"sqlite:///{tmp_path / 'knowledge.shared.db'}",
            TRACKER_DB=str(tmp_path / "tracker.db"),
            SCHEDULER_INTERVAL_S="3600",
        )
        if stuck:
            env["STANDIN_IGNORES_SIGTERM"] = "1"
        command = [sys.executable, "-m", "bot.launcher"]
        if under_make:
            makefile = tmp_path / "Makefile"
            makefile.write_text(f"run:\n\t{' '.join(command)}\n")
            command = ["make", "-s", "-f", str(makefile), "run"]
        log_path = tmp_path / f"launcher-{len(launches)}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(  # its own process group, as a terminal or service manager gives it
                command,
                cwd=PROJECT_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        launches.append(Launch(process, log_path, ports))
        return launches[-1]

    yield run
    for launched in launches:
        launched.cleanup()
    (VAR_DIR / f"endpoints.{rasa_port}.yml").unlink(missing_ok=True)


def test_ctrl_c_twice_stops_everything_at_once(launch):
    """A second Ctrl-C during shut-down kills what is left at once, and never abandons it.
    The action server ignores SIGTERM, so without the hurry it would get the full grace."""
    bot = launch(stuck=True)
    processes = bot.wait_running()
    os.killpg(bot.process.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the foreground group
    bot.wait_log("Stopping...")
    os.killpg(bot.process.pid, signal.SIGINT)
    began = time.monotonic()
    assert bot.process.wait(timeout=30) == 0, bot.log()[-3000:]
    assert time.monotonic() - began < 10, "the second Ctrl-C did not hurry the stop"
    bot.assert_nothing_left(processes, timeout_s=0.5)  # the orphan guard's own exit
    log = bot.log()
    assert "Traceback" not in log, log[-3000:]
    assert log.rstrip().endswith("Stopped."), log[-3000:]


def test_sigterm_to_the_process_group_under_make_stops_everything(launch):
    """A service manager stops `make run` by sending SIGTERM to its process group. make passes
    it on, so the launcher gets it twice, and here a third arrives while the Rasa server is
    still finishing its last request. When make exits, everything must already be stopped:
    a service manager starts the next run at once."""
    bot = launch(under_make=True)
    processes = bot.wait_running()
    os.killpg(bot.process.pid, signal.SIGTERM)
    bot.wait_log("Stopping...")
    os.killpg(bot.process.pid, signal.SIGTERM)
    bot.process.wait(timeout=30)
    bot.assert_nothing_left(processes, timeout_s=0.5)  # the orphan guard's own exit
    log = bot.log()
    assert "Traceback" not in log, log[-3000:]
    assert log.rstrip().endswith("Stopped."), log[-3000:]


def test_servers_die_with_a_launcher_killed_with_sigkill(launch):
    """SIGKILL gives the launcher no chance to clean up: its servers, and what they started,
    must end by themselves, even the action server that ignores SIGTERM."""
    bot = launch(stuck=True)
    processes = bot.wait_running()
    os.kill(bot.process.pid, signal.SIGKILL)
    bot.process.wait(timeout=5)
    took = bot.assert_nothing_left(processes, timeout_s=30)
    print(f"everything stopped {took:.1f} s after the launcher was killed")


def test_stop_ends_what_a_server_started_even_after_the_server_has_gone(tmp_path: Path):
    """`stop()` (also used by `make run-prod`) waits for the whole process group: a worker that
    ignores SIGTERM and outlives its parent is killed, and its port freed."""
    script = tmp_path / "standin.py"
    script.write_text(STANDIN)
    port = _free_port()
    child = Child(
        "stand-in",
        [sys.executable, str(script), "leaves-stubborn-worker", str(port)],
        f"http://127.0.0.1:{port}/",
    )
    start([child], get_settings())
    try:
        wait_until_ready([child], timeout_s=30)
        processes = [psutil.Process(child.process.pid), *_descendants(child.process.pid)]
        assert len(processes) == 2
        stop([child], grace_s=1)
        assert not _alive(processes)
        assert taken([port], "0.0.0.0") == []
    finally:
        if child.process.poll() is None:
            os.killpg(child.process.pid, signal.SIGKILL)
        for process in _descendants(child.process.pid):
            process.kill()


def test_after_the_first_signal_no_signal_interrupts_the_clean_up():
    """The first SIGINT or SIGTERM interrupts the wait; later ones never raise. A later Ctrl-C
    hurries the stop; a later SIGTERM (make passes a group's SIGTERM on) does not."""
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    shutdown = Shutdown()
    try:
        shutdown.install()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)
        for _ in range(3):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
        assert shutdown.stopping and not shutdown.hurry
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
        assert shutdown.hurry
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def test_a_launcher_stopped_by_its_own_code_path_ignores_signals_during_clean_up():
    """Clean-up that begins without a signal (a server died) is not cut short by one either."""
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    shutdown = Shutdown()
    try:
        shutdown.install()
        shutdown.begin()
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        assert shutdown.hurry
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

"""Ends the servers the launcher started when the launcher itself ends without stopping them.

`bot.launcher` starts this once, in its own session (so Ctrl-C and a SIGTERM to the launcher's
process group pass it by), with its standard input the read end of a pipe that only the
launcher holds. The launcher writes the process group of each server it starts, one a line.
When the pipe closes, the launcher has exited, however it exited (SIGKILL included): every
group that still has a live process gets SIGTERM, and GRACE seconds later SIGKILL. Each
server leads its own group, which also holds what the server started itself (a Rasa server's
workers, say); the kernel's parent-death signal, which the launcher sets on each server,
reaches only the server, so this is what keeps a port from staying bound.

While the launcher runs, groups whose processes have all ended are forgotten every second,
so a process id the system hands out again is never signalled.

Standard library only (run as `python -I -S bot/orphan_guard.py GRACE`), so it starts in
milliseconds. The launcher's own `stop()` uses the same helpers.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import time
from typing import Callable, Iterable

FORGET_EVERY_S = 1.0
POLL_S = 0.05


def live_groups(groups: Iterable[int]) -> set[int]:
    """Those of `groups` that still hold a process that has not ended (zombies don't count:
    they hold no port, and nobody may be left to reap them)."""
    wanted = set(groups)
    if not wanted:
        return set()
    try:
        entries = os.listdir("/proc")
    except OSError:  # no /proc: a zombie counts as alive here
        return {group for group in wanted if _group_exists(group)}
    alive = set()
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat_file:
                stat = stat_file.read()
        except OSError:  # ended meanwhile
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()  # after "pid (name) ": state ppid pgrp ...
        if len(fields) > 2 and fields[0] not in (b"Z", b"X") and int(fields[2]) in wanted:
            alive.add(int(fields[2]))
    return alive


def _group_exists(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def signal_groups(groups: Iterable[int], signum: int) -> None:
    """Send `signum` to each process group; one already gone is no error."""
    for group in groups:
        try:
            os.killpg(group, signum)
        except (ProcessLookupError, PermissionError):
            pass


def _never() -> bool:
    return False


def wait_for_groups(groups: Iterable[int], deadline: float, give_up: Callable[[], bool] = _never) -> set[int]:
    """Wait until no process of `groups` is left, the monotonic `deadline` passes, or
    `give_up()` says so; returns the groups that still have a live process."""
    left = live_groups(groups)
    while left and time.monotonic() < deadline and not give_up():
        time.sleep(POLL_S)
        left = live_groups(left)
    return left


def end_groups(groups: Iterable[int], grace_s: float) -> set[int]:
    """SIGTERM, up to `grace_s` to finish, then SIGKILL; returns the groups that needed it."""
    groups = live_groups(groups)
    signal_groups(groups, signal.SIGTERM)
    stubborn = wait_for_groups(groups, time.monotonic() + grace_s)
    signal_groups(stubborn, signal.SIGKILL)
    wait_for_groups(stubborn, time.monotonic() + 5)
    return stubborn


def watch(pipe: int, grace_s: float) -> int:
    """Read groups from `pipe` until it closes, then end those still running; returns how many."""
    groups: set[int] = set()
    pending = b""
    next_forget = time.monotonic() + FORGET_EVERY_S
    while True:
        readable, _, _ = select.select([pipe], [], [], FORGET_EVERY_S)
        if readable:
            data = os.read(pipe, 4096)
            if not data:
                break
            *lines, pending = (pending + data).split(b"\n")
            groups.update(int(line) for line in lines if line.strip().isdigit())
        if time.monotonic() >= next_forget:  # cheap: a group with only a zombie left is kept a while
            groups = {group for group in groups if _group_exists(group)}
            next_forget = time.monotonic() + FORGET_EVERY_S
    left = live_groups(groups)
    if left:
        end_groups(left, grace_s)
    return len(left)


def main(argv: list[str]) -> int:
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)  # only the launcher's end ends this
    grace_s = float(argv[1]) if len(argv) > 1 else 5.0
    ended = watch(sys.stdin.fileno(), grace_s)
    if ended:
        try:
            print(
                f"The launcher was ended before it could stop its servers; {ended} stopped now.",
                file=sys.stderr,
            )
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

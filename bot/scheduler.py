"""Background jobs that `make run` keeps going while the bot runs.

- repeat an unacknowledged safeguarding alert to the deputy DSL after
  SAFEGUARDING_ESCALATE_MINUTES;
- delete conversations older than CHAT_LOG_RETENTION_DAYS (safeguarding records stay);
- carry out the erasures families asked for in the chat. Each job is a plain function of (settings, now), so
tests call it directly with an injected clock; the thread only calls it on a timer.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Callable

from bot.settings import Settings
from knowledge.privacy import process_erasures, purge_chat_logs
from knowledge.safeguarding_records import escalate_unacknowledged

log = logging.getLogger(__name__)

Job = Callable[[Settings, dt.datetime], object]


def escalate_safeguarding(settings: Settings, now: dt.datetime) -> object:
    return escalate_unacknowledged(
        settings.database_url, after=dt.timedelta(minutes=settings.safeguarding_escalate_minutes), now=now
    )


JOBS: tuple[Job, ...] = (escalate_safeguarding, purge_chat_logs, process_erasures)


def run_due_jobs(settings: Settings, now: dt.datetime | None = None) -> None:
    """Run every job once; one failing job never stops the others."""
    now = now or dt.datetime.now(dt.timezone.utc)
    for job in JOBS:
        try:
            job(settings, now)
        except Exception:
            log.exception("scheduled job %s failed", job.__name__)


class Scheduler(threading.Thread):
    """Runs the jobs every `interval_s` seconds until `stop()`."""

    def __init__(self, settings: Settings, interval_s: float = 60.0) -> None:
        super().__init__(name="sendbot-scheduler", daemon=True)
        self.settings = settings
        self.interval_s = interval_s
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(self.interval_s):
            run_due_jobs(self.settings)

    def stop(self) -> None:
        self._stopped.set()

"""Background jobs that `make run` keeps going while the bot runs.

- repeat an unacknowledged safeguarding alert to the deputy DSL after
  SAFEGUARDING_ESCALATE_MINUTES;
- delete conversations older than CHAT_LOG_RETENTION_DAYS (safeguarding records stay);
- carry out the erasures families asked for in the chat;
- with Slack configured: DM new safeguarding concerns to the DSL and deputy, send booking
  reminders (24 hours and 1 hour before) and the SENCo's morning digest.

Each job is a plain function of (settings, now), so tests call it directly with an
injected clock; the thread only calls it on a timer.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Callable

from knowledge.privacy.rights import process_erasures, purge_chat_logs
from knowledge.safeguarding.alerts import SlackAlerter, send_new_alerts
from knowledge.safeguarding.records import escalate_unacknowledged
from knowledge.schools.calendar import SchoolCalendar
from knowledge.schools.tenancy import school_calendar
from knowledge.shared.db import unit_of_work
from knowledge.shared.settings import Settings
from knowledge.surgery import reminders

log = logging.getLogger(__name__)

Job = Callable[[Settings, dt.datetime], object]


def _notifier(settings: Settings):
    """The Slack DM sender, or None when Slack is off (imported only when needed)."""
    from connectors.slack.config import sends

    if not sends(settings):  # SLACK_BOT_TOKEN, or several workspaces (README "Slack for staff")
        return None
    from connectors.slack.notify import SlackNotifier

    return SlackNotifier(settings)


def alert_safeguarding_leads(settings: Settings, now: dt.datetime) -> object:
    notifier = _notifier(settings)
    if notifier is None:
        return 0  # the record and the log line (written when it was recorded) are the alert
    return send_new_alerts(settings.database_url, now=now, send=notifier.dm, tz=settings.timezone)


def escalate_safeguarding(settings: Settings, now: dt.datetime) -> object:
    notifier = _notifier(settings)
    alerter = SlackAlerter(settings.database_url, notifier.dm, settings.timezone) if notifier else None
    return escalate_unacknowledged(
        settings.database_url,
        after=dt.timedelta(minutes=settings.safeguarding_escalate_minutes),
        now=now,
        alerter=alerter,
    )


def send_booking_reminders(settings: Settings, now: dt.datetime) -> object:
    notifier = _notifier(settings)
    if notifier is None:
        return None
    # A reminder claimed by a process that died before sending is never resent (that
    # could be a duplicate); after ten minutes it is marked failed so it shows up.
    reminders.fail_stale(settings.database_url, now=now, older_than=dt.timedelta(minutes=10))
    return reminders.send_due(
        settings.database_url, now=now, send=lambda user, text: notifier.dm(user, text), tz=settings.timezone
    )


def send_morning_digests(settings: Settings, now: dt.datetime) -> object:
    notifier = _notifier(settings)
    if notifier is None:
        return 0
    default = SchoolCalendar.load(settings.school_calendar)

    def school_day(school_ref: str, day: dt.date) -> bool:
        with unit_of_work(settings.database_url) as session:
            calendar = school_calendar(session, school_ref) or default
        return calendar.is_school_day(day)

    return reminders.send_digests(
        settings.database_url,
        now=now,
        send=lambda user, text: notifier.dm(user, text),
        digest_time=settings.digest_time,
        tz=settings.timezone,
        school_day=school_day,
    )


JOBS: tuple[Job, ...] = (
    alert_safeguarding_leads,
    escalate_safeguarding,
    send_booking_reminders,
    send_morning_digests,
    purge_chat_logs,
    process_erasures,
)


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

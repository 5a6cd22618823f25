"""Settings read once from the environment, with defaults that work on a fresh clone.

Every knob the bot has lives here, so that a school (or a test) changes behaviour
by setting an environment variable rather than editing code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VAR_DIR = PROJECT_ROOT / "var"

# The longest message the bot reads. Longer messages are cut to this length and the
# person is told so (README "Limits"). 1,000 characters is about 170 words.
DEFAULT_MAX_MESSAGE_CHARS = 1000

# The school's time zone unless SCHOOL_TIMEZONE says otherwise: UK time, which follows the clock
# change. The one spelling of it; the domain imports it as `knowledge.text.uk_time.UK_TZ`.
UK_TZ = "Europe/London"


def _path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    path = Path(value) if value else default
    return path if path.is_absolute() else PROJECT_ROOT / path


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


@dataclass(frozen=True)
class Settings:
    """The bot's configuration. Build with `Settings.from_env()`."""

    database_url: str
    school_profile: Path
    local_offer_file: Path
    school_articles_dir: Path
    staff_roster: Path
    content_dir: Path
    spacy_model_dir: Path
    max_message_chars: int = DEFAULT_MAX_MESSAGE_CHARS
    rasa_port: int = 5005
    actions_port: int = 5055
    webchat_port: int = 8080
    public_rasa_url: str = ""
    tracker_db: Path = VAR_DIR / "rasa_tracker.db"
    rasa_api_token: str = ""
    safeguarding_escalate_minutes: int = 30
    # A concern only the NLU model saw is checked with its sender first; unanswered, the DSL
    # is alerted after this many minutes.
    safeguarding_check_minutes: int = 10
    chat_log_retention_days: int = 30
    tracker_store_url: str = ""
    scheduler_interval_s: float = 20.0  # how often background jobs run (alerts, reminders)
    school_calendar: Path = PROJECT_ROOT / "school_data/example_calendar.yml"
    timezone: str = UK_TZ
    # Slack (connectors/slack): off unless a bot token is set.
    slack_bot_token: str = ""
    slack_app_token: str = ""  # xapp-...: Socket Mode (the default when set)
    slack_signing_secret: str = ""  # HTTP Events mode: every request's signature is checked
    slack_api_url: str = "https://slack.com/api/"
    slack_socket_url: str = ""  # tests only: a local fake Socket Mode server
    slack_events_port: int = 3000
    # Several Slack workspaces (HTTP Events mode): each installs the app through /slack/install
    # and gets its own bot token, kept in the database (connectors/slack/workspaces.py).
    slack_client_id: str = ""
    slack_client_secret: str = ""
    slack_redirect_uri: str = ""  # https://<host>/slack/oauth_redirect; needed if the app lists several
    # Telegram (connectors/telegram): parents; off unless a bot token is set.
    telegram_bot_token: str = ""
    telegram_api_url: str = "https://api.telegram.org/bot"  # the token is appended, as PTB does
    telegram_webhook_url: str = ""  # public https URL: webhook mode instead of long polling
    telegram_webhook_secret: str = ""  # required in webhook mode; checked on every update
    telegram_port: int = 8443  # the webhook listener and /health
    bridge_secret: str = ""  # signs connector -> Rasa messages; the launcher makes one per run
    # signs the web page's conversation ids (connectors/rasa/senders.py); empty: the bridge secret,
    # so a page reloaded after a restart of `make run` starts a new conversation
    web_conversation_secret: str = ""
    # SENCo surgery booking rules
    bookings_per_teacher_per_day: int = 1
    booking_min_notice_minutes: int = 120
    cancel_min_notice_minutes: int = 60
    digest_time: str = "07:30"  # UK time, school days
    # Broadcasts: parents get nothing in these hours (sent next morning); staff only in these.
    parent_quiet_hours: str = "20:00-07:30"
    staff_send_hours: str = ""  # e.g. "07:30-18:00"; empty: any time
    # A trust: many schools listed in one file (knowledge/schools/deployment.py); None: one school.
    schools_file: Path | None = None

    @classmethod
    def from_env(cls) -> Settings:
        default_db = f"sqlite:///{VAR_DIR / 'sendbot.db'}"
        return cls(
            database_url=os.environ.get("DATABASE_URL") or default_db,
            school_profile=_path("SCHOOL_PROFILE", PROJECT_ROOT / "school_data/example_school.yml"),
            local_offer_file=_path("LOCAL_OFFER_FILE", PROJECT_ROOT / "school_data/example_local_offer.json"),
            school_articles_dir=_path("SCHOOL_ARTICLES_DIR", PROJECT_ROOT / "school_data/articles"),
            staff_roster=_path("STAFF_ROSTER", PROJECT_ROOT / "school_data/example_staff.yml"),
            content_dir=_path("CONTENT_DIR", PROJECT_ROOT / "knowledge/content"),
            spacy_model_dir=_path("SPACY_MODEL_DIR", PROJECT_ROOT / "build/spacy/en_send"),
            max_message_chars=_int("MAX_MESSAGE_CHARS", DEFAULT_MAX_MESSAGE_CHARS),
            rasa_port=_int("RASA_PORT", 5005),
            actions_port=_int("ACTIONS_PORT", 5055),
            webchat_port=_int("WEBCHAT_PORT", 8080),
            public_rasa_url=os.environ.get("PUBLIC_RASA_URL", ""),
            tracker_db=_path("TRACKER_DB", VAR_DIR / "rasa_tracker.db"),
            rasa_api_token=os.environ.get("RASA_API_TOKEN", ""),
            safeguarding_escalate_minutes=_int("SAFEGUARDING_ESCALATE_MINUTES", 30),
            safeguarding_check_minutes=_int("SAFEGUARDING_CHECK_MINUTES", 10),
            chat_log_retention_days=_int("CHAT_LOG_RETENTION_DAYS", 30),
            tracker_store_url=os.environ.get("TRACKER_STORE_URL", ""),
            scheduler_interval_s=float(os.environ.get("SCHEDULER_INTERVAL_S") or 20),
            school_calendar=_path("SCHOOL_CALENDAR", PROJECT_ROOT / "school_data/example_calendar.yml"),
            timezone=os.environ.get("SCHOOL_TIMEZONE") or UK_TZ,
            slack_bot_token=os.environ.get("SLACK_BOT_TOKEN", "").strip(),
            slack_app_token=os.environ.get("SLACK_APP_TOKEN", "").strip(),
            slack_signing_secret=os.environ.get("SLACK_SIGNING_SECRET", "").strip(),
            slack_api_url=os.environ.get("SLACK_API_URL") or "https://slack.com/api/",
            slack_socket_url=os.environ.get("SLACK_SOCKET_URL", ""),
            slack_events_port=_int("SLACK_EVENTS_PORT", 3000),
            slack_client_id=os.environ.get("SLACK_CLIENT_ID", "").strip(),
            slack_client_secret=os.environ.get("SLACK_CLIENT_SECRET", "").strip(),
            slack_redirect_uri=os.environ.get("SLACK_REDIRECT_URI", "").strip(),
            telegram_bot_token=os.environ.get("TELEGRAM_BOT_TOKEN", "").strip(),
            telegram_api_url=os.environ.get("TELEGRAM_API_URL") or "https://api.telegram.org/bot",
            telegram_webhook_url=os.environ.get("TELEGRAM_WEBHOOK_URL", "").strip(),
            telegram_webhook_secret=os.environ.get("TELEGRAM_WEBHOOK_SECRET", "").strip(),
            telegram_port=_int("TELEGRAM_PORT", 8443),
            bridge_secret=os.environ.get("BRIDGE_SECRET", ""),
            web_conversation_secret=os.environ.get("WEB_CONVERSATION_SECRET", ""),
            bookings_per_teacher_per_day=_int("BOOKINGS_PER_TEACHER_PER_DAY", 1),
            booking_min_notice_minutes=_int("BOOKING_MIN_NOTICE_MINUTES", 120),
            cancel_min_notice_minutes=_int("CANCEL_MIN_NOTICE_MINUTES", 60),
            digest_time=os.environ.get("DIGEST_TIME") or "07:30",
            parent_quiet_hours=os.environ.get("PARENT_QUIET_HOURS") or "20:00-07:30",
            staff_send_hours=os.environ.get("STAFF_SEND_HOURS", "").strip(),
            schools_file=Path(os.environ["SCHOOLS_FILE"]) if os.environ.get("SCHOOLS_FILE") else None,
        )


def tracker_store_url(settings: Settings) -> str:
    """Where Rasa keeps conversations: TRACKER_STORE_URL, else the SQLite file TRACKER_DB."""
    return settings.tracker_store_url or f"sqlite:///{settings.tracker_db}"


def get_settings() -> Settings:
    """Current settings (read from the environment each call; cheap)."""
    return Settings.from_env()

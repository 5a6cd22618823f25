"""The production profile: one deployment for a whole trust, on one machine.

`make run-prod` calls this after set-up (and `scripts/ensure-prod-services`). Under
`var/prod/` (PROD_DIR; ignored by git) it starts, each as our own instance, listening on
127.0.0.1 only:

- PostgreSQL (initdb on first run; as root the server runs as the `postgres` user): the
  `sendbot` database (DATABASE_URL, migrated and seeded by `python -m bot.cli setup`) and
  `rasa_tracker` (Rasa's conversations);
- Redis: Rasa's lock store, shared by the Rasa servers, so one conversation is never
  handled by two servers at once (TICKET_LOCK_LIFETIME 20 s: a dead server's lock frees
  the conversation after 20 s, not Rasa's default 60);
- two Rasa servers (PROD_RASA_SERVERS), each with its own action server;
- nginx on the public REST port (RASA_PORT, 5005) in front of the Rasa servers. It keeps
  each conversation on one server by hashing a conversation key (`hash ... consistent`):
  the `X-Conversation-Id` header our clients send, else `?sender=`, else the client
  address (socket.io: the client address). A request to a dead server is retried on the
  other (`proxy_next_upstream error timeout non_idempotent`); `connectors.rasa.exactly_once`
  makes that retry safe;
- once: the web chat page, the background jobs, and the Slack and Telegram connectors and
  the broadcast sender when configured, all pointed at nginx.

A Rasa or action server (or any other child) that dies is started again (at most
MAX_RESTARTS times in RESTART_WINDOW_S; after that everything stops, as `make run` does).
PostgreSQL is run with pg_ctl, so `pg_ctl restart` works as usual; if it stays down the
launcher starts it again. Ctrl-C (or SIGTERM) stops everything, PostgreSQL last; as with
`make run` (see `bot.launcher`), stopping always finishes, a second Ctrl-C ends the servers
at once, and the servers die with a launcher that is killed.

Why about 730 lines: the production profile's processes and the configuration files it
writes for them (nginx, PostgreSQL, Redis, two Rasa servers) change together.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import yaml

from bot.launcher import (
    Child,
    Shutdown,
    _answers,
    connector_lines,
    say,
    single_instance_children,
    start,
    stop,
    taken,
    wait_until_ready,
)
from bot.scheduler import Scheduler
from bot.training import MODEL_FILE
from connectors.slack.config import mode as slack_mode
from connectors.telegram.config import mode as telegram_mode
from knowledge.shared.settings import PROJECT_ROOT, VAR_DIR, Settings, get_settings

log = logging.getLogger(__name__)

SERVICES_UNAVAILABLE = 3  # the exit code of scripts/ensure-prod-services, and ours, when they're missing
DB_USER = "sendbot"
DB_NAME = "sendbot"
TRACKER_DB_NAME = "rasa_tracker"
MAX_RESTARTS = 5
RESTART_WINDOW_S = 600
PG_CHECK_EVERY_S = 5
PG_DOWN_CHECKS_BEFORE_START = 3  # `pg_ctl restart` takes a second or two; don't race it


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name, "").strip()
    return int(value) if value else default


def _ports(env: Mapping[str, str], name: str, first: int, count: int) -> tuple[int, ...]:
    value = env.get(name, "").strip()
    ports = tuple(int(p) for p in value.split(",") if p.strip()) if value else ()
    if len(ports) < count:
        ports = ports + tuple(range(first, first + count))[len(ports) :]
    return ports[:count]


@dataclass(frozen=True)
class ProdConfig:
    """Where the production profile lives and listens. Build with `ProdConfig.from_env()`."""

    base: Path
    bind: str
    public_port: int
    webchat_port: int
    rasa_ports: tuple[int, ...]
    actions_ports: tuple[int, ...]
    pg_port: int
    redis_port: int
    lock_lifetime_s: int
    # How long a turn waits for an unreachable conversation store before it fails (503, and
    # the client sends the message again): shorter than the lock's lifetime, so a waiting
    # turn never outlives the lock that keeps its conversation to itself.
    tracker_retry_s: int = 15

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ProdConfig:
        env = os.environ if env is None else env
        servers = max(1, _int(env, "PROD_RASA_SERVERS", 2))
        base = Path(env.get("PROD_DIR") or VAR_DIR / "prod")
        return cls(
            base=base if base.is_absolute() else PROJECT_ROOT / base,
            bind=env.get("PROD_BIND") or "127.0.0.1",
            public_port=_int(env, "RASA_PORT", 5005),
            webchat_port=_int(env, "WEBCHAT_PORT", 8080),
            rasa_ports=_ports(env, "PROD_RASA_PORTS", 5006, servers),
            actions_ports=_ports(env, "PROD_ACTIONS_PORTS", 5055, servers),
            pg_port=_int(env, "PROD_PG_PORT", 5433),
            redis_port=_int(env, "PROD_REDIS_PORT", 6380),
            lock_lifetime_s=_int(env, "TICKET_LOCK_LIFETIME", 20),
            tracker_retry_s=_int(env, "TRACKER_RETRY_SECONDS", 15),
        )

    @property
    def servers(self) -> int:
        return len(self.rasa_ports)

    @property
    def logs(self) -> Path:
        return self.base / "logs"

    def secret(self, name: str) -> str:
        """A password made on first use and kept in `<base>/<name>` (readable by us only)."""
        path = self.base / name
        if not path.exists():
            self.base.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(secrets.token_hex(24))
        return path.read_text().strip()

    def database_url(self, name: str = DB_NAME) -> str:
        return f"postgresql://{DB_USER}:{self.secret('pg-password')}@127.0.0.1:{self.pg_port}/{name}"

    def tracker_url(self) -> str:
        return self.database_url(TRACKER_DB_NAME)


# --- finding the binaries --------------------------------------------------------------------


def pg_bin_dir() -> Path | None:
    """Debian keeps initdb and pg_ctl under /usr/lib/postgresql/<version>/bin; the newest."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int("0" + p.parent.name), reverse=True
    )
    for folder in candidates:
        if all((folder / tool).exists() for tool in ("initdb", "pg_ctl", "postgres")):
            return folder
    on_path = shutil.which("pg_ctl")
    return Path(on_path).resolve().parent if on_path and shutil.which("initdb") else None


def _binary(name: str, debian_path: str) -> str | None:
    return shutil.which(name) or (debian_path if Path(debian_path).exists() else None)


def redis_server() -> str | None:
    return _binary("redis-server", "/usr/bin/redis-server")


def nginx_binary() -> str | None:
    return _binary("nginx", "/usr/sbin/nginx")  # /usr/sbin is not on every user's PATH


def missing_services() -> list[str]:
    missing = []
    if pg_bin_dir() is None:
        missing.append("postgresql")
    if redis_server() is None:
        missing.append("redis-server")
    if nginx_binary() is None:
        missing.append("nginx")
    return missing


# --- PostgreSQL ------------------------------------------------------------------------------


class Postgres:
    """Our own cluster under `<base>/pg`, run with pg_ctl (as `postgres` when we are root)."""

    def __init__(self, config: ProdConfig, bin_dir: Path) -> None:
        self.config = config
        self.bin = bin_dir
        self.folder = config.base / "pg"
        self.data = self.folder / "data"
        self.sockets = self.folder / "run"
        self.log_path = self.folder / "postgresql.log"  # written by the server's user

    @staticmethod
    def as_owner(command: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = self.as_owner([str(self.bin / "pg_ctl"), "-D", str(self.data), *args])
        # Output to a file, never a pipe: the server started by pg_ctl would keep a pipe open.
        with open(self.config.logs / "pg_ctl.log", "ab") as out:
            return subprocess.run(command, check=check, stdout=out, stderr=out, cwd="/")

    def initialised(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def init(self) -> None:
        """initdb on first run: password login on 127.0.0.1, the socket in <base>/pg/run."""
        if self.initialised():
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        self.sockets.mkdir(exist_ok=True)
        for folder in (self.config.base, self.folder):
            folder.chmod(0o755)  # the server's user must reach its data folder
        self.sockets.chmod(0o700)  # local socket logins are trusted: only the server's user (and root)
        password_file = self.folder / ".initdb-password"
        password_file.write_text(self.config.secret("pg-password") + "\n")
        password_file.chmod(0o600)
        if os.geteuid() == 0:
            for path in (self.folder, self.sockets, password_file):
                shutil.chown(path, "postgres", "postgres")
        command = [
            str(self.bin / "initdb"),
            "-D", str(self.data),
            "-U", DB_USER,
            f"--pwfile={password_file}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--no-locale",
        ]  # fmt: skip
        try:
            done = subprocess.run(self.as_owner(command), capture_output=True, text=True, cwd="/")
        finally:
            password_file.unlink(missing_ok=True)
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr.strip()[-500:]}")

    def running(self) -> bool:
        return self._run("status", check=False).returncode == 0

    def options(self) -> str:
        return " ".join(
            [
                f"-p {self.config.pg_port}",
                f"-k {shlex.quote(str(self.sockets))}",
                "-c listen_addresses=127.0.0.1",
                "-c max_connections=200",
            ]
        )

    def start(self) -> None:
        self._run("-l", str(self.log_path), "-o", self.options(), "-w", "-t", "60", "start")

    def restart(self) -> None:
        """As an administrator would: `pg_ctl restart` (the tests use this)."""
        self._run("-m", "fast", "-w", "-t", "60", "restart")

    def stop(self) -> None:
        if self.initialised():
            self._run("-m", "fast", "-w", "-t", "60", "stop", check=False)

    def ensure_databases(self, *names: str) -> None:
        import psycopg2

        connection = psycopg2.connect(
            host="127.0.0.1",
            port=self.config.pg_port,
            user=DB_USER,
            password=self.config.secret("pg-password"),
            dbname="postgres",
            connect_timeout=10,
        )
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                for name in names:
                    cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                    if cursor.fetchone() is None:
                        cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()


# --- generated configuration -----------------------------------------------------------------


def redis_conf(config: ProdConfig) -> str:
    folder = config.base / "redis"
    return "\n".join(
        [
            "bind 127.0.0.1",
            f"port {config.redis_port}",
            "protected-mode yes",
            f"requirepass {config.secret('redis-password')}",
            "daemonize no",
            'logfile ""',
            f"dir {folder}",
            'save ""',  # locks only: nothing worth keeping across a restart
            "appendonly no",
            "",
        ]
    )


def rasa_endpoints(config: ProdConfig, index: int) -> dict:
    """endpoints.yml for Rasa server `index`: its own action server, the shared tracker
    store (PostgreSQL, through connectors.rasa.tracker_store) and lock store (Redis)."""
    endpoints = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text()) or {}
    endpoints["action_endpoint"] = {"url": f"http://127.0.0.1:{config.actions_ports[index]}/webhook"}
    endpoints["tracker_store"] = {
        "type": "connectors.rasa.tracker_store.ResilientSQLTrackerStore",
        "dialect": "postgresql",
        "url": "127.0.0.1",
        "port": config.pg_port,
        "db": TRACKER_DB_NAME,
        "username": DB_USER,
        "password": config.secret("pg-password"),
        "retry_seconds": config.tracker_retry_s,
    }
    endpoints["lock_store"] = {
        "type": "redis",
        "url": "127.0.0.1",
        "port": config.redis_port,
        "password": config.secret("redis-password"),
        "db": 1,
        "key_prefix": "sendbot",
    }
    return endpoints


def nginx_conf(config: ProdConfig, *, as_root: bool | None = None) -> str:
    """nginx in front of the Rasa servers; paths all inside `<base>/nginx`."""
    as_root = os.geteuid() == 0 if as_root is None else as_root
    home = config.base / "nginx"
    servers = "\n".join(
        f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=10s;" for port in config.rasa_ports
    )
    listens = [f"listen {config.bind}:{config.public_port};"]
    if config.bind not in ("127.0.0.1", "0.0.0.0", "localhost"):
        listens.append(f"listen 127.0.0.1:{config.public_port};")  # our own connectors use it
    listen = "\n    ".join(listens)
    return f"""# Generated by bot/prod.py on every start; edits here are lost.
{"user www-data www-data;" if as_root else "# (not root: the workers run as us)"}
worker_processes 1;
daemon off;
pid {home}/nginx.pid;
error_log {config.logs}/nginx-error.log warn;

events {{
  worker_connections 2048;
}}

http {{
  client_body_temp_path {home}/tmp/body;
  proxy_temp_path {home}/tmp/proxy;
  fastcgi_temp_path {home}/tmp/fastcgi;
  uwsgi_temp_path {home}/tmp/uwsgi;
  scgi_temp_path {home}/tmp/scgi;
  log_format upstream '$time_iso8601 $status $request_method $uri $request_time '
                      'upstream=$upstream_addr upstream_status=$upstream_status';
  access_log {config.logs}/nginx-access.log upstream buffer=64k flush=5s;
  server_tokens off;
  client_max_body_size 1m;

  # The conversation key: our clients' X-Conversation-Id header (the REST body holds the
  # sender, which nginx can't read), else ?sender=, else the client's address.
  map $arg_sender $sender_or_address {{
    ""      $remote_addr;
    default $arg_sender;
  }}
  map $http_x_conversation_id $conversation_key {{
    ""      $sender_or_address;
    default $http_x_conversation_id;
  }}
  map $http_upgrade $connection_upgrade {{
    default upgrade;
    ""      "";
  }}

  upstream rasa_rest {{
    hash $conversation_key consistent;
{servers}
    keepalive 64;
    keepalive_timeout 4s;  # idle connections close before Sanic's 5 s keep-alive closes them
  }}

  # socket.io: a session's polling requests and its websocket must reach one server.
  upstream rasa_socketio {{
    hash $remote_addr consistent;
{servers}
  }}

  server {{
    {listen}

    proxy_http_version 1.1;
    proxy_set_header Host $host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_connect_timeout 1s;
    proxy_send_timeout 60s;
    proxy_read_timeout 60s;
    # A request to a dead server goes to the other one, POSTs too: a repeated message_id
    # is answered from the tracker, never processed twice (connectors/rasa/exactly_once.py).
    # Not a 503: that is a turn the shared database could not carry, which the other server
    # would only wait out again, marking both down for fail_timeout; the client repeats it.
    proxy_next_upstream error timeout non_idempotent http_502;
    proxy_next_upstream_tries 2;
    add_header X-Upstream $upstream_addr always;

    location = /nginx-health {{
      access_log off;
      default_type text/plain;
      return 200 "ok\\n";
    }}

    location /socket.io/ {{
      proxy_pass http://rasa_socketio;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_buffering off;
      proxy_read_timeout 3600s;
      proxy_send_timeout 3600s;
    }}

    location / {{
      proxy_pass http://rasa_rest;
      proxy_set_header Connection "";
    }}
  }}
}}
"""


def _write_private(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(text)
    return path


# --- the children ----------------------------------------------------------------------------


def redis_ready(config: ProdConfig):
    def ready() -> bool:
        import redis

        try:
            client = redis.Redis(
                host="127.0.0.1",
                port=config.redis_port,
                password=config.secret("redis-password"),
                socket_timeout=1,
                socket_connect_timeout=1,
            )
            try:
                return bool(client.ping())
            finally:
                client.close()
        except Exception:
            return False

    return ready


def prod_children(config: ProdConfig, settings: Settings) -> list[Child]:
    python = sys.executable
    redis_home = config.base / "redis"
    redis_home.mkdir(parents=True, exist_ok=True)
    redis_conf_path = _write_private(redis_home / "redis.conf", redis_conf(config))
    nginx_home = config.base / "nginx"
    (nginx_home / "tmp").mkdir(parents=True, exist_ok=True)
    nginx_conf_path = nginx_home / "nginx.conf"
    nginx_conf_path.write_text(nginx_conf(config))
    kids = [
        Child(
            "Redis lock store",
            [str(redis_server()), str(redis_conf_path)],
            None,
            ready=redis_ready(config),
            log_path=config.logs / "redis.log",
        )
    ]
    cors = [f"http://localhost:{settings.webchat_port}", f"http://127.0.0.1:{settings.webchat_port}"]
    pairs = zip(config.rasa_ports, config.actions_ports, strict=True)
    for index, (rasa_port, actions_port) in enumerate(pairs):
        number = index + 1
        kids.append(
            Child(
                f"action server {number}",
                [python, "-m", "rasa_sdk", "--actions", "actions", "--port", str(actions_port)],
                f"http://127.0.0.1:{actions_port}/health",
                log_path=config.logs / f"actions-{number}.log",
            )
        )
        endpoints = _write_private(
            config.base / f"rasa-{number}.endpoints.yml", yaml.safe_dump(rasa_endpoints(config, index))
        )
        command = [
            python, "-m", "rasa", "run",
            "--model", str(MODEL_FILE),
            "--credentials", str(PROJECT_ROOT / "credentials.yml"),
            "--endpoints", str(endpoints),
            "--interface", "127.0.0.1",
            "--port", str(rasa_port),
            "--cors", *cors,
        ]  # fmt: skip
        if settings.rasa_api_token:  # tests and benchmarks only: the HTTP API needs this token
            command += ["--enable-api", "--auth-token", settings.rasa_api_token]
        kids.append(
            Child(
                f"Rasa server {number}",
                command,
                f"http://127.0.0.1:{rasa_port}/",
                log_path=config.logs / f"rasa-{number}.log",
            )
        )
    kids.append(
        Child(
            "nginx proxy",
            [
                str(nginx_binary()),
                "-p",
                str(nginx_home),
                "-c",
                str(nginx_conf_path),
                "-e",
                str(config.logs / "nginx-error.log"),
            ],  # fmt: skip
            f"http://127.0.0.1:{config.public_port}/nginx-health",
            log_path=config.logs / "nginx.log",
        )
    )
    for child in single_instance_children(settings):  # pointed at nginx: RASA_PORT is its port
        child.log_path = config.logs / (child.name.replace(" ", "-").lower() + ".log")
        kids.append(child)
    return kids


def busy_ports(config: ProdConfig, settings: Settings) -> list[int]:
    ports = [
        config.public_port,
        settings.webchat_port,
        config.pg_port,
        config.redis_port,
        *config.rasa_ports,
        *config.actions_ports,
    ]
    if slack_mode(settings):
        ports.append(settings.slack_events_port)
    if telegram_mode(settings):
        ports.append(settings.telegram_port)
    return taken(ports, "127.0.0.1")


def child_environment(config: ProdConfig) -> dict[str, str]:
    """What every child (and our own scheduler) reads instead of the `make run` defaults."""
    return {
        "DATABASE_URL": config.database_url(),
        "TRACKER_STORE_URL": config.tracker_url(),
        "RASA_PORT": str(config.public_port),  # the web page and connectors talk to nginx
        "WEBCHAT_PORT": str(config.webchat_port),
        "TICKET_LOCK_LIFETIME": str(config.lock_lifetime_s),
    }


class Restarts:
    """At most MAX_RESTARTS restarts of one child in RESTART_WINDOW_S."""

    def __init__(self) -> None:
        self.times: dict[str, deque] = {}

    def allow(self, name: str, now: float) -> bool:
        times = self.times.setdefault(name, deque())
        while times and now - times[0] > RESTART_WINDOW_S:
            times.popleft()
        if len(times) >= MAX_RESTARTS:
            return False
        times.append(now)
        return True


def _summary(config: ProdConfig, settings: Settings) -> str:
    rasa = ", ".join(f"127.0.0.1:{p}" for p in config.rasa_ports)
    actions = ", ".join(str(p) for p in config.actions_ports)
    return (
        f"\nThe SEND assistant is running (production profile, {config.servers} Rasa servers).\n"
        f"  Web chat for parents:  http://localhost:{settings.webchat_port}/\n"
        f"  REST channel (nginx):  http://{config.bind}:{config.public_port}/webhooks/rest/webhook\n"
        f"  Rasa servers:          {rasa} (action servers on {actions})\n"
        f"  PostgreSQL:            127.0.0.1:{config.pg_port} (databases {DB_NAME}, {TRACKER_DB_NAME})\n"
        f"  Redis lock store:      127.0.0.1:{config.redis_port}\n"
        f"  Data and logs:         {config.base} (logs/)\n"
        + connector_lines(settings)
        + "Press Ctrl-C to stop.\n"
    )


def _is_ready(child: Child) -> bool:
    if child.ready is not None:
        return child.ready()
    return child.health_url is None or _answers(child.health_url)


def _watch(kids: list[Child], settings: Settings, postgres: Postgres, shutdown: Shutdown) -> int:
    """Keep everything running until a signal; returns the exit code."""
    restarts = Restarts()
    restarting: list[Child] = []
    pg_down = 0
    next_pg_check = time.monotonic() + PG_CHECK_EVERY_S
    while True:
        for child in kids:
            if child.process and child.process.poll() is not None:
                code = child.process.returncode
                if not restarts.allow(child.name, time.monotonic()):
                    shutdown.begin()
                    say(f"The {child.name} keeps stopping (exit {code}); stopping the rest.")
                    return 1
                print(f"The {child.name} stopped (exit {code}); starting it again.", flush=True)
                start([child], settings)
                if child not in restarting:
                    restarting.append(child)
        for child in list(restarting):  # the others carry the load meanwhile
            if child.process and child.process.poll() is None and _is_ready(child):
                print(f"The {child.name} is ready again.", flush=True)
                restarting.remove(child)
        if time.monotonic() >= next_pg_check:
            next_pg_check = time.monotonic() + PG_CHECK_EVERY_S
            if postgres.running():
                pg_down = 0
            else:
                pg_down += 1
                if pg_down == 1:
                    print("PostgreSQL is not running.", flush=True)
                if pg_down >= PG_DOWN_CHECKS_BEFORE_START:
                    print("PostgreSQL is still down; starting it again.", flush=True)
                    try:
                        postgres.start()
                        pg_down = 0
                    except subprocess.CalledProcessError:
                        print(f"PostgreSQL did not start: see {postgres.log_path}", flush=True)
        time.sleep(1)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    missing = missing_services()
    if missing:
        print(
            f"The production profile needs {', '.join(missing)}: run scripts/ensure-prod-services "
            "(`make run-prod` does).",
            file=sys.stderr,
        )
        return SERVICES_UNAVAILABLE
    if not MODEL_FILE.exists():
        print("No trained model: run `make run-prod` (it trains first).", file=sys.stderr)
        return 1
    config = ProdConfig.from_env()
    config.logs.mkdir(parents=True, exist_ok=True)
    postgres = Postgres(config, pg_bin_dir())  # type: ignore[arg-type]

    shutdown = Shutdown()
    shutdown.install()
    kids: list[Child] = []
    scheduler: Scheduler | None = None
    try:
        postgres.init()
        if postgres.running():  # left over from a run that was killed
            postgres.stop()
        os.environ.update(child_environment(config))
        settings = get_settings()
        if not settings.bridge_secret:  # signs connector -> Rasa messages; fresh each run
            settings = dataclasses.replace(settings, bridge_secret=secrets.token_hex(32))
        busy = busy_ports(config, settings)
        if busy:
            print(
                f"Port(s) {', '.join(map(str, busy))} already in use: is the bot already running? Stop it, "
                "or choose other ports (RASA_PORT, WEBCHAT_PORT, PROD_RASA_PORTS, PROD_ACTIONS_PORTS, "
                "PROD_PG_PORT, PROD_REDIS_PORT).",
                file=sys.stderr,
            )
            return 1
        print(f"Starting PostgreSQL on 127.0.0.1:{config.pg_port}...", flush=True)
        postgres.start()
        postgres.ensure_databases(DB_NAME, TRACKER_DB_NAME)
        print("Setting up the database (migrations and content)...", flush=True)
        subprocess.run([sys.executable, "-m", "bot.cli", "setup"], cwd=PROJECT_ROOT, check=True)
        kids = prod_children(config, settings)
        start(kids[:1], settings)  # Redis first: a Rasa server won't start without its lock store
        wait_until_ready(kids[:1], timeout_s=30)
        start(kids[1:], settings)
        wait_until_ready(kids[1:])
        scheduler = Scheduler(settings, interval_s=settings.scheduler_interval_s)
        scheduler.start()
        print(_summary(config, settings), flush=True)
        return _watch(kids, settings, postgres, shutdown)
    except KeyboardInterrupt:
        say(shutdown.stopping_message())
        return 0
    except Exception as error:  # a server that would not start, initdb, the database set-up
        shutdown.begin()
        say(f"Could not start: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    finally:
        shutdown.begin()  # from here no signal cuts the clean-up short; Ctrl-C again hurries it
        if scheduler is not None:
            scheduler.stop()
        stop(kids, shutdown=shutdown)
        try:
            postgres.stop()
        except Exception as error:  # pg_ctl missing or failing: the rest is stopped; say so, don't hide it
            say(f"PostgreSQL did not stop cleanly: {type(error).__name__}: {error}", file=sys.stderr)
        say("Stopped.")


if __name__ == "__main__":
    sys.exit(main())

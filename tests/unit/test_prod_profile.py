"""The production profile's pieces that need no servers: its configuration (ports, nginx,
Rasa's endpoints), the restart budget, and the tracker store that rides out a database
restart. The real thing runs in tests/prod."""

from __future__ import annotations

import asyncio
import subprocess

import pytest
import sqlalchemy.exc
import yaml
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot import prod
from connectors.rasa.tracker_store import ResilientSQLTrackerStore, TrackerStoreUnavailable, retrying


@pytest.fixture
def config(tmp_path):
    return prod.ProdConfig.from_env({"PROD_DIR": str(tmp_path / "prod")})


def test_the_defaults_are_two_rasa_servers_behind_port_5005(config, tmp_path):
    assert config.base == tmp_path / "prod"
    assert config.public_port == 5005 and config.bind == "127.0.0.1"
    assert config.rasa_ports == (5006, 5007) and config.actions_ports == (5055, 5056)
    assert (config.pg_port, config.redis_port, config.lock_lifetime_s) == (5433, 6380, 20)


def test_ports_and_the_number_of_servers_are_set_by_the_environment(tmp_path):
    env = {
        "PROD_DIR": str(tmp_path),
        "RASA_PORT": "7000",
        "PROD_RASA_SERVERS": "3",
        "PROD_RASA_PORTS": "7001,7002",
        "PROD_PG_PORT": "7432",
    }
    config = prod.ProdConfig.from_env(env)
    assert config.public_port == 7000 and config.servers == 3
    assert config.rasa_ports == (7001, 7002, 5008) and config.actions_ports == (5055, 5056, 5057)
    assert config.pg_port == 7432
    one = prod.ProdConfig.from_env({"PROD_DIR": str(tmp_path), "PROD_RASA_SERVERS": "1"})
    assert one.rasa_ports == (5006,)


def test_passwords_are_made_once_and_kept_private(config):
    url = config.database_url()
    assert url == config.database_url() and url.startswith("postgresql://sendbot:")
    assert url.endswith(f"@127.0.0.1:{config.pg_port}/sendbot")
    assert config.tracker_url().endswith("/rasa_tracker")
    assert (config.base / "pg-password").stat().st_mode & 0o077 == 0


def test_nginx_hashes_the_conversation_and_retries_a_dead_server(config):
    conf = prod.nginx_conf(config, as_root=False)
    assert "hash $conversation_key consistent;" in conf
    assert "default $http_x_conversation_id;" in conf and '""      $remote_addr;' in conf
    assert "proxy_next_upstream error timeout non_idempotent http_502;" in conf
    assert "http_503" not in conf  # a database outage: the client repeats it, not nginx at once
    assert "proxy_connect_timeout 1s;" in conf
    for port in config.rasa_ports:
        assert f"server 127.0.0.1:{port} max_fails=1" in conf
    assert "listen 127.0.0.1:5005;" in conf and "daemon off;" in conf
    assert f"pid {config.base}/nginx/nginx.pid;" in conf
    assert "/var/log" not in conf and "/var/lib" not in conf


def test_the_nginx_config_is_accepted_by_nginx(config):
    binary = prod.nginx_binary()
    if binary is None:
        pytest.skip("nginx is not installed (scripts/ensure-prod-services installs it)")
    home = config.base / "nginx"
    (home / "tmp").mkdir(parents=True)
    config.logs.mkdir(parents=True)
    (home / "nginx.conf").write_text(prod.nginx_conf(config))
    conf, errors = str(home / "nginx.conf"), str(config.logs / "e.log")
    command = [binary, "-t", "-p", str(home), "-c", conf, "-e", errors]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_each_rasa_server_has_its_action_server_and_shares_the_stores(config):
    first, second = (prod.rasa_endpoints(config, i) for i in range(2))
    assert first["action_endpoint"]["url"] == "http://127.0.0.1:5055/webhook"
    assert second["action_endpoint"]["url"] == "http://127.0.0.1:5056/webhook"
    assert first["tracker_store"] == second["tracker_store"]
    assert first["tracker_store"]["type"] == "connectors.rasa.tracker_store.ResilientSQLTrackerStore"
    tracker = first["tracker_store"]
    assert tracker["dialect"] == "postgresql" and tracker["db"] == "rasa_tracker"
    # a turn waiting for the database gives up (503: the client retries) before its lock expires
    assert tracker["retry_seconds"] == 15 < config.lock_lifetime_s
    assert first["lock_store"]["type"] == "redis" and first["lock_store"]["port"] == config.redis_port
    yaml.safe_dump(first)  # plain data


def test_the_children_get_the_production_databases_and_a_short_lock_lifetime(config):
    env = prod.child_environment(config)
    assert env["DATABASE_URL"] == config.database_url()
    assert env["TRACKER_STORE_URL"] == config.tracker_url()
    assert env["RASA_PORT"] == "5005" and env["TICKET_LOCK_LIFETIME"] == "20"


def test_a_child_that_keeps_dying_is_restarted_only_so_often():
    restarts = prod.Restarts()
    assert all(restarts.allow("Rasa server 1", float(t)) for t in range(prod.MAX_RESTARTS))
    assert not restarts.allow("Rasa server 1", 10.0)
    assert restarts.allow("Rasa server 2", 10.0)
    assert restarts.allow("Rasa server 1", prod.RESTART_WINDOW_S + 1.0)


# --- the tracker store ---------------------------------------------------------------------


def _unavailable() -> sqlalchemy.exc.OperationalError:
    return sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("the database system is shutting down"))


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.pauses: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds


def test_a_database_restart_is_waited_out():
    time, calls = FakeTime(), []

    async def call():
        calls.append(time.now)
        if len(calls) < 4:
            raise _unavailable()
        return "tracker"

    result = asyncio.run(retrying("read", call, 20, sleep=time.sleep, clock=time.clock))
    assert result == "tracker" and time.pauses == [0.25, 0.5, 1.0]


def test_an_outage_longer_than_the_limit_or_another_error_is_raised():
    time = FakeTime()

    async def down():
        raise _unavailable()

    with pytest.raises(TrackerStoreUnavailable) as raised:
        asyncio.run(retrying("read", down, 5, sleep=time.sleep, clock=time.clock))
    assert isinstance(raised.value.__cause__, sqlalchemy.exc.OperationalError)
    assert 3 < time.now <= 5  # 0.25 + 0.5 + 1 + 2: the next pause would pass the limit

    async def wrong():
        raise sqlalchemy.exc.IntegrityError("INSERT", {}, Exception("duplicate"))

    with pytest.raises(sqlalchemy.exc.IntegrityError):
        asyncio.run(retrying("write", wrong, 5, sleep=time.sleep, clock=time.clock))


def test_the_tracker_store_checks_connections_and_retries_a_read(tmp_path, monkeypatch):
    domain = Domain.empty()
    store = ResilientSQLTrackerStore(domain, dialect="sqlite", db=str(tmp_path / "t.db"), retry_seconds=5)
    assert store.engine.pool._pre_ping
    tracker = DialogueStateTracker.from_events("parent", [UserUttered("hi", message_id="m-1")])
    asyncio.run(store.save(tracker))

    from rasa.core.tracker_store import SQLTrackerStore

    real, failures = SQLTrackerStore.retrieve, []

    async def flaky(self, sender_id):
        if not failures:
            failures.append(1)
            raise _unavailable()
        return await real(self, sender_id)

    monkeypatch.setattr(SQLTrackerStore, "retrieve", flaky)
    again = asyncio.run(store.retrieve("parent"))
    assert failures and [e.message_id for e in again.events if isinstance(e, UserUttered)] == ["m-1"]


def test_a_conversation_store_down_too_long_fails_the_turn_instead_of_forgetting_it(tmp_path, monkeypatch):
    """Rasa's fail-safe wrapper would answer "no tracker" (a fresh conversation) and keep the
    turn in memory only; ours lets the turn fail, so the channel answers 503 and the client
    sends the message again."""
    from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore, SQLTrackerStore

    domain = Domain.empty()
    store = ResilientSQLTrackerStore(domain, dialect="sqlite", db=str(tmp_path / "t.db"), retry_seconds=0.3)
    wrapped = FailSafeTrackerStore(store)
    tracker = DialogueStateTracker.from_events("parent", [UserUttered("hi", message_id="m-1")])

    async def down(self, *args):
        raise _unavailable()

    for name in ("retrieve", "retrieve_full_tracker", "save"):
        monkeypatch.setattr(SQLTrackerStore, name, down)
    with pytest.raises(TrackerStoreUnavailable):
        asyncio.run(wrapped.retrieve("parent"))
    with pytest.raises(TrackerStoreUnavailable):
        asyncio.run(wrapped.retrieve_full_tracker("parent"))
    with pytest.raises(TrackerStoreUnavailable):
        asyncio.run(wrapped.save(tracker))
    assert not isinstance(wrapped._fallback_tracker_store, InMemoryTrackerStore)

    async def wrong(self, *args):
        raise ValueError("not a database outage")

    monkeypatch.setattr(SQLTrackerStore, "retrieve", wrong)
    assert asyncio.run(wrapped.retrieve("parent")) is None  # other errors: Rasa's behaviour
    plain = FailSafeTrackerStore(InMemoryTrackerStore(domain))
    assert asyncio.run(plain.retrieve("nobody")) is None

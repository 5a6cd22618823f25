"""The same knowledge base on PostgreSQL (DATABASE_URL), on a throwaway local server.

Runs where PostgreSQL's server binaries are installed (they are on the CI image); as
root, the server runs as the `postgres` user, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from bot.seed import load_everything
from knowledge.parents.assistant import Assistant
from knowledge.parents.local_offer import export_oruk
from knowledge.shared.db import unit_of_work
from tests.builders import add_slot
from tests.conftest import make_settings
from tests.unit.test_booking import SCHOOL, TUESDAY_1515, _many_teachers, race_for_one_slot

INITDB = shutil.which("initdb") or "/usr/lib/postgresql/15/bin/initdb"
PG_CTL = shutil.which("pg_ctl") or "/usr/lib/postgresql/15/bin/pg_ctl"


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    if not (os.path.exists(INITDB) and os.path.exists(PG_CTL)):
        pytest.skip("PostgreSQL server binaries are not installed")
    data = Path(tempfile.mkdtemp(prefix="sendbot-pg-"))
    data.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    port = _free_port()
    run = {"check": True, "capture_output": True, "text": True}
    subprocess.run(_as_postgres([INITDB, "-D", str(data / "db"), "-U", "sendbot", "--auth=trust"]), **run)
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1"
    # The server's output goes to a log file: a captured pipe would stay open as long as it runs.
    start = [PG_CTL, "-D", str(data / "db"), "-l", str(data / "server.log"), "-o", options, "-w", "start"]
    subprocess.run(_as_postgres(start), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import psycopg2

        connection = psycopg2.connect(host="127.0.0.1", port=port, user="sendbot", dbname="postgres")
        connection.autocommit = True
        connection.cursor().execute("CREATE DATABASE sendbot")
        connection.close()
        yield f"postgresql://sendbot@127.0.0.1:{port}/sendbot"
    finally:
        stop = [PG_CTL, "-D", str(data / "db"), "-m", "fast", "-w", "stop"]
        subprocess.run(_as_postgres(stop), check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(data, ignore_errors=True)


def test_the_knowledge_base_works_the_same_on_postgresql(postgres_url, settings, tmp_path):
    pg = dataclasses.replace(make_settings(tmp_path), database_url=postgres_url)
    load_everything(pg)
    load_everything(pg)  # migrations and loading are idempotent here too

    assistant = Assistant(pg)
    assert "20 weeks" in assistant.answer_topic("ehcp_timeline", "how long").text
    assert (
        "Speech and Language Therapy" in assistant.answer_local_offer("speech therapy for my 6 year old").text
    )
    assert assistant.answer_unknown("what's for lunch").text.startswith("Sorry, I can't help")

    with unit_of_work(pg.database_url) as session:
        on_postgres = export_oruk(session)
    with unit_of_work(settings.database_url) as session:
        on_sqlite = export_oruk(session)
    assert on_postgres == on_sqlite


def test_fifty_teachers_clicking_one_slot_on_postgresql_give_exactly_one_booking(postgres_url, tmp_path):
    pg = dataclasses.replace(make_settings(tmp_path), database_url=postgres_url)
    load_everything(pg)
    slot_id = add_slot(pg.database_url, SCHOOL, TUESDAY_1515 + dt.timedelta(days=7))
    outcomes = race_for_one_slot(pg.database_url, slot_id, _many_teachers(pg, 50))
    assert outcomes == {"booked": 1, "taken": 49, "error": 0}

"""Shared fixtures: a real SQLite database per test, loaded from the project's files."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from bot.seed import load_everything
from knowledge.shared.settings import PROJECT_ROOT, Settings


def make_settings(tmp_path: Path, **overrides) -> Settings:
    base = Settings.from_env()
    return dataclasses.replace(
        base,
        database_url=f"sqlite:///{tmp_path / 'knowledge.shared.db'}",
        school_profile=PROJECT_ROOT / "school_data/example_school.yml",
        local_offer_file=PROJECT_ROOT / "school_data/example_local_offer.json",
        school_articles_dir=tmp_path / "school_articles",
        staff_roster=PROJECT_ROOT / "school_data/example_staff.yml",
        content_dir=PROJECT_ROOT / "knowledge/content",
        **overrides,
    )


@pytest.fixture(scope="session")
def _loaded_database(tmp_path_factory) -> Path:
    """The shipped content loaded once per test session (about 3 s with the answer bank)."""
    folder = tmp_path_factory.mktemp("loaded")
    load_everything(make_settings(folder))
    return folder / "knowledge.shared.db"


@pytest.fixture
def settings(tmp_path: Path, _loaded_database: Path) -> Settings:
    """Settings pointing at a fresh database that holds all the shipped content: a copy of the
    session's loaded database (SQLite's backup API, so nothing in its write-ahead log is lost)."""
    settings = make_settings(tmp_path)
    source, copy = sqlite3.connect(_loaded_database), sqlite3.connect(tmp_path / "knowledge.shared.db")
    try:
        source.backup(copy)
    finally:
        source.close()
        copy.close()
    return settings


def pytest_terminal_summary(terminalreporter) -> None:
    """The figures the measurement tests print (hold-out scores, alarm rates), shown at the end
    of every run, passed or failed: the issues' gates are "printed each run", and pytest keeps a
    passing test's output to itself."""
    printed = [
        (report.nodeid, report.capstdout.strip())
        for outcome in ("passed", "failed")
        for report in terminalreporter.stats.get(outcome, [])
        if _measured(report)
    ]
    if not printed:
        return
    terminalreporter.section("measured figures")
    for nodeid, text in printed:
        terminalreporter.write_line(nodeid)
        for line in text.splitlines():
            terminalreporter.write_line("  " + line)


def _measured(report) -> bool:
    """A system test's call phase that printed something."""
    return (
        getattr(report, "when", "") == "call"
        and report.nodeid.startswith("tests/system/")
        and bool(report.capstdout.strip())
    )
